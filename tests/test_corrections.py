"""Analysts' corrections: the file's checks, applying and restoring rows, links in reconciliation, and the
review page. The end-to-end behaviour on the seeds (every action, re-runs, edited articles) is in
test_flow_corrections.py."""

import datetime as dt

import pyarrow as pa
import pyarrow.parquet
import pytest

from pipeline import corrections, reconcile, report, review, schemas
from pipeline.corrections import Book, load_book, parse_entry
from pipeline.gazetteer import load_gazetteer

GAZ = load_gazetteer()
D = dt.date(2026, 1, 24)


def _write(tmp_path, text):
    path = tmp_path / "corrections.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the file


def test_a_valid_file_gives_one_correction_per_entry_with_typed_values(tmp_path):
    book = load_book(
        _write(
            tmp_path,
            "- strike_id: s1\n  action: set\n  set: {killed: 3, place: kiev, date: 2026-01-23}\n"
            "  note: later count\n  by: AB\n  date: 2026-12-01\n"
            "- talk_id: t1\n  action: different_event\n  with: t2\n"
            "- id: mine\n  article_id: a1\n  action: reject\n",
        ),
        GAZ,
    )
    assert book.problems == []
    first, link, rejection = book.corrections
    assert first.values == (("killed", 3), ("place", "Kyiv"), ("date", dt.date(2026, 1, 23)))  # canonical place
    assert (first.note, first.by, first.date) == ("later count", "AB", dt.date(2026, 12, 1))
    assert (link.action, link.other) == ("different_event", "t2")
    assert rejection.correction_id == "mine" and first.correction_id.startswith("c-")
    assert book.key and book.sha256


def test_the_id_of_an_entry_is_its_content_so_a_new_note_keeps_it():
    a = parse_entry({"quote_id": "q", "action": "set", "set": {"speaker": "X"}, "note": "one"}, 1, GAZ)
    b = parse_entry({"quote_id": "q", "action": "set", "set": {"speaker": "X"}, "note": "two"}, 5, GAZ)
    c = parse_entry({"quote_id": "q", "action": "set", "set": {"speaker": "Y"}}, 1, GAZ)
    assert a.correction_id == b.correction_id != c.correction_id


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("- strike_id: s1\n  action: set\n  set: {kiled: 3}\n", "'kiled' cannot be set on strikes"),
        ("- strike_id: s1\n  action: set\n  set: {killed: three}\n", "killed must be a whole number"),
        ("- strike_id: s1\n  action: set\n  set: {killed: -2}\n", "whole number from 0 to 2,147,483,647"),
        ("- strike_id: s1\n  action: set\n  set: {killed: 5000000000}\n", "whole number from 0 to 2,147,483,647"),
        ("- strike_id: s1\n  action: set\n  set: {injured: 99999999999999999999999999}\n", "not 9999999999"),
        ("- strike_id: s1\n  action: reject\n  date: 2026-02-30\n", "date must be a day, YYYY-MM-DD, that exists"),
        ("- strike_id: s1\n  action: set\n  set: {date: 2026-13-01}\n", "date must be a day"),
        ("- strike_id: s1\n  action: reject\n  note: [checked, twice]\n", "note must be text, not list"),
        ("- strike_id: s1\n  action: reject\n  by: {name: AB}\n", "by must be text, not dict"),
        ("- strike_id: s1\n  action: set\n  set: {killed: true}\n", "whole number"),
        ("- strike_id: s1\n  action: set\n  set: {date: 24 January}\n", "must be a day"),
        ("- strike_id: s1\n  action: set\n  set: {place: Atlantis}\n", "not a place in the gazetteer"),
        ("- strike_id: s1\n  action: set\n  set: {attacker: Moldova}\n", "attacker must be one of Russia, Ukraine"),
        ("- talk_id: t1\n  action: set\n  set: {parties: Russia}\n", "must be a list of names"),
        ("- strike_id: s1\n  action: delete\n", "action 'delete' is not one of"),
        ("- strike_id: s1\n  talk_id: t1\n  action: reject\n", "exactly one target id"),
        ("- action: reject\n", "exactly one target id"),
        ("- strike_id: s1\n  action: reject\n  colour: red\n", "unknown key colour"),
        ("- strike_id: s1\n  action: set\n", "`set` needs the fields"),
        ("- strike_id: s1\n  action: same_event\n", "with must be a non-empty string"),
        ("- quote_id: q1\n  action: same_event\n  with: q2\n", "names two claims by strike_id or talk_id"),
        ("- strike_id: s1\n  action: reject\n  with: s2\n", "`with` goes with same_event"),
        ("- strike_id: 12\n  action: reject\n", "strike_id must be a non-empty string"),
        ("- just a string\n", "expected a mapping"),
    ],
)
def test_a_malformed_entry_is_skipped_with_its_number_and_the_reason(tmp_path, entry, words):
    path = _write(tmp_path, "- quote_id: good\n  action: reject\n" + entry)
    book = load_book(path, GAZ)
    assert [c.target_id for c in book.corrections] == ["good"]  # the others still apply
    (problem,) = book.problems
    assert str(path) in problem and "entry 2" in problem and words in problem, problem


