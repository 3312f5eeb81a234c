"""Strike claims on short invented articles: one rule family per test (none taken from the gold sets)."""

import datetime as dt

import pytest

from .extract_helpers import by_place, extract, figures

WED = dt.date(2026, 3, 11)


def _strikes(text, published=WED):
    return extract(text, published)[0]


def test_rows_carry_their_evidence_and_figures_as_stated():
    text = "Russian drones hit Chernihiv overnight, injuring at least six people, the regional governor said."
    (row,) = _strikes(text)
    assert text[row["start"] : row["end"]] == row["evidence"]
    assert (row["place"], figures(row), row["qualifiers"]) == ("Chernihiv", {"injured": 6}, ["at least"])
    assert row["attacker"] == "Russia" and row["date"] == WED and row["has_figures"]
    assert 0 < row["confidence"] <= 1


def test_a_list_sentence_gives_one_row_per_place():
    rows = _strikes(
        "The defence ministry said 21 Ukrainian drones were destroyed overnight: eight over the Tula region, "
        "seven more over the Oryol region, while six were downed over the Lipetsk region."
    )
    places = {r["place"]: figures(r) for r in rows}
    assert places["Tula Oblast"] == {"drones_downed": 8}
    assert places["Oryol Oblast"] == {"drones_downed": 7}
    assert places["Lipetsk Oblast"] == {"drones_downed": 6}
    assert places["Russia"] == {"drones_downed": 21}  # the total falls on the country, not on Tula
    assert by_place(rows)["Russia"]["place_source"] == "nationwide"


def test_an_apposition_names_the_town_not_its_country():
    rows = _strikes("In Izyum, a city in eastern Ukraine, a missile strike killed three people, police said.")
    assert [(r["place"], figures(r)) for r in rows] == [("Izyum", {"killed": 3})]


def test_a_possessive_region_names_the_region_not_the_country():
    rows = _strikes("Two people were injured when Ukrainian drones struck Russia's Kursk region, the governor said.")
    assert [(r["place"], figures(r), r["attacker"]) for r in rows] == [("Kursk Oblast", {"injured": 2}, "Ukraine")]


def test_an_incident_told_over_two_sentences_takes_the_place_of_the_second():
    rows = _strikes(
        "At least four people were killed in a Russian glide bomb attack on Tuesday. "
        "The shop was hit in Kostiantynivka, the regional administration said."
    )
    row = next(r for r in rows if figures(r))
    assert (row["place"], figures(row), row["place_source"]) == ("Kostiantynivka", {"killed": 4}, "next_sentence")
    assert row["claimed_by"] == "Donetsk regional administration" and row["date"] == dt.date(2026, 3, 10)


def test_a_sentence_that_goes_on_with_the_incident_takes_its_place():
    rows = _strikes("A missile struck a school in Kramatorsk overnight.\n\nThe strike wounded nine people, he said.")
    assert by_place(rows)["Kramatorsk"]["injured"] == 9


def test_a_country_part_takes_the_town_named_next_or_stays_the_country():
    moved = _strikes(
        "Eleven people were killed in southern Ukraine overnight. Rescuers worked in the city of Mykolaiv "
        "after the strike."
    )
    assert [(r["place"], r["killed"]) for r in moved if r["has_figures"]] == [("Mykolaiv", 11)]
    assert "Ukraine" not in by_place(moved)
    kept = _strikes("Two people were killed in northern Ukraine overnight. Power was cut across the country.")
    assert by_place(kept)["Ukraine"]["killed"] == 2


def test_a_capital_standing_for_its_government_is_not_a_place_hit():
    rows = _strikes("Kiev's forces shelled Horlivka on Monday, Moscow says.")
    assert [(r["place"], r["attacker"], r["claimed_by"]) for r in rows] == [
        ("Horlivka", "Ukraine", "Russian officials")
    ]
    assert _strikes("Moscow launched 90 drones at the country overnight, Kyiv said.")[0]["place"] == "Ukraine"


def test_the_attacker_is_not_inverted_when_the_defender_is_the_subject():
    (row,) = _strikes("Russia fired 200 drones overnight, of which Ukraine neutralised 170, the air force said.")
    assert (row["place"], row["attacker"]) == ("Ukraine", "Russia")
    assert figures(row) == {"drones": 200, "drones_downed": 170} and row["claimed_by"] == "Ukrainian Air Force"


