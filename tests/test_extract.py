import datetime as dt

import pytest

from pipeline.extract import extract_article, find_attacker, find_claimant, find_counts, parse_number
from pipeline.tag import tag_text


@pytest.mark.parametrize(
    ("text", "value", "qualifier"),
    [
        ("370", 370, None),
        ("1,200", 1200, None),
        ("two", 2, None),
        ("twenty-five", 25, None),
        ("dozens", 12, "dozens"),
        ("hundreds", 100, "hundreds"),
        ("several", 3, "several"),
        ("zebra", None, None),
    ],
)
def test_parse_number(text, value, qualifier):
    assert parse_number(text) == (value, qualifier)


def _counts(sentence):
    return [(c.field, c.value, c.qualifier) for c in find_counts(sentence)]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "Russia launched more than 370 drones and 21 missiles overnight.",
            [("drones", 370, "more than"), ("missiles", 21, None)],
        ),
        ("One person was killed and 35 others were injured.", [("killed", 1, None), ("injured", 35, None)]),
        ("The strikes killed two people and wounded 18.", [("killed", 2, None), ("injured", 18, None)]),
        ("At least five people were injured in Odesa.", [("injured", 5, "at least")]),
        ("Nearly 40 people were hurt, including three children.", [("injured", 40, "nearly")]),
        ("A 68-year-old woman and a 38-year-old man were killed.", [("killed", 2, None)]),
        ("Dozens of people were wounded.", [("injured", 12, "dozens")]),
        (
            "Air defences shot down 331 drones and 18 missiles.",
            [("drones_downed", 331, None), ("missiles_downed", 18, None)],
        ),
        ("Russia fired 90 drones; 71 of them were intercepted.", [("drones", 90, None), ("drones_downed", 71, None)]),
        ("The 20-point plan was discussed for 4 hours in 2025.", []),
        ("A drone attack damaged 6,000 buildings.", []),
    ],
)
def test_find_counts(sentence, expected):
    assert _counts(sentence) == expected


@pytest.mark.parametrize(
    ("sentence", "side"),
    [
        ("Russian drones struck Kharkiv overnight.", "Russia"),
        ("Ukraine launched its biggest bombardment yet on the city.", "Ukraine"),
        ("Russia accused Ukraine of attacking an ambulance.", "Ukraine"),
        ("Two people were injured in Sumy.", None),
    ],
)
def test_find_attacker(sentence, side):
    assert find_attacker(sentence) == side


def test_claimant_from_according_to_and_speech_verbs():
    sentence = "Two people were injured, according to Kharkiv Mayor Ihor Terekhov."
    mentions = [m for m in tag_text("x", sentence).mentions]
    assert find_claimant(sentence, 0, mentions, None) == "Ihor Terekhov"
    sentence = "Three drones were shot down, the regional authorities said."
    assert find_claimant(sentence, 0, [], None) == "the regional authorities"
    assert find_claimant("One person died, he said.", 0, [], "Oleh Kiper") == "Oleh Kiper"


ARTICLE = (
    "Russia attacked Ukraine with 120 drones overnight, the air force said. "
    "In Zhytomyr, two people were killed, regional governor Vitalii Bunechko said on Telegram.\n\n"
    "“We will rebuild everything,” he said.\n\n"
    "Meanwhile delegations from Ukraine and Russia will meet in Geneva next Tuesday for talks on prisoners, "
    "a week after talks in Istanbul ended."
)


@pytest.fixture(scope="module")
def extracted():
    tagged = tag_text("a1", ARTICLE)
    article = {"article_id": "a1", "body": ARTICLE, "published": dt.date(2026, 3, 7)}  # a Saturday
    return extract_article(article, tagged.sentences, tagged.mentions)


def test_article_strikes(extracted):
    strikes = {s["place"]: s for s in extracted[0]}
    assert strikes["Ukraine"]["drones"] == 120 and strikes["Ukraine"]["attacker"] == "Russia"
    assert strikes["Ukraine"]["date"] == dt.date(2026, 3, 7)
    zh = strikes["Zhytomyr"]
    assert zh["killed"] == 2 and zh["country"] == "UA" and zh["geo_precision"] == "town"
    assert zh["claimed_by"] == "Vitalii Bunechko" and zh["lat"] is not None
    for s in extracted[0]:
        assert ARTICLE[s["start"] : s["end"]] == s["evidence"]


def test_article_talks(extracted):
    talks = {t["venue"]: t for t in extracted[1]}
    geneva = talks["Geneva"]
    assert geneva["status"] == "planned" and geneva["start_date"] == dt.date(2026, 3, 10)
    assert geneva["parties"] == ["Russia", "Ukraine"] and "prisoners" in geneva["topics"]
    assert talks["Istanbul"]["status"] == "held"


def test_article_quotes_resolve_he_said(extracted):
    (quote,) = extracted[2]
    assert quote["text"] == "We will rebuild everything,"
    assert quote["speaker"] == "Vitalii Bunechko"
    assert ARTICLE[quote["start"] : quote["end"]] == quote["text"]


def test_named_meetings_tense_and_dates_elsewhere_in_the_article():
    text = (
        "Negotiators will hold a new round of talks in Istanbul on Friday, officials said, the first meeting "
        "since the Geneva talks in March.\n\nThe Geneva meeting ended without agreement on a ceasefire."
    )
    tagged = tag_text("t", text)
    article = {"article_id": "t", "body": text, "published": dt.date(2026, 5, 12)}  # a Tuesday
    talks = extract_article(article, tagged.sentences, tagged.mentions)[1]
    rows = [(t["venue"], t["start_date"], t["date_precision"], t["status"]) for t in talks]
    assert ("Istanbul", dt.date(2026, 5, 15), "day", "planned") in rows
    assert [r for r in rows if r[0] == "Geneva"] == [("Geneva", dt.date(2026, 3, 1), "month", "held")] * 2


def test_interceptions_listed_together():
    assert _counts("Air defences said 180 drones and 7 missiles were shot down.") == [
        ("drones_downed", 180, None),
        ("missiles_downed", 7, None),
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "The death toll from Thursday's Russian strike on Kyiv rose to 23, including four children.",
        "The death toll has risen to 23, officials said.",
        "The strike brought the death toll to 23.",
    ],
)
def test_death_tolls(sentence):
    assert ("killed", 23, None) in _counts(sentence)


def test_places_after_from_are_origins_unless_an_attack_is_described():
    text = (
        "The death toll from Thursday's Russian strike on Kyiv rose to 23. "
        "A medical team from the Oleshky hospital was hit by a drone near Kherson."
    )
    tagged = tag_text("f", text)
    article = {"article_id": "f", "body": text, "published": dt.date(2026, 6, 6)}
    strikes = {s["place"]: s for s in extract_article(article, tagged.sentences, tagged.mentions)[0]}
    assert strikes["Kyiv"]["killed"] == 23 and strikes["Kyiv"]["date"] == dt.date(2026, 6, 4)
    assert "Oleshky" not in strikes and "Kherson" in strikes