def test_a_file_that_is_not_yaml_or_not_a_list_gives_one_problem_and_no_correction(tmp_path):
    for text, words in (("- strike_id: [unclosed\n", "not a YAML file"), ("strike_id: s1\n", "expected a list")):
        book = load_book(_write(tmp_path, text), GAZ)
        assert book.corrections == [] and len(book.problems) == 1 and words in book.problems[0]
    assert load_book(_write(tmp_path, ""), GAZ).problems == []  # an empty file is no corrections
    assert load_book(tmp_path / "missing.yaml", GAZ).problems[0].endswith("(No such file or directory)")


def test_the_same_entry_twice_is_reported_once(tmp_path):
    book = load_book(_write(tmp_path, "- strike_id: s1\n  action: reject\n" * 2), GAZ)
    assert len(book.corrections) == 1 and "the same correction as entry 1" in book.problems[0]


# --------------------------------------------------------------------------- applying to rows


def _strikes(*rows):
    base = {"article_id": "a1", "evidence": "x", "hedges": [], "has_figures": True, "corrections": None}
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=schemas.STRIKES)


def _book(*entries):
    return Book("c.yaml", "sha", [parse_entry(e, n, GAZ) for n, e in enumerate(entries, 1)])


def _by_id(table):
    return {r["strike_id"]: r for r in table.to_pylist()}


def test_set_changes_the_field_and_what_follows_from_it_and_records_the_machine_value():
    data = _strikes(
        {"strike_id": "s1", "place": "Kharkiv", "injured": 11, "hedges": [{"field": "injured", "words": "at least"}]},
        {"strike_id": "s2", "place": "Kyiv", "killed": 1},
    )
    book = _book({"strike_id": "s1", "action": "set", "set": {"injured": 31, "place": "Odesa Oblast"}})
    out = _by_id(corrections.apply("strikes", data, book, GAZ))
    s1, s2 = out["s1"], out["s2"]
    assert (s1["injured"], s1["place"], s1["admin1"], s1["geo_precision"]) == (
        31,
        "Odesa Oblast",
        "Odesa Oblast",
        "region",
    )
    assert s1["hedges"] == [] and s1["corrected"] and not s1["rejected"]
    changed = {c["field"]: (c["before"], c["after"]) for c in s1["corrections"]}
    assert changed["injured"] == ("11", "31") and changed["place"] == ('"Kharkiv"', '"Odesa Oblast"')
    assert (s2["corrected"], s2["rejected"], s2["corrections"]) == (False, False, [])


def test_corrections_are_applied_to_the_machine_values_so_removing_one_restores_them():
    data = _strikes({"strike_id": "s1", "place": "Kharkiv", "injured": 11, "date": D})
    first = corrections.apply(
        "strikes", data, _book({"strike_id": "s1", "action": "set", "set": {"injured": 31, "date": D}}), GAZ
    )
    again = corrections.apply("strikes", first, _book({"strike_id": "s1", "action": "set", "set": {"killed": 2}}), GAZ)
    row = _by_id(again)["s1"]
    assert (row["injured"], row["killed"]) == (11, 2)  # the first correction's change is undone
    restored = _by_id(corrections.apply("strikes", first, Book(), GAZ))["s1"]
    assert (restored["injured"], restored["date"], restored["corrected"], restored["corrections"]) == (11, D, False, [])


