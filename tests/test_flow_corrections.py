"""Corrections end to end on the seeds: a file with one of each action changes exactly the rows it names,
events and reports show the corrected values with their history, a re-run keeps them, removing the file
restores the machine's values, an edited article leaves its corrections unmatched, and a report as of an
earlier run comes out as it did then.

The targets are picked from the machine's own output, so the test knows no id or file name."""

import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow.dataset as pads
import pytest
import yaml

from pipeline import cli, corrections, io, schemas
from pipeline.flows import news_pipeline
from pipeline.render import render_report

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]

ROW_IDS = {"articles": "article_id", "strikes": "strike_id", "talks": "talk_id", "quotes": "quote_id"}


def _tables(out: Path) -> dict[str, list[dict[str, Any]]]:
    return {t: pads.dataset(out / "datasets" / t).to_table().to_pylist() for t in schemas.TABLES}


def _content(row: dict[str, Any]) -> dict[str, Any]:
    """A row without what says which run wrote it."""
    return {k: v for k, v in row.items() if k not in ("run_id", "ingested_at")}


def _changed(before: list[dict[str, Any]], after: list[dict[str, Any]], id_column: str) -> set[str]:
    old = {r[id_column]: _content(r) for r in before}
    return {r[id_column] for r in after if old.get(r[id_column]) != _content(r)}


