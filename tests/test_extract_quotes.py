"""Quotations and their speakers on short invented articles (none taken from the gold sets)."""

from .extract_helpers import extract


def _quotes(text):
    return [(q["text"], q["speaker"], q["channel"]) for q in extract(text)[2]]


def test_the_speaker_after_the_quote_with_its_channel():
    assert _quotes("“We will rebuild every school,” Mayor Ihor Terekhov said in a statement.") == [
        ("We will rebuild every school,", "Ihor Terekhov", "statement")
    ]


def test_the_speaker_before_the_quote():
    assert _quotes("Kremlin spokesman Dmitry Peskov told reporters: “There is no date for a new round.”") == [
        ("There is no date for a new round.", "Dmitry Peskov", "press conference")
    ]


def test_a_name_inside_the_quote_is_not_its_speaker():
    quotes = _quotes("Foreign Minister Andrii Sybiha wrote on X: “Putin must be held to account for every strike.”")
    assert quotes == [("Putin must be held to account for every strike.", "Andrii Sybiha", "X")]


def test_he_resolves_to_the_last_person_who_spoke_not_the_last_named():
    quotes = _quotes(
        "Foreign Minister Andrii Sybiha condemned the strikes. "
        "He accused Putin of mocking diplomacy, saying the missiles had hit “the negotiating table itself.”"
    )
    assert quotes == [("the negotiating table itself.", "Andrii Sybiha", None)]


def test_a_title_names_the_person_introduced_with_it():
    quotes = _quotes(
        "Governor Oleh Kiper said the port was hit. “The damage is severe but we will recover,” the governor added."
    )
    assert quotes[0][1] == "Oleh Kiper"


def test_an_unnamed_official_is_a_body():
    quotes = _quotes("“A new round begins next week,” an unnamed US official told reporters.")
    assert quotes == [("A new round begins next week,", "US officials", "press conference")]


def test_scare_quotes_are_not_quotations():
    assert _quotes("Moscow called the talks “useful” and the plan “workable”.") == []


def test_a_quotation_repeated_with_its_sentence_is_one_quote():
    sentence = 'Zelensky said on Telegram: "We will not trade our land for a pause in the shelling."'
    (quote,) = extract(" ".join([sentence] * 3))[2]
    assert quote["speaker"] == "Volodymyr Zelensky"
    two = extract(sentence + ' Later he repeated: "We will not trade our land for a pause in the shelling."')[2]
    assert len(two) == 2  # the same words said again in another sentence are a second quotation


def test_each_quote_says_how_its_speaker_was_found_and_how_often_that_kind_is_right():
    from pipeline.extract import load_rules

    text = (
        "“The shelters stayed open all night,” Mayor Ihor Terekhov said. "
        "“We counted every blast,” he added. "
        "“Nobody slept in the east of the city.” "
        "Another leaflet read: “Leave the border villages before dawn.”"
    )
    quotes = extract(text)[2]
    basis = [q["confidence_basis"] for q in quotes]
    assert basis == [
        "attribution beside the quote",
        "attribution by pronoun",
        "continued quotation",
        "no attribution",
    ]
    cal = load_rules().calibration
    assert [q["confidence"] for q in quotes] == [cal.confidence("quotes", b) for b in basis]
    # a quote nobody is named for is the least likely to have its speaker right
    assert quotes[-1]["speaker"] is None and quotes[-1]["confidence"] == min(q["confidence"] for q in quotes)