def test_rejecting_an_article_rejects_its_claims():
    data = _strikes({"strike_id": "s1", "article_id": "a1"}, {"strike_id": "s2", "article_id": "a2"})
    out = _by_id(corrections.apply("strikes", data, _book({"article_id": "a1", "action": "reject"}), GAZ))
    assert (out["s1"]["rejected"], out["s2"]["rejected"]) == (True, False)


def test_an_event_correction_sets_both_bounds_and_clears_the_conflict_and_a_rejected_event_goes():
    bounds = {f"{f}_{b}": None for f in schemas.FIGURES for b in ("min", "max")}
    events = [
        {"event_id": "e1", **bounds, "killed_min": 1, "killed_max": 4, "correction_ids": [], "corrected": False},
        {"event_id": "e2", **bounds, "correction_ids": [], "corrected": False},
    ]
    book = _book(
        {"event_id": "e1", "action": "set", "set": {"killed": 2}},
        {"event_id": "e2", "action": "reject"},
    )
    kept, applied = corrections.event_rows(events, book, "run", GAZ)
    (e1,) = kept
    assert (e1["killed_min"], e1["killed_max"], e1["conflicting"], e1["corrected"]) == (2, 2, False, True)
    assert {(r["row_id"], r["field"]) for r in applied} == {
        ("e1", "killed_min"),
        ("e1", "killed_max"),
        ("e2", "rejected"),
    }


# --------------------------------------------------------------------------- links in reconciliation


def _claim(sid, aid, place, date=D, **figures):
    row = {k: None for k in reconcile.STRIKE_COLUMNS}
    return row | {"strike_id": sid, "article_id": aid, "place": place, "date": date, "attacker": "Russia", **figures}


def test_different_event_takes_a_claim_out_of_the_event_and_gives_it_an_id_of_its_own():
    claims = [_claim("s1", "a", "Kyiv", injured=4), _claim("s2", "b", "Kyiv", injured=40)]
    args = ({"a", "b"}, {}, {})
    (together,) = reconcile.events_table([claims], [], *args).to_pylist()
    apart = reconcile.events_table([claims], [], *args, apart=[("s1", "s2")]).to_pylist()
    assert together["conflicting"] and len(apart) == 2
    assert {e["event_id"] for e in apart} >= {together["event_id"]} and len({e["event_id"] for e in apart}) == 2
    assert not any(e["conflicting"] for e in apart)


# --------------------------------------------------------------------------- the review page


def _frame(schema, rows):
    return pa.Table.from_pylist(rows, schema=schema).to_pandas()


def test_the_review_page_lists_what_needs_a_person_and_escapes_the_article_text():
    hostile = 'Officials said <script>alert("x")</script> 12 people & more were hurt.'
    article = {"article_id": "a1", "source_file": "x<y>.txt", "outlet": "<b>Outlet</b>", "url": "javascript:alert(1)"}
    strike = {
        "strike_id": "s1",
        "article_id": "a1",
        "evidence": hostile,
        "injured": 12,
        "has_figures": True,
        "confidence": 0.3,
        "place": None,
    }
    quote = {"quote_id": "q1", "article_id": "a1", "sentence_idx": 0, "text": "<i>we</i>", "speaker": None}
    unsure = {"quote_id": "q2", "article_id": "a1", "sentence_idx": 0, "text": "<i>we</i>", "speaker": "Ann Lee"}
    unsure |= {"confidence": 0.48, "confidence_basis": "continued quotation"}
    sure = {**unsure, "quote_id": "q3", "confidence": 0.86, "confidence_basis": "attribution beside the quote"}
    sentence = {"article_id": "a1", "sentence_idx": 0, "text": 'He said "<i>we</i>" would go.'}
    tables = {
        "articles": _frame(schemas.ARTICLES, [article]),
        "strikes": _frame(schemas.STRIKES, [strike]),
        "talks": _frame(schemas.TALKS, []),
        "quotes": _frame(schemas.QUOTES, [quote, unsure, sure]),
        "sentences": _frame(schemas.SENTENCES, [sentence]),
        "events": _frame(schemas.EVENTS, []),
    }
    items = review.review_items(tables, 0.6, today=dt.date(2026, 12, 1))
    assert sorted((i.section, i.row_id) for i in items) == [
        ("low_confidence", "q2"),  # a speaker found, but of a kind that is often wrong
        ("low_confidence", "s1"),
        ("no_place", "s1"),
        ("no_speaker", "q1"),
    ]
    (unsure_item,) = [i for i in items if i.row_id == "q2"]
    assert "continued quotation" in unsure_item.reason and "speaker: Ann Lee" in unsure_item.snippet
    page = review.review_html(items, 0.6, "data as of run R")
    assert "<script>" not in page and "<b>Outlet" not in page and "<i>we" not in page and "javascript:" not in page
    assert "&lt;script&gt;" in page and "&lt;b&gt;Outlet&lt;/b&gt;" in page
    assert "<mark>12</mark>" in page  # the figure is marked in its sentence
    (no_place,) = [i for i in items if i.section == "no_place"]
    # the snippet is an entry the corrections file accepts once its placeholder is filled in
    pasted = no_place.snippet.replace("PLACE", "Kyiv")
    book = corrections.Book()
    import yaml

    for n, entry in enumerate(yaml.safe_load(pasted), 1):
        book.corrections.append(parse_entry(entry, n, GAZ))
    assert book.corrections[0].values[0] == ("place", "Kyiv")


