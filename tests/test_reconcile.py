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
