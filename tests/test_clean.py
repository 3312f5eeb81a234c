import unicodedata

import pytest

from pipeline.clean import clean_text, find_outlet, load_rules, parse_byline, split_paragraphs


def test_rules_compile_every_family():
    rules = load_rules()
    assert rules.drop and rules.prefixes and rules.suffixes and rules.outlet_by_alias


def test_byline_becomes_authors_and_outlet():
    out = clean_text("By Anna Smith, Piotr Nowak and Li Wei, Reuters\n\nKYIV (Reuters) - Drones struck the city.")
    assert out.authors == ["Anna Smith", "Piotr Nowak", "Li Wei"]
    assert out.outlet == "Reuters"
    assert out.body == "KYIV – Drones struck the city."  # the wire tag goes; the dateline's place stays


@pytest.mark.parametrize(
    ("para", "body"),
    [
        # a place in capitals stays, as in a dated dateline: where the story was filed
        ("ISTANBUL (AP) — Russian and Ukrainian officials met.", "ISTANBUL – Russian and Ukrainian officials met."),
        ("NEW YORK (AFP) - The council met.", "NEW YORK – The council met."),
        ("KYIV, Ukraine (AP) — Drones hit the city.", "KYIV – Drones hit the city."),
        # an outlet alone, or a place not written as a dateline, goes with the tag
        ("(CNN) — Drones hit the city.", "Drones hit the city."),
        ("Kyiv (Reuters) - Drones hit the city.", "Drones hit the city."),
    ],
)
def test_a_datelines_wire_tag_goes_and_its_place_stays(para, body):
    assert clean_text(para).body == body


@pytest.mark.parametrize(
    "para",
    [
        "By the end of the week, talks had stalled.",
        "By Sunday the delegations had left Geneva without a deal, officials said.",
        "By contrast, Moscow said nothing.",
    ],
)
def test_sentences_starting_with_by_are_not_bylines(para):
    assert parse_byline(para) is None
    assert clean_text(para).body == para


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Story text.\n\nThe-AP-Wire", "The-AP-Wire"),
        ("Story text.\n\n© 2026 Example Media Group. All rights reserved.", "Example Media"),
        ("Story text.\n\nAll rights reserved.", "rights"),
        ("Story text.\n\nThe AP's Jane Roe and John Doe in Kyiv contributed to this report.", "contributed"),
        ("Story text.\n\nWith reporting from Ukrinform", "Ukrinform"),
        ("Story text.\n\nReporting by Max Hunder; Editing by Ros Russell", "Editing"),
        ("Story text.\n\nSign up for our free daily newsletter here", "newsletter"),
        ("Story text.\n\nRead more: Ten things to know about the talks", "Ten things"),
        ("Story text.\n\nFollow us on Telegram", "Telegram"),
    ],
)
def test_boilerplate_paragraphs_are_removed(text, gone):
    out = clean_text(text)
    assert out.body == "Story text."
    assert gone not in out.body
    assert out.removed


def test_promo_lead_in_is_cut_and_the_rest_kept():
    out = clean_text("Let's dive into the details: the talks ended without a deal.")
    assert out.body == "The talks ended without a deal."
    assert "promo_leadin" in out.removed


def test_a_long_paragraph_is_not_dropped_by_a_short_rule():
    long_para = "Reporting by local journalists shows " + "the strikes went on all night, " * 20 + "officials said."
    assert clean_text(long_para).body == long_para


@pytest.mark.parametrize(
    ("text", "outlet"),
    [
        ("(CNN) — Russia launched drones.", "CNN"),
        ("KYIV, Ukraine (AP) — Russia launched drones.", "Associated Press"),
        ("Strikes hit Kharkiv.\n\nThe BBC could not independently verify the reports.", "BBC"),
        ("Text.\n\nWith reporting from RFE/RL's Ukrainian Service", "RFE/RL"),
        ("Text.\n\nThe-CNN-Wire", "CNN"),
    ],
)
def test_outlet_is_found_where_the_text_names_itself(text, outlet):
    assert clean_text(text).outlet == outlet


@pytest.mark.parametrize(
    ("first", "second"),
    [("Reuters", "AFP"), ("AFP", "Reuters"), ("BBC", "Associated Press"), ("Associated Press", "BBC")],
)
def test_outlet_named_first_wins_when_two_name_themselves_the_same_way(first, second):
    text = f"Drones hit Odesa. {first} could not verify the figures, and {second} could not confirm them."
    assert find_outlet(text) == first