def test_periods_backgrounds_and_hypotheticals_make_no_claim():
    assert _strikes("Russia has launched more than 1,300 drones at Ukraine this week, the president said.") == []
    assert _strikes("Since the start of the full-scale invasion, at least 12,000 civilians have been killed.") == []
    assert _strikes("It is a war that has killed tens of thousands of people in Ukraine.") == []
    assert _strikes("Moscow threatened to strike Kyiv with new missiles.") == []


def test_captions_and_promos_make_no_claim():
    assert _strikes("Rescuers at the site of a missile strike in Dnipro\n\nThe talks resumed.") == []
    assert _strikes("Read also: Kharkiv hit by drones, three injured\n\nThe talks resumed.") == []


def test_vague_amounts_are_estimates_and_never_figures():
    rows = _strikes("Russia launched hundreds of drones at Lviv overnight, the mayor said.")
    assert [(r["place"], r["has_figures"], r["estimates"]) for r in rows] == [
        ("Lviv", False, [{"field": "drones", "words": "hundreds", "value": 100}])
    ]
    assert _strikes("Officials said Russia launched dozens of missiles.") == []  # no place, nothing certain


@pytest.mark.parametrize(
    "listed", ["the Sumy, Poltava and Kirovohrad regions", "the Sumy, Poltava & Kirovohrad regions"]
)
def test_a_figure_several_listed_places_share_goes_to_no_place(listed):
    rows = _strikes(f"Officials said 12 people were hurt in {listed}.")
    shared = [r for r in rows if r["place"] is None]
    assert [figures(r) for r in shared] == [{"injured": 12}] and shared[0]["confidence"] < 0.3
    assert {r["place"] for r in rows if r["place"]} == {"Sumy Oblast", "Poltava Oblast", "Kirovohrad Oblast"}
    assert all(not r["has_figures"] for r in rows if r["place"])


def test_other_wars_make_no_claim():
    assert _strikes("Israeli airstrikes killed at least 20 people in Gaza City overnight, health officials said.") == []
    assert _strikes("Rebels fired three missiles and 10 drones at ships in the Red Sea. Two sailors were hurt.") == []


def test_sources_are_canonical():
    rows = _strikes(
        "According to Ukraine's air force, Russia launched 80 drones overnight. "
        "In the Poltava region, two people were injured, the regional military administration said. "
        "Governor Oleh Kiper said a port in the Odesa region was damaged. "
        "The governor added that one worker had been hurt there."
    )
    places = by_place(rows)
    assert places["Ukraine"]["claimed_by"] == "Ukrainian Air Force"
    assert places["Poltava Oblast"]["claimed_by"] == "Poltava regional administration"
    assert places["Odesa Oblast"]["claimed_by"] == "Oleh Kiper"


def test_a_title_names_the_person_introduced_with_it():
    rows = _strikes(
        "Mayor Ihor Terekhov said a drone hit a clinic in Kharkiv. "
        "In Sumy, the mayor of the city of Kharkiv reported, 14 people were hurt in a separate attack."
    )
    assert {r["claimed_by"] for r in rows} == {"Ihor Terekhov"}


def test_rows_with_no_figure_say_a_place_was_hit():
    (row,) = _strikes("Buildings and cars were damaged in Bila Tserkva, officials said.")
    assert (row["place"], row["has_figures"], row["claimed_by"]) == ("Bila Tserkva", False, "Ukrainian officials")


def test_a_tally_broken_down_by_region_after_including():
    rows = _strikes(
        "The ministry said air defences destroyed 60 Ukrainian drones overnight, including 20 over the Kursk "
        "region, 15 over the Oryol region and 9 over the Tambov region."
    )
    assert {r["place"]: r["drones_downed"] for r in rows} == {
        "Russia": 60,
        "Kursk Oblast": 20,
        "Oryol Oblast": 15,
        "Tambov Oblast": 9,
    }


def test_launch_sites_are_not_places_hit():
    (row,) = _strikes("The air force said Russia attacked with 70 drones from the directions of Kursk and Bryansk.")
    assert (row["place"], row["drones"], row["place_source"]) == ("Ukraine", 70, "nationwide")


def test_a_tally_that_goes_on_from_the_sentence_before():
    rows = _strikes(
        "The air force said Russia attacked with 90 drones overnight. "
        "Air defences shot down 71 of them, while hits by 19 drones were recorded at seven sites."
    )
    assert [(r["sentence_idx"], figures(r)) for r in rows] == [(0, {"drones": 90}), (1, {"drones_downed": 71})]


