"""Meetings on short invented articles (none taken from the gold sets). Articles are published on
Wednesday 11 March 2026 unless said otherwise."""

import datetime as dt

import pytest

from .extract_helpers import extract

WED = dt.date(2026, 3, 11)


def _talks(text, published=WED):
    return extract(text, published, topics=["talks"])[1]


def _one(text, published=WED):
    (row,) = _talks(text, published)
    return row


def test_the_venue_is_where_the_meeting_is_held_not_where_someone_speaks():
    rows = _talks("Speaking at a news conference in Warsaw, Zelensky said the talks in Riyadh had ended.")
    assert [r["venue"] for r in rows] == ["Riyadh"]
    assert rows[0]["status"] == "held" and rows[0]["start_date"] == WED


def test_date_ranges_and_weekdays_resolve_against_publication():
    row = _one("Ukrainian and Russian delegations will meet in Riyadh on 23 and 24 March.")
    assert (row["start_date"], row["end_date"], row["status"]) == (
        dt.date(2026, 3, 23),
        dt.date(2026, 3, 24),
        "planned",
    )
    late = _one("Witkoff met Putin late Tuesday in Moscow for talks on the plan.", published=dt.date(2026, 3, 11))
    assert (late["start_date"], late["status"]) == (dt.date(2026, 3, 10), "held")


def test_a_length_sets_the_other_end_of_the_round():
    row = _one("The two-day talks between US and Russian officials concluded in Geneva on Wednesday.")
    assert (row["start_date"], row["end_date"], row["status"]) == (dt.date(2026, 3, 10), WED, "held")
    day2 = _one("Negotiators from Ukraine and Russia met in Doha for a second day on Wednesday.")
    assert (day2["start_date"], day2["end_date"], day2["status"]) == (dt.date(2026, 3, 10), WED, "ongoing")


def test_the_date_of_a_report_is_not_the_date_of_the_meeting():
    row = _one("The Kremlin said on Monday that Russian and US negotiators would hold talks in Budapest.")
    assert (row["start_date"], row["status"]) == (None, "planned")


def test_hosts_and_mediators_are_not_parties_unless_they_sit_at_the_table():
    row = _one("Turkey hosted talks between Russian and Ukrainian delegations in Istanbul on Tuesday.")
    assert row["parties"] == ["Russia", "Ukraine"] and "Turkey" in row["mediators"]
    own = _one(
        "Turkish Foreign Minister Hakan Fidan held a meeting with the Russian delegation in Istanbul on Tuesday."
    )
    assert own["parties"] == ["Russia", "Turkey"] and own["delegates"] == ["Hakan Fidan"]


def test_parties_and_delegates_come_from_the_clause_of_their_meeting():
    rows = _talks(
        "After Trump met Zelensky in Rome on Saturday, US envoys Steve Witkoff and Jared Kushner travelled to "
        "Moscow to meet Putin on Tuesday."
    )
    by_venue = {r["venue"]: r for r in rows}
    assert by_venue["Rome"]["parties"] == ["Ukraine", "United States"]
    assert by_venue["Rome"]["delegates"] == ["Donald Trump", "Volodymyr Zelensky"]
    assert by_venue["Moscow"]["parties"] == ["Russia", "United States"]
    assert by_venue["Moscow"]["delegates"] == ["Jared Kushner", "Steve Witkoff", "Vladimir Putin"]


def test_people_merely_named_are_not_delegates():
    row = _one(
        "Medinsky, an aide to President Vladimir Putin, met Ukrainian negotiators in Istanbul on Tuesday, "
        "citing respect for President Erdogan."
    )
    assert "Vladimir Putin" not in row["delegates"] and "Recep Tayyip Erdogan" not in row["delegates"]


def test_one_row_per_meeting_gathered_across_sentences():
    rows = _talks(
        "Russian and Ukrainian negotiators met in Geneva on Tuesday. The talks lasted five hours. "
        "The Ukrainian team was led by Rustem Umerov, while the Russian delegation was headed by Vladimir Medinsky."
    )
    (row,) = rows
    assert row["delegates"] == ["Rustem Umerov", "Vladimir Medinsky"] and row["other_sentences"] == [1, 2]
    assert text_of(row) == "Russian and Ukrainian negotiators met in Geneva on Tuesday."


def text_of(row):
    return row["evidence"]


def test_a_meeting_named_before_its_venue_takes_it_from_a_later_sentence():
    row = _one("Putin met late Monday with Steve Witkoff. The meeting at the Kremlin lasted three hours.")
    assert (row["venue"], row["start_date"], row["status"]) == ("Moscow", dt.date(2026, 3, 9), "held")
    assert row["parties"] == ["Russia", "United States"]


def test_a_day_before_dates_one_meeting_from_the_other():
    rows = _talks("Witkoff met Putin in Moscow on Monday, a day before planned trilateral talks in Abu Dhabi.")
    by_venue = {r["venue"]: r for r in rows}
    assert by_venue["Abu Dhabi"]["start_date"] == dt.date(2026, 3, 10)
    assert by_venue["Moscow"]["status"] == "held" and by_venue["Abu Dhabi"]["status"] == "held"


def test_talks_of_other_wars_are_not_recorded():
    assert _talks("Israeli and Hamas negotiators will meet in Cairo next week for talks on a ceasefire.") == []
    assert extract("Negotiators met in Istanbul on Tuesday.", topics=["strikes"])[1] == []  # not a talks article


@pytest.mark.parametrize(
    "sentence",
    [
        "US envoy Steve Witkoff met Vladimir Putin in Moscow on Thursday in US-brokered talks.",
        "The US-mediated talks between Russian and American envoys in Riyadh ended on Tuesday.",
        "Russian officials sat down with a US team in Geneva on Monday, in talks facilitated by the United States.",
    ],
)
def test_a_party_cannot_mediate_between_itself_and_one_other(sentence):
    row = _one(sentence)
    assert row["parties"] == ["Russia", "United States"] and "United States" not in row["mediators"]


def test_a_party_of_three_can_mediate_between_the_other_two():
    row = _one("Russian and Ukrainian delegations met in Abu Dhabi on Friday for US-brokered talks with US envoys.")
    assert row["parties"] == ["Russia", "Ukraine", "United States"] and "United States" in row["mediators"]


def test_a_day_before_a_remark_is_not_the_meetings_but_a_noun_of_saying_is_no_remark():
    remark = _one("On Tuesday, Peskov remarked that a meeting in Istanbul would be useful.")
    assert remark["start_date"] is None
    amid = _one("On Friday, amid reports of progress, Russian and Ukrainian delegations met in Istanbul.")
    assert amid["start_date"] == dt.date(2026, 3, 6)