def test_copyright_line_outranks_an_earlier_could_not_verify():
    text = "Drones hit Odesa.\n\nAFP could not verify the figures.\n\n© 2026 Reuters"
    assert find_outlet(text) == "Reuters"


def test_citing_another_outlet_does_not_make_it_the_outlet():
    assert find_outlet("The talks were constructive, the spokesperson said, according to Reuters.") is None


def test_dateline_is_removed_from_the_body():
    body = clean_text("(CNN) — Russia launched a fresh wave of attacks.").body
    assert body == "Russia launched a fresh wave of attacks."


def test_unicode_is_nfc_and_whitespace_tidied_with_paragraphs_kept():
    decomposed = unicodedata.normalize("NFD", "Kyiv’s café")
    text = f"  First   line\u00a0here\nwraps on.  \n\n\n\n{decomposed}\u200b  \t\n"
    out = clean_text(text).body
    assert out == "First line here wraps on.\n\nKyiv’s café"
    assert unicodedata.is_normalized("NFC", out)


def test_text_without_blank_lines_is_one_paragraph_a_line():
    assert split_paragraphs("One.\nTwo.\nThree.") == ["One.", "Two.", "Three."]


@pytest.mark.parametrize(
    "credit",
    [
        "(Reporting by Max Hunder in Kyiv; Editing by Ros Russell)",
        "CNN’s Victoria Butenko contributed reporting.",
        "Support independent journalism from Ukraine: become a member today.",
    ],
)
def test_more_credit_and_promo_forms_are_removed(credit):
    assert clean_text(f"Story text.\n\n{credit}").body == "Story text."


STORY = "Drones struck the city overnight, officials said."


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        # page furniture recognised by its shape, in wording no rule lists
        (f"Maria Petrenko / Odesa City Council\n\n{STORY}", "Maria Petrenko"),
        (f"{STORY}\n\n03.11.2026 | 14:20", "14:20"),
        (f"{STORY}\n\n08:15 UTC 04.11.2026 (Updated: 09:02 UTC 04.11.2026)", "Updated"),
        (f"{STORY}\n\nStory continues after the advertisement", "continues"),
        (f"{STORY}\n\nSign in to your account\n\nForgot your password?", "password"),
        (f"{STORY}\n\nDownload our app!", "app"),
        (f"{STORY}\n\nAdd us as a preferred source on Google", "preferred"),
        (f"{STORY}\n\nlist 2 of 4", "list 2"),
        (f"{STORY} Also read: Three hurt in Sumy shelling", "Also read"),
        (f"{STORY}– ABC-NEWS", "ABC-NEWS"),
        (f"{STORY} /TASS/.", "TASS"),
        (f"{STORY} - Reuters", "Reuters"),
        (f"Port damaged in Odesa, 3 May (Photo: Odesa regional administration)\n\n{STORY}", "Photo:"),
        (f"Daily Kyiv/ {STORY}", "Daily Kyiv/"),
    ],
)
def test_furniture_goes_by_its_shape(text, gone):
    out = clean_text(text)
    assert gone not in out.body
    assert STORY.split(",")[0] in out.body


def test_a_dated_wire_dateline_keeps_its_place_and_date():
    out = clean_text("KHARKIV, Mar 3, 2026 (ABC/AFP) - Drones struck the city overnight.")
    assert out.body == "KHARKIV, Mar 3, 2026 – Drones struck the city overnight."
    assert out.outlet == "AFP"


def test_bylines_with_no_by_or_no_person():
    bare = clean_text(f"Olena Kovalenko Kyiv Herald\n\n{STORY}")
    assert (bare.authors, bare.outlet, bare.body) == (["Olena Kovalenko"], "Kyiv Herald", STORY)
    outlet_only = clean_text(f"By AFP\n\n{STORY}")
    assert (outlet_only.authors, outlet_only.outlet, outlet_only.body) == ([], "AFP", STORY)
    dated = clean_text(f"By Thomson Reuters Mar 3, 2026 | 2:15 PM\n\n{STORY}")
    assert (dated.outlet, dated.body) == ("Reuters", STORY)


@pytest.mark.parametrize(
    "para",
    [
        "Kyiv Mayor Vitali Klitschko said two people were hurt.",  # a name and a title, not a byline
        "Firefighters worked through the night / officials said the blaze was out.",
        "The login page of the ministry's site was down for hours after the cyberattack on state services.",
    ],
)
def test_reporting_that_looks_a_little_like_furniture_stays(para):
    assert clean_text(f"{para}\n\n{STORY}").body.startswith(para[:20])