def test_mark_text_marks_whole_numbers_only():
    assert review.mark_text("12 of 112 and 1,200", ["12", "1,200"]) == "<mark>12</mark> of 112 and <mark>1,200</mark>"
    assert review.mark_text("a < b", []) == "a &lt; b"


def test_reports_leave_out_rejected_rows(tmp_path):
    folder = tmp_path / "quotes"
    folder.mkdir()
    rows = [
        {"quote_id": "q1", "article_id": "a", "text": "kept", "rejected": False},
        {"quote_id": "q2", "article_id": "a", "text": "gone", "rejected": True},
    ]
    loose = pa.schema([f.with_nullable(True) for f in schemas.QUOTES])  # the columns this test leaves out
    pa.parquet.write_table(pa.Table.from_pylist(rows, schema=loose), folder / "part-0.parquet")
    assert report.load_tables(tmp_path, ["quotes"])["quotes"]["text"].tolist() == ["kept"]


def test_a_report_gives_the_change_a_reader_cares_about():
    changes = [
        {"correction_id": "c", "field": "injured", "before": "11", "after": "31"},
        {"correction_id": "c", "field": "admin1", "before": '"Kharkiv Oblast"', "after": '"Lviv Oblast"'},
        {"correction_id": "c", "field": "place", "before": '"Kharkiv"', "after": '"Lviv"'},
        {"correction_id": "d", "field": "killed", "before": "2", "after": "2"},
    ]
    assert report.correction_text(changes) == "injured 11 → 31; place Kharkiv → Lviv; killed 2 (confirmed)"
    assert report.correction_text([]) == "" and report.correction_text(None) == ""


def test_a_figure_set_on_an_event_is_what_the_report_shows():
    import pandas as pd

    claims = pd.DataFrame(
        {"article_id": ["a", "b"], "killed": [1, 4], "hedges": [[{"field": "killed", "words": "at least"}], []]}
        | {f: [None, None] for f in schemas.FIGURES if f != "killed"}
    )
    amounts = report.claim_amounts(claims)
    machine = pd.Series(
        {"killed_min": 1, "killed_max": 4}
        | {f"{f}_{b}": None for f in schemas.FIGURES if f != "killed" for b in ("min", "max")}
    )
    shown = report._corrected_amounts(dict(amounts), machine)["killed"].text()
    assert shown == amounts["killed"].text() == "at least 1 to 4"  # no correction: the claims' own figures
    corrected = machine.copy()
    corrected[["killed_min", "killed_max"]] = [3, 3]
    assert report._corrected_amounts(dict(amounts), corrected)["killed"].text() == "3"
    corrected = corrected.astype(object)
    corrected[["killed_min", "killed_max"]] = [None, None]  # set: {killed: null}
    assert not report._corrected_amounts(dict(amounts), corrected)["killed"].known