def test_a_town_named_with_its_region_takes_the_figure():
    (row,) = _strikes("In the Dnipropetrovsk region, a 59-year-old man was injured in Nikopol, the governor said.")
    assert (row["place"], row["injured"]) == ("Nikopol", 1)


def test_a_period_makes_no_row_even_without_figures():
    assert (
        _strikes("Over the past week, Russia has launched hundreds of drones against Ukraine, the president said.")
        == []
    )


@pytest.mark.parametrize(
    ("sentence", "hedges"),
    [
        (
            "Russia launched more than 200 drones and 12 missiles at Ukraine overnight, the air force said.",
            [{"field": "drones", "words": "more than"}],
        ),
        (
            "A drone strike on Sumy killed two people and injured at least nine, the governor said.",
            [{"field": "injured", "words": "at least"}],
        ),
        ("A missile hit Poltava, killing four people, the regional governor said.", []),
        ("The shelling of Nikopol left 20 casualties, the regional governor said.", []),  # a noun, not a hedge
    ],
)
def test_each_hedge_stays_with_its_own_figure(sentence, hedges):
    rows = [r for r in _strikes(sentence) if r["has_figures"]]
    assert rows and all(r["hedges"] == hedges for r in rows)


@pytest.mark.parametrize(
    "sentence",
    [
        "A Russian missile hit a school in Zhytomyr overnight, injuring 4 people, the mayor said.",
        "Two people were killed when drones struck Sumy on Tuesday, regional officials said.",
        "Ukrainian drones hit an oil depot in Bryansk, the governor said, and 12 were shot down.",
    ],
)
def test_a_sentence_repeated_word_for_word_reports_its_claim_once(sentence):
    once = _strikes(sentence)
    assert once and _strikes(" ".join([sentence] * 4)) == once
    assert len(_strikes(f"{sentence}\n\n{sentence}")) == len(once)  # also across paragraphs


def test_two_sentences_with_the_same_figures_in_other_words_are_both_kept():
    rows = _strikes(
        "A Russian missile hit a school in Zhytomyr overnight, injuring 4 people, the mayor said. "
        "Later a Russian missile hit a clinic in Rivne, injuring 4 people, the governor said."
    )
    assert {r["place"] for r in rows} == {"Zhytomyr", "Rivne"}


def test_a_repeated_short_sentence_still_carries_its_own_context():
    """A repeated sentence is read like any other (its place comes from the sentences around it); only a
    claim it makes again is dropped."""
    rows = _strikes(
        "A Russian drone hit a house in Kharkiv overnight. Two people were killed. "
        "A Russian missile hit a school in Odesa overnight. Two people were killed."
    )
    assert {(r["place"], r["killed"]) for r in rows if r["killed"]} == {("Kharkiv", 2), ("Odesa", 2)}
    again = _strikes(
        "A Russian drone hit a house in Kharkiv overnight, the governor said. "
        "A Russian missile hit a school in Odesa overnight, the governor said. "
        "A Russian drone hit a house in Kharkiv overnight, the governor said. Three people were injured."
    )
    assert [(r["place"], r["injured"]) for r in again if r["injured"]] == [("Kharkiv", 3)]


@pytest.mark.parametrize(
    "sentence",
    [
        "Russian drones hit Odesa, injuring three, ahead of talks in Geneva on March 16.",
        "Russian drones hit Odesa, injuring three, a week before the summit due on March 17.",
        "Russian drones hit Odesa, injuring three; the next round is set for March 20.",
    ],
)
def test_a_strike_is_never_dated_after_its_article(sentence):
    published = dt.date(2026, 3, 10)
    (row,) = extract(sentence, published)[0]
    assert row["place"] == "Odesa" and row["date"] == published


def test_a_strike_keeps_a_day_of_its_own_before_the_article():
    (row,) = extract("Russian drones hit Odesa on March 8, injuring three.", dt.date(2026, 3, 10))[0]
    assert row["date"] == dt.date(2026, 3, 8)


def test_a_strike_the_day_after_a_late_page_keeps_its_day():
    # a page dated Friday evening in New York tells of the night into Saturday in Ukraine
    friday = dt.date(2026, 1, 23)
    (row,) = extract("Russian drones hit Kharkiv overnight into Saturday, injuring 11 people.", friday)[0]
    assert row["date"] == dt.date(2026, 1, 24)