def test_a_malformed_boilerplate_file_names_itself_not_a_bare_key_error(monkeypatch):
    from pipeline import clean
    from pipeline.errors import RulesError

    monkeypatch.setattr(clean, "load_data_file", lambda name: {"outlets": [{"aliases": ["x"]}]})
    with pytest.raises(RulesError, match=r"boilerplate\.yaml or outlets\.yaml: missing or malformed key"):
        clean.load_rules.__wrapped__()


@pytest.mark.parametrize(
    "furniture",
    [
        "Listen to this article | 4 mins",
        "Listen to the story (3 min)",
        "REUTERS VIDEO: Rescuers search the rubble in Dnipro",
        "PHOTOS: The aftermath of the overnight attack",
        "Photo by Anna Koval/Global Images via Getty Images",
        "Photographs by Petro Hnatiuk/Reuters",
        "Catch all the World News and the latest updates on Daily Post.",
        "Get Morning Headlines — free alerts delivered to your inbox. Sign up now",
        "Add The Daily Globe as your preferred source on Google",
        "'Add Kyiv Daily as a Preferred Source'",
        "Please turn on JavaScript to use this feature",
        "Enable JavaScript to watch this video",
        "Reuse this content",
        "Explore more on these topics",
        "list 2 of 5 Kremlin says no date set for the next round",
    ],
)
def test_page_furniture_of_any_outlet_is_removed(furniture):
    body = f"Drones hit Sumy overnight, the governor said.\n\n{furniture}\n\nTwo people were injured, he added."
    out = clean_text(body)
    assert furniture not in out.body and "Two people were injured" in out.body


@pytest.mark.parametrize(
    "reporting",
    [
        "Listening to the sirens, residents of Sumy went down to the shelters.",
        "Share prices of Ukrainian energy firms fell after the attack on the plant.",
        "Photos by residents showed a crater outside the school in Sumy.",
        "View from the ground: residents of Kharkiv spent the night in the metro.",
        "The ministry said it would add Poland as a preferred source of air defence systems in 2027 talks.",
    ],
)
def test_reporting_that_starts_like_furniture_is_kept(reporting):
    body = f"Drones hit Sumy overnight, the governor said.\n\n{reporting}"
    assert reporting in clean_text(body).body


def test_inline_embed_links_and_slash_wire_tags_go_and_the_text_stays():
    out = clean_text("KYIV, March 3. /UNIAN/. Air defences downed 12 drones, the air force said.")
    assert "/UNIAN/" not in out.body and "Air defences downed 12 drones" in out.body and "KYIV, March 3." in out.body
    out = clean_text("A school was hit in Sumy. pic.twitter.com/AbC123xyz — a resident (@sumy_res) March 3, 2026")
    assert "pic.twitter.com" not in out.body and "A school was hit in Sumy." in out.body


@pytest.mark.parametrize("closing", ["By Olena Petrenko", "By Ivan Horak and Maria Lys"])
def test_a_byline_closing_a_story_is_read_into_authors(closing):
    out = clean_text(f"Drones hit Sumy overnight, the governor said.\n\nTwo people were injured.\n\n{closing}")
    assert closing not in out.body and out.authors and out.authors[0] in closing


def test_a_closing_sentence_that_starts_with_by_is_no_byline():
    last = "By Tuesday evening, rescuers had pulled 12 people from the rubble."
    out = clean_text(f"Drones hit Sumy overnight.\n\n{last}")
    assert last in out.body and out.authors == []


def test_a_byline_after_a_listen_button_and_a_photo_caption_is_still_a_byline():
    text = (
        "Listen to this article | 4 mins\n\nA soldier walks past a damaged school in Kharkiv [Example/Photo]\n\n"
        "Talks are stalling, officials say.\n\nBy Marta Lindqvist\n\nDrones struck the city overnight."
    )
    out = clean_text(text)
    assert out.authors == ["Marta Lindqvist"] and "Marta Lindqvist" not in out.body


@pytest.mark.parametrize(
    "opening",
    ["Marta Lindqvist", "marta lindqvist", "Marta Lindqvist "],
)
def test_the_authors_name_alone_in_an_opening_paragraph_is_a_byline(opening):
    text = f"Leaders meet at the White House\n\n{opening}\n\nZelensky met Trump in Washington on Monday."
    out = clean_text(text, authors=["Marta Lindqvist"])
    assert "Lindqvist" not in out.body and "Zelensky met Trump" in out.body


def test_a_name_alone_that_is_not_the_author_stays():
    text = "Leaders meet at the White House\n\nMarta Lindqvist\n\nZelensky met Trump in Washington on Monday."
    assert "Marta Lindqvist" in clean_text(text, authors=["Jon Berg"]).body
