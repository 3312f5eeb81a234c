import datetime as dt

from pipeline import schemas
from pipeline.reconcile import build_events

D = dt.date(2026, 1, 24)


def _strike(sid, aid, place, date=D, **figures):
    return {
        "strike_id": sid,
        "article_id": aid,
        "place": place,
        "date": date,
        "attacker": "Russia",
        "country": "UA",
        "admin1": None,
        "admin1_code": None,
        "lat": None,
        "lon": None,
        **figures,
    }


def _articles(*ids, dup=None):
    return [
        {"article_id": a, "outlet": f"outlet-{a}", "published": D, "duplicate_of": dup if a == "copy" else None}
        for a in ids
    ]


def test_same_place_within_a_day_is_one_event_with_the_spread():
    strikes = [
        _strike("s1", "a", "Kharkiv", injured=11),
        _strike("s2", "b", "Kharkiv", date=D - dt.timedelta(days=1), injured=31),
        _strike("s3", "b", "Kharkiv", injured=20),  # same article again: its highest figure counts
        _strike("s4", "c", "Kharkiv", date=D + dt.timedelta(days=5), injured=1),
    ]
    events = build_events(strikes, [], _articles("a", "b", "c")).to_pylist()
    assert len(events) == 2
    night = events[0]
    assert (night["injured_min"], night["injured_max"], night["injured_sources"]) == (11, 31, 2)
    assert night["conflicting"] is True and night["sources"] == 2
    assert night["outlets"] == ["outlet-a", "outlet-b"]


def test_republished_copies_count_once_and_waves_link_places():
    strikes = [
        _strike("s1", "a", "Kyiv", killed=1),
        _strike("s2", "copy", "Kyiv", killed=5),
        _strike("s3", "a", "Ukraine", drones=370),
    ]
    table = build_events(strikes, [], _articles("a", "copy", dup="a"))
    assert table.schema == schemas.EVENTS
    events = {e["place"]: e for e in table.to_pylist()}
    assert events["Kyiv"]["killed_max"] == 1 and events["Kyiv"]["article_ids"] == ["a"]
    assert events["Kyiv"]["wave_id"] == events["Ukraine"]["wave_id"]


def test_talks_with_overlapping_dates_are_one_round():
    talk = {"venue": "Abu Dhabi", "country": "AE", "parties": ["Russia", "Ukraine"], "end_date": None}
    talks = [
        {
            **talk,
            "talk_id": "t1",
            "article_id": "a",
            "start_date": dt.date(2026, 1, 23),
            "end_date": D,
            "status": "ongoing",
        },
        {**talk, "talk_id": "t2", "article_id": "b", "start_date": D, "status": "held", "parties": ["United States"]},
        {**talk, "talk_id": "t3", "article_id": "b", "start_date": dt.date(2026, 2, 1), "status": "planned"},
    ]
    events = build_events([], talks, _articles("a", "b")).to_pylist()
    assert [(e["date"], e["status"]) for e in events] == [
        (dt.date(2026, 1, 23), "held"),
        (dt.date(2026, 2, 1), "planned"),
    ]
    assert events[0]["parties"] == ["Russia", "Ukraine", "United States"] and events[0]["end_date"] == D


def _report(tid, aid, start, status, venue="Geneva"):
    return {
        "talk_id": tid,
        "article_id": aid,
        "venue": venue,
        "country": "CH",
        "parties": ["Russia", "Ukraine"],
        "start_date": start,
        "end_date": None,
        "status": status,
    }


def test_a_round_announced_then_held_a_few_days_late_is_one_round_on_the_day_it_was_held():
    talks = [
        _report("t1", "a", dt.date(2026, 3, 1), "planned"),
        _report("t2", "b", dt.date(2026, 3, 4), "ongoing"),
        _report("t3", "c", dt.date(2026, 3, 5), "held"),
    ]
    (event,) = build_events([], talks, _articles("a", "b", "c")).to_pylist()
    assert (event["date"], event["end_date"], event["status"]) == (dt.date(2026, 3, 4), dt.date(2026, 3, 5), "held")
    assert event["claim_ids"] == ["t1", "t2", "t3"]


