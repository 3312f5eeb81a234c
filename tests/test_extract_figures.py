"""Figures and their roles, on short invented sentences (none taken from the gold sets)."""

import pytest

from pipeline.extract import find_figures, load_rules

RULES = load_rules()


def _figs(sentence: str) -> list[tuple[str, int | None, str | None]]:
    return [(f.field, f.value, f.qualifier) for f in find_figures(sentence, RULES) if not f.subset]


def _all(sentence: str) -> list[tuple[str, int | None, bool]]:
    return [(f.field, f.value, f.subset) for f in find_figures(sentence, RULES)]


@pytest.mark.parametrize(
    ("text", "value", "estimate"),
    [
        ("370", 370, None),
        ("1,200", 1200, None),
        ("two", 2, None),
        ("twenty-five", 25, None),
        ("one hundred and twenty", 120, None),
        ("dozens", None, 12),
        ("hundreds", None, 100),
        ("three dozen", None, 36),
        ("tens of thousands", None, 10000),
        ("zebra", None, None),
    ],
)
def test_number_grammar(text, value, estimate):
    assert RULES.numbers.parse(text) == (value, estimate)


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Moscow sent 140 drones and nine missiles at the country overnight.",
            [("drones", 140, None), ("missiles", 9, None)],
        ),
        ("The army said it fired more than 60 rockets and 12 cruise missiles.", [("missiles", 12, None)]),
        ("Nearly 40 people were hurt, including three children.", [("injured", 40, "nearly")]),
        ("A 71-year-old man and a 12-year-old girl were wounded.", [("injured", 2, None)]),
        ("The strike killed five and wounded 18 others.", [("killed", 5, None), ("injured", 18, None)]),
        ("Six people are reported to have been hurt.", [("injured", 6, None)]),
        ("Three people, among them a teenager, were also lightly injured.", [("injured", 3, None)]),
        ("The mayor put the number of wounded at 14.", [("injured", 14, None)]),
        ("The death toll from the attack on the market has risen to 9.", [("killed", 9, None)]),
        ("Officials confirmed the deaths of two people.", [("killed", 2, None)]),
        ("Another resident was hurt in the blast.", [("injured", 1, None)]),
        ("The 30-point plan was discussed for 4 hours on 12 March 2026.", []),
        ("A drone attack damaged 1,500 homes and cut power to 20,000 customers.", []),
        ("The woman who died was 34, while her neighbour was unhurt.", []),
    ],
)
def test_launches_and_casualties(sentence, expected):
    assert _figs(sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # a verb of shooting down before or after the count makes it a downed count
        ("Air defence units brought down 64 drones over the south.", [("drones_downed", 64, None)]),
        ("Thirty UAVs were stopped over the border areas.", [("drones_downed", 30, None)]),
        (
            "The enemy launched 95 drones and four missiles, and air defences neutralised 80 drones and two missiles.",
            [("drones", 95, None), ("missiles", 4, None), ("drones_downed", 80, None), ("missiles_downed", 2, None)],
        ),
        (
            "Russia fired 300 drones, of which Ukraine neutralised 250.",
            [("drones", 300, None), ("drones_downed", 250, None)],
        ),
        ("Defences destroyed 33 of 40 attack drones.", [("drones_downed", 33, None), ("drones", 40, None)]),
        (
            "Russia launched 70 drones; 61 of them were intercepted.",
            [("drones", 70, None), ("drones_downed", 61, None)],
        ),
    ],
)
def test_downed_against_launched(sentence, expected):
    assert _figs(sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("All but 12 drones were shot down.", []),  # the remainder, not a downed count
        ("All but 12 of the 90 drones were shot down.", [("drones", 90, None)]),
        ("Seven drones and two missiles struck their targets at five sites.", []),  # hits are not launches
        ("One of the drones hit a house.", []),
    ],
)
def test_remainders_and_hits_are_not_counts(sentence, expected):
    assert _figs(sentence) == expected


def test_subsets_are_marked_as_parts_of_a_total():
    assert _all("Russia launched 52 missiles, including 14 ballistic missiles.") == [
        ("missiles", 52, False),
        ("missiles", 14, True),
    ]
    assert _all("Forces shot down 30 drones, eight of them over the Sumy region.") == [
        ("drones_downed", 30, False),
        ("drones_downed", 8, True),
    ]


def test_a_breakdown_by_place_keeps_its_role():
    found = _all(
        "The ministry said 20 drones were downed: nine over the Kursk region and 11 more over the Oryol region."
    )
    assert found == [("drones_downed", 20, False), ("drones_downed", 9, True), ("drones_downed", 11, True)]


@pytest.mark.parametrize(
    ("sentence", "field", "estimate"),
    [
        ("Russia fired dozens of missiles overnight.", "missiles", 12),
        ("Hundreds of drones were launched at the country.", "drones", 100),
        ("Nearly a hundred people were hurt.", "injured", 100),
        ("Several people were killed.", "killed", 3),
    ],
)
def test_vague_counts_are_estimates_not_figures(sentence, field, estimate):
    (fig,) = find_figures(sentence, RULES)
    assert (fig.field, fig.value, fig.estimate) == (field, None, estimate)


def test_casualties_count_the_injured_only_when_no_death_toll_is_given():
    assert _figs("There were 15 casualties in the city.") == [("injured", 15, "casualties")]
    assert _figs("Two people died and there were 15 casualties.") == [("killed", 2, None)]