def _pick(machine: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One target for each action, none sharing a claim or an event with another."""
    strike_events = [e for e in machine["events"] if e["kind"] == "strike"]
    claims = {s["strike_id"]: s for s in machine["strikes"]}
    used: set[str] = set()
    crowded = [e for e in strike_events if len(e["claim_ids"]) >= 2]
    reject_event, apart_event = crowded[0], crowded[1]
    used |= {*reject_event["claim_ids"], *apart_event["claim_ids"]}
    alone = [e for e in strike_events if not set(e["claim_ids"]) & used]
    figure_event = next(e for e in alone if e["killed_max"] is not None or e["injured_max"] is not None)
    used |= set(figure_event["claim_ids"])
    settable = next(
        s
        for s in machine["strikes"]
        if s["injured"] is not None and s["place"] and s["strike_id"] not in used and s["duplicate_of"] is None
    )
    used.add(settable["strike_id"])
    rest = [e for e in strike_events if not set(e["claim_ids"]) & used]
    first, second = next((a, b) for a in rest for b in rest if a["date"] == b["date"] and a["place"] != b["place"])
    quote = machine["quotes"][0]
    article = next(a for a in machine["articles"] if a["article_id"] != quote["article_id"])
    talk = next(t for t in machine["talks"] if t["status"] != "cancelled")
    return {
        "reject": reject_event["claim_ids"][0],
        "reject_event": reject_event,
        "apart": apart_event["claim_ids"][:2],
        "figure_event": figure_event,
        "settable": settable,
        "join": (first["claim_ids"][0], second["claim_ids"][0]),
        "quote": quote,
        "article": article,
        "talk": talk,
        "claims": claims,
    }


def _entries(p: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"strike_id": p["reject"], "action": "reject", "note": "not an attack", "by": "test", "date": "2026-12-01"},
        {
            "strike_id": p["settable"]["strike_id"],
            "action": "set",
            "set": {"injured": p["settable"]["injured"] + 100, "place": "Lviv"},
        },
        {"talk_id": p["talk"]["talk_id"], "action": "set", "set": {"status": "cancelled"}},
        {"quote_id": p["quote"]["quote_id"], "action": "set", "set": {"speaker": "Steve Witkoff"}},
        {"article_id": p["article"]["article_id"], "action": "set", "set": {"outlet": "Checked Outlet"}},
        {"event_id": p["figure_event"]["event_id"], "action": "set", "set": {"killed": 77}},
        {"strike_id": p["join"][0], "action": "same_event", "with": p["join"][1]},
        {"strike_id": p["apart"][0], "action": "different_event", "with": p["apart"][1]},
    ]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, prefect_server: None) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("corrections")
    seeds, out, fixes = root / "seeds", root / "out", root / "fixes"
    shutil.copytree(Path(__file__).resolve().parent.parent / "seeds", seeds)
    fixes.mkdir()

    def run(file: Path | None, reports: bool = False) -> Any:
        return news_pipeline(seeds_dir=seeds, out_dir=out, reports=reports, corrections_file=file, keep_snapshots=3)

    s: dict[str, Any] = {"out": out, "seeds": seeds}
    s["machine_summary"] = run(None)
    s["machine"] = _tables(out)
    machine_run = s["machine_summary"].run_id
    s["machine_report"] = render_report("strikes", out / "datasets", out).html
    s["machine_html"] = (out / "reports" / s["machine_report"]).read_text(encoding="utf-8")
    s["picked"] = p = _pick(s["machine"])
    good = fixes / "corrections.yaml"
    good.write_text(yaml.safe_dump(_entries(p), sort_keys=False), encoding="utf-8")
    s["corrected_summary"] = run(good, reports=True)
    s["corrected"] = _tables(out)
    s["corrected_html"] = (out / "reports" / "strikes.html").read_text(encoding="utf-8")
    s["as_of"] = render_report("strikes", out / io.VERSIONS / machine_run, out, as_of=machine_run)
    s["rerun_summary"] = run(good)
    s["rerun"] = _tables(out)
    broken = fixes / "broken.yaml"
    broken.write_text("- strike_id: [not closed\n", encoding="utf-8")
    s["broken_summary"] = run(broken)
    s["broken"] = _tables(out)
    empty = fixes / "empty.yaml"
    empty.write_text("[]\n", encoding="utf-8")
    s["restored_summary"] = run(empty)
    s["restored"] = _tables(out)
    quote_article = next(a for a in s["machine"]["articles"] if a["article_id"] == p["quote"]["article_id"])
    path = seeds / quote_article["source_file"]
    path.write_text(path.read_text(encoding="utf-8") + "\n\nA drone hit a warehouse in Sumy overnight.\n", "utf-8")
    s["edited_article"] = quote_article["article_id"]
    s["edited_summary"] = run(good)
    s["book"] = corrections.load_book(good)
    s["edited"] = _tables(out)
    s["snapshots"] = [v.name for v in io.snapshots(out)]
    s["run_ids"] = [s[f"{k}_summary"].run_id for k in ("machine", "corrected", "rerun", "broken", "restored", "edited")]
    return s


def test_one_of_each_action_changes_exactly_the_rows_it_names(story):
    p, machine, corrected = story["picked"], story["machine"], story["corrected"]
    summary = story["corrected_summary"]
    assert (summary.corrections_applied, summary.corrections_unmatched, summary.correction_problems) == (8, [], [])
    named = {
        "strikes": {p["reject"], p["settable"]["strike_id"]},
        "talks": {p["talk"]["talk_id"]},
        "quotes": {p["quote"]["quote_id"]},
        "articles": {p["article"]["article_id"]},
    }
    for table, id_column in ROW_IDS.items():
        assert _changed(machine[table], corrected[table], id_column) == named[table], table
        for row in corrected[table]:
            assert row["corrected"] == (row[id_column] in named[table])
    rows = {t: {r[ROW_IDS[t]]: r for r in corrected[t]} for t in ROW_IDS}
    moved = rows["strikes"][p["settable"]["strike_id"]]
    assert (moved["injured"], moved["place"], moved["admin1"]) == (
        p["settable"]["injured"] + 100,
        "Lviv",
        "Lviv Oblast",
    )
    assert rows["strikes"][p["reject"]]["rejected"]
    assert rows["talks"][p["talk"]["talk_id"]]["status"] == "cancelled"
    assert rows["quotes"][p["quote"]["quote_id"]]["speaker"] == "Steve Witkoff"
    assert rows["articles"][p["article"]["article_id"]]["outlet"] == "Checked Outlet"


def test_the_machine_value_is_kept_beside_each_change(story):
    p = story["picked"]
    applied = story["corrected"]["corrections_applied"]
    injured = next(r for r in applied if r["row_id"] == p["settable"]["strike_id"] and r["field"] == "injured")
    assert (injured["before"], injured["after"]) == (str(p["settable"]["injured"]), str(p["settable"]["injured"] + 100))
    rejected = next(r for r in applied if r["row_id"] == p["reject"])
    assert (rejected["field"], rejected["note"], rejected["by"], str(rejected["date"])) == (
        "rejected",
        "not an attack",
        "test",
        "2026-12-01",
    )
    assert {r["action"] for r in applied} == set(corrections.ACTIONS)


def test_events_use_the_corrected_claims_and_name_their_corrections(story):
    p, events = story["picked"], story["corrected"]["events"]
    of = {c: e for e in events for c in e["claim_ids"]}
    assert p["reject"] not in of  # a rejected claim leaves its event ...
    assert set(p["reject_event"]["claim_ids"]) - {p["reject"]} <= set(of)  # ... which keeps the others
    lviv = of[p["settable"]["strike_id"]]
    assert lviv["place"] == "Lviv" and lviv["injured_min"] == p["settable"]["injured"] + 100 and lviv["corrected"]
    figure = next(e for e in events if e["event_id"] == p["figure_event"]["event_id"])
    assert (figure["killed_min"], figure["killed_max"], figure["corrected"]) == (77, 77, True)
    first, second = p["join"]
    assert of[first]["event_id"] == of[second]["event_id"]  # same_event joins them
    a, b = p["apart"]
    assert of[a]["event_id"] != of[b]["event_id"]  # different_event parts them
    outlets = {o for e in events for o in e["outlets"]}
    assert "Checked Outlet" in outlets


def test_the_report_shows_the_run_its_corrections_and_leaves_the_rejected_claim_out(story):
    page, run = story["corrected_html"], story["corrected_summary"].run_id
    assert f"data as of run {run}, 8 corrections applied" in page
    assert f'id="claim-{story["picked"]["reject"]}"' not in page
    assert f'id="claim-{story["picked"]["settable"]["strike_id"]}"' in page
    assert f'id="claim-{story["picked"]["reject"]}"' in story["machine_html"]


def test_a_rerun_keeps_every_correction(story):
    assert story["rerun_summary"].corrections_applied == 8 and story["rerun_summary"].corrections_unmatched == []
    for table in schemas.TABLES:
        if table != "runs":
            assert [_content(r) for r in story["rerun"][table]] == [_content(r) for r in story["corrected"][table]]


def test_a_file_that_cannot_be_parsed_is_reported_and_the_last_good_corrections_still_apply(story):
    summary = story["broken_summary"]
    (problem,) = summary.correction_problems
    assert "broken.yaml" in problem and "not a YAML file" in problem and "applied instead" in problem
    assert summary.corrections_applied == 8  # one slip in the file does not undo every decision
    for table in ("articles", "strikes", "talks", "quotes", "events", "corrections_applied"):
        assert [_content(r) for r in story["broken"][table]] == [_content(r) for r in story["corrected"][table]]
    assert story["broken"]["runs"][-1]["corrections_invalid"] == 1


def test_an_empty_file_gives_the_machine_values_back(story):
    assert story["restored_summary"].corrections_applied == 0
    for table in ("articles", "strikes", "talks", "quotes", "events"):
        assert [_content(r) for r in story["restored"][table]] == [_content(r) for r in story["machine"][table]], table
    assert story["restored"]["corrections_applied"] == []


def test_an_edited_article_leaves_its_corrections_unmatched_and_the_others_applied(story):
    machine, summary, edited = story["machine"], story["edited_summary"], story["edited_article"]
    article_of = {r[ROW_IDS[t]]: r["article_id"] for t in ROW_IDS for r in machine[t]}
    # a claim's id comes from its article's text: the claims and the article itself are new after the edit
    expected = {
        c.correction_id
        for c in story["book"].corrections
        if edited in (article_of.get(c.target_id), article_of.get(c.other or ""))
    }
    run = story["edited"]["runs"][-1]
    assert expected and set(run["corrections_unmatched"]) == expected
    assert len(summary.corrections_unmatched) == len(expected)
    assert summary.corrections_applied == 8 - len(expected) and run["files_changed"] == 1


def test_the_run_log_has_a_row_per_run_and_every_table_names_the_run_that_wrote_it(story):
    runs = story["edited"]["runs"]
    assert [r["run_id"] for r in runs] == story["run_ids"]
    assert runs[0]["files_new"] == runs[0]["files_read"] == 5 and runs[1]["files_new"] == 0
    assert runs[0]["inputs_sha256"] == runs[1]["inputs_sha256"] != runs[-1]["inputs_sha256"]
    assert runs[1]["corrections_applied"] == 8 and runs[1]["corrections_file"].endswith("corrections.yaml")
    assert {r["table"]: r["rows"] for r in runs[1]["rows"]}["events"] == len(story["corrected"]["events"])
    for table in schemas.TABLES:
        assert all(r["run_id"] in story["run_ids"] for r in story["edited"][table]), table


def test_snapshots_rotate_and_a_report_as_of_an_earlier_run_comes_out_as_it_did(story):
    assert story["snapshots"] == story["run_ids"][-3:]  # keep_snapshots=3
    as_of = story["as_of"]
    assert as_of.html == f"{story['machine_report'].removesuffix('.html')}_as-of-{story['run_ids'][0]}.html"
    page = (story["out"] / "reports" / as_of.html).read_text(encoding="utf-8")

    def stable(html: str) -> str:  # only the time of rendering may differ
        return re.sub(r"rendered \d{4}-\d\d-\d\d \d\d:\d\d UTC", "rendered", html)

    assert stable(page) == stable(story["machine_html"])
    assert stable(page) != stable(story["corrected_html"])


def test_the_readme_worked_example_names_rows_of_the_seeds(seed_run, tmp_path):
    """The corrections of the README's worked example are valid and each names a row a seed run makes
    (its ids are content hashes: a change to the rules that changes them must update the README)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("**Worked example on the seeds**") :]
    block = example[example.index("```yaml") + len("```yaml") : example.index("```", example.index("```yaml") + 7)]
    book = corrections.load_book(_write_text(tmp_path / "corrections.yaml", block))
    assert book.problems == [] and len(book.corrections) == 3
    tables = _tables(seed_run[1])
    ids = {r[c] for t, c in {**ROW_IDS, "events": "event_id"}.items() for r in tables[t]}
    for c in book.corrections:
        assert c.target_id in ids and (c.other is None or c.other in ids), c.describe()


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_review_and_snapshots_commands_on_a_run(story, capsys):
    out = story["out"]
    assert cli.main(["review", "--out", str(out), "--min-confidence", "0.7"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("review page written: ") and "low-confidence claims" in line
    page = (out / "reports" / "review.html").read_text(encoding="utf-8")
    assert f"data as of run {story['run_ids'][-1]}" in page and "<script" not in page
    assert cli.main(["snapshots", "--out", str(out)]) == 0
    listed = capsys.readouterr().out
    assert all(run in listed for run in story["run_ids"][-3:]) and story["run_ids"][0] not in listed
    assert listed.splitlines()[-2].endswith("<- current")
    run = ["run", "--seeds", str(story["seeds"]), "--out", str(out)]
    for argv, words in (
        (["review", "--out", str(out), "--min-confidence", "2"], "between 0 and 1"),
        (["review", "--out", str(out / "nothing")], "no datasets in"),
        (["snapshots", "--out", str(out / "nothing")], "no snapshots in"),
        ([*run, "--keep-snapshots", "1"], "--keep-snapshots must be at least 2"),
        ([*run, "--corrections", str(out / "typo.yaml")], "corrections file not found"),
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err, (argv, err)