def test_rounds_far_apart_or_elsewhere_or_both_announced_stay_apart():
    apart = [_report("t1", "a", dt.date(2026, 3, 1), "planned"), _report("t2", "b", dt.date(2026, 3, 20), "held")]
    elsewhere = [
        _report("t1", "a", dt.date(2026, 3, 1), "planned"),
        _report("t2", "b", dt.date(2026, 3, 3), "held", "Riyadh"),
    ]
    announced = [_report("t1", "a", dt.date(2026, 3, 1), "planned"), _report("t2", "b", dt.date(2026, 3, 4), "planned")]
    held_first = [_report("t1", "a", dt.date(2026, 3, 1), "held"), _report("t2", "b", dt.date(2026, 3, 4), "held")]
    called_off = [
        _report("t1", "a", dt.date(2026, 3, 1), "planned"),
        _report("t2", "b", dt.date(2026, 3, 4), "cancelled"),
    ]
    for talks in (apart, elsewhere, announced, held_first, called_off):
        assert len(build_events([], talks, _articles("a", "b")).to_pylist()) == 2


def test_undated_reports_join_their_venues_only_round_or_stand_alone():
    def talk(tid, venue, start=None):
        return {
            "talk_id": tid,
            "article_id": "a",
            "venue": venue,
            "country": None,
            "start_date": start,
            "end_date": None,
            "status": "held",
            "parties": [],
        }

    talks = [
        talk("geneva", "Geneva", D),
        talk("istanbul-1", "Istanbul", D),
        talk("istanbul-2", "Istanbul", D + dt.timedelta(days=30)),
        talk("geneva-undated", "Geneva"),  # the only round at Geneva: joins it
        talk("istanbul-undated", "Istanbul"),  # two rounds at Istanbul: which one is not known
        talk("riyadh-undated-1", "Riyadh"),  # no dated round: the first stands alone ...
        talk("riyadh-undated-2", "Riyadh"),  # ... and is then the venue's only round
    ]
    events = build_events([], talks, _articles("a")).to_pylist()
    claims = sorted(sorted(e["claim_ids"]) for e in events)
    assert claims == [
        ["geneva", "geneva-undated"],
        ["istanbul-1"],
        ["istanbul-2"],
        ["istanbul-undated"],
        ["riyadh-undated-1", "riyadh-undated-2"],
    ]


def test_an_event_is_as_sure_as_its_best_claim_and_confirmed_from_the_calibrated_level():
    from pipeline.extract import load_rules

    level = load_rules().calibration.confirmed
    strikes = [
        _strike("s1", "a", "Kharkiv", injured=11, confidence=level - 0.2),
        _strike("s2", "b", "Kharkiv", injured=12, confidence=level + 0.05),
        _strike("s3", "a", "Sumy", killed=2, confidence=level - 0.01),
        _strike("s4", "b", "Odesa", killed=1, confidence=level),
    ]
    events = {e["place"]: e for e in build_events(strikes, [], _articles("a", "b")).to_pylist()}
    assert events["Kharkiv"]["confidence"] == level + 0.05 and events["Kharkiv"]["confirmed"]
    assert events["Sumy"]["confidence"] == level - 0.01 and not events["Sumy"]["confirmed"]
    assert events["Odesa"]["confirmed"]  # the level itself is confirmed


def test_a_round_ends_when_the_reports_that_it_was_held_say_not_when_a_report_during_it_guessed():
    guess = {**_report("t1", "a", dt.date(2026, 3, 4), "ongoing"), "end_date": dt.date(2026, 3, 6)}
    held = [
        {**_report("t2", "b", dt.date(2026, 3, 4), "held"), "end_date": dt.date(2026, 3, 5)},
        {**_report("t3", "c", dt.date(2026, 3, 4), "held"), "end_date": dt.date(2026, 3, 5)},
    ]
    (event,) = build_events([], [guess, *held], _articles("a", "b", "c")).to_pylist()
    assert (event["date"], event["end_date"], event["status"]) == (dt.date(2026, 3, 4), dt.date(2026, 3, 5), "held")
    # with no report that it was held, the reports during it give its days
    (event,) = build_events([], [guess], _articles("a")).to_pylist()
    assert (event["date"], event["end_date"]) == (dt.date(2026, 3, 4), dt.date(2026, 3, 6))