def test_a_place_is_the_one_of_that_name_not_one_that_lists_it_as_a_spelling():
    (c,) = [parse_entry({"strike_id": "s", "action": "set", "set": {"place": "dubno"}}, 1, GAZ)]
    assert c.values == (("place", "Dubno"),)
    row = _by_id(
        corrections.apply(
            "strikes",
            _strikes({"strike_id": "s", "place": "Kyiv"}),
            _book({"strike_id": "s", "action": "set", "set": {"place": "Dubno"}}),
            GAZ,
        )
    )["s"]
    assert (row["place"], row["admin1"], row["country"]) == ("Dubno", "Rivne Oblast", "UA")


def test_same_event_brings_a_claim_with_no_place_into_the_event_of_one_with_a_place():
    from pipeline import plan

    claims = pa.Table.from_pylist(
        [_claim("s1", "a", "Kyiv", injured=4), _claim("s2", "b", None, date=None, killed=1)],
        schema=pa.schema([schemas.STRIKES.field(c) for c in reconcile.STRIKE_COLUMNS]),
    )
    # named either way round, the chain takes the place and date of the claim that has them
    for target, other in (("s2", "s1"), ("s1", "s2")):
        link = parse_entry({"strike_id": target, "action": "same_event", "with": other}, 1, GAZ)
        joined = {
            r["strike_id"]: r
            for r in plan._joined(claims, "strike_id", [link], ("place", "date"), ("place", "date")).to_pylist()
        }
        assert (joined["s2"]["place"], joined["s2"]["date"]) == ("Kyiv", D) and joined["s1"]["place"] == "Kyiv"


def test_a_claim_moved_out_never_takes_the_id_of_the_event_it_left():
    early = _claim("s1", "a", "Kyiv", date=D - dt.timedelta(days=1), injured=4)
    claims = [early, _claim("s2", "b", "Kyiv", injured=40)]
    args = ({"a", "b"}, {}, {})
    (together,) = reconcile.events_table([claims], [], *args).to_pylist()
    apart = reconcile.events_table([claims], [], *args, apart=[("s2", "s1")]).to_pylist()
    moved = next(e for e in apart if e["claim_ids"] == ["s1"])
    assert moved["event_id"] != together["event_id"]  # a correction of that event is not carried to it


def test_without_a_good_copy_a_file_that_cannot_be_parsed_applies_nothing(tmp_path):
    broken = corrections.load_book(_write(tmp_path, "- strike_id: [unclosed\n"), GAZ)
    alone = corrections.with_fallback(broken, tmp_path / "none.yaml", GAZ)
    assert alone.corrections == [] and alone.problems[0].endswith("no correction applied")
    good = tmp_path / "good.yaml"
    good.write_text("- strike_id: s1\n  action: reject\n", encoding="utf-8")
    kept = corrections.with_fallback(broken, good, GAZ)
    assert [c.target_id for c in kept.corrections] == ["s1"] and kept.path == broken.path and kept.unreadable
    valid = corrections.load_book(good, GAZ)
    assert corrections.with_fallback(valid, tmp_path / "none.yaml", GAZ) is valid


def test_a_file_of_nested_aliases_is_refused_at_once_and_quoted_briefly(tmp_path):
    """A few hundred bytes of nested YAML aliases would expand to gigabytes, and every message quoting a
    value would print them: the file is refused as a whole (the last good copy applies instead)."""
    lines = ['a: &a ["xxxxxxxx", "xxxxxxxx", "xxxxxxxx", "xxxxxxxx"]']
    for prev, name in zip("abcdefghij", "bcdefghijk", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    lines.append("corrections:\n- strike_id: s1\n  action: reject\n  note: *k")
    path = _write(tmp_path, "\n".join(lines) + "\n")
    assert path.stat().st_size < 1000
    book = load_book(path, GAZ)
    assert book.unreadable and not book.corrections
    (problem,) = book.problems
    assert "aliases" in problem and len(problem) < 300


def test_a_long_bad_value_is_quoted_cut_short(tmp_path):
    path = _write(tmp_path, f"- strike_id: s1\n  action: set\n  set: {{attacker: {'x' * 50_000}}}\n")
    (problem,) = load_book(path, GAZ).problems
    assert "attacker must be one of" in problem and "50,002 characters" in problem and len(problem) < 400
