"""End to end: the real Prefect flow on the seed articles, scored against the gold answers."""

import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import cli, schemas
from pipeline.flows import news_pipeline

pytestmark = [pytest.mark.flow, pytest.mark.usefixtures("prefect_server")]

METADATA_AND_CLEANING = (
    "articles_found",
    "published_exact",
    "title_exact",
    "authors_exact",
    "body_keeps",
    "body_drops",
)


def _run(seeds: Path, out: Path):
    return news_pipeline(seeds_dir=seeds, out_dir=out, reports=False)


def _table(out: Path, name: str):
    return pq.read_table(out / "datasets" / name).sort_by("source_file")


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def _add_bad_inputs(seeds: Path) -> dict[str, str]:
    """One file per kind of bad input, and a word the reject reason must contain."""
    (seeds / "empty.txt").write_bytes(b"")
    (seeds / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(200))
    (seeds / "mangled.txt").write_bytes(b"\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\xff\xfe" * 40)
    (seeds / "broken.md").write_text("---\ntitle: Talks\ndate: 2026-01-01\n\nNo closing fence.\n")
    (seeds / "bad-date.txt").write_text(" date 2026-02-31 Strikes hit Kharkiv overnight.\n")
    with (seeds / "huge.txt").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    return {
        "empty.txt": "empty",
        "photo.jpg": "binary",
        "mangled.txt": "UTF-8",
        "broken.md": "front matter",
        "bad-date.txt": "unparseable date",
        "huge.txt": "too large",
    }


def test_seeds_match_the_gold_metadata_and_cleaning(seeds_copy, tmp_path, gold, scorer):
    summary = _run(seeds_copy, tmp_path / "out")
    assert summary.articles == len(gold) and summary.rejected == 0
    metrics, _ = scorer.score(
        str(tmp_path / "out" / "datasets"), str(Path(__file__).parent / "gold" / "seeds.gold.json")
    )
    for name in METADATA_AND_CLEANING:
        assert metrics[name] == 1.0, (name, metrics[name])


def test_rerun_is_idempotent(seeds_copy, tmp_path):
    out = tmp_path / "out"
    _run(seeds_copy, out)
    first = _table(out, "articles")
    _run(seeds_copy, out)
    assert _table(out, "articles").equals(first)
    assert sorted(p.name for p in (out / "datasets").iterdir()) == ["articles", "rejects"]


def test_added_edited_and_removed_files_are_reflected(seeds_copy, tmp_path):
    out = tmp_path / "out"
    _run(seeds_copy, out)
    before = {r["source_file"]: r for r in _table(out, "articles").to_pylist()}
    names = sorted(before)
    (seeds_copy / names[0]).unlink()
    edited = seeds_copy / names[1]
    edited.write_text(edited.read_text(encoding="utf-8") + "\n\nA late paragraph about the talks.\n", encoding="utf-8")
    (seeds_copy / "new.md").write_text("---\ntitle: New\ndate: 2026-02-10\n---\nGeneva hosted a new round of talks.\n")
    _run(seeds_copy, out)
    after = {r["source_file"]: r for r in _table(out, "articles").to_pylist()}
    assert names[0] not in after
    assert "new.md" in after and after["new.md"]["title"] == "New"
    assert after[names[1]]["body"].endswith("A late paragraph about the talks.")
    assert after[names[1]]["article_id"] != before[names[1]]["article_id"]
    assert after[names[2]] == before[names[2]]
    assert len(after) == len(before)


def test_bad_inputs_are_rejected_and_the_good_ones_written(seeds_copy, tmp_path):
    good = len(list(seeds_copy.iterdir()))
    expected = _add_bad_inputs(seeds_copy)
    before = _hashes(seeds_copy)
    out = tmp_path / "out"
    summary = _run(seeds_copy, out)
    rejects = {r["source_file"]: r["reason"] for r in _table(out, "rejects").to_pylist()}
    assert set(rejects) == set(expected)
    for name, word in expected.items():
        assert word in rejects[name], (name, rejects[name])
    assert _table(out, "articles").num_rows == good == summary.articles
    assert _hashes(seeds_copy) == before  # inputs are never modified


def test_cli_strict_exits_nonzero_on_rejects(seeds_copy, tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["run", "--seeds", str(seeds_copy), "--out", str(out), "--no-reports"]) == 0
    (seeds_copy / "empty.txt").write_bytes(b"")
    assert cli.main(["run", "--seeds", str(seeds_copy), "--out", str(out), "--no-reports", "--strict"]) == 1
    printed = capsys.readouterr().out
    assert "rejected: 1" in printed and "empty.txt: empty file" in printed


def test_cli_missing_seeds_folder_is_an_error(tmp_path, capsys):
    assert cli.main(["run", "--seeds", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]) == 2
    assert "seeds folder not found" in capsys.readouterr().err


def test_datasets_load_in_pandas_duckdb_and_polars_with_the_schema_types(seeds_copy, tmp_path):
    import duckdb
    import pandas as pd
    import polars as pl

    out = tmp_path / "out"
    _run(seeds_copy, out)
    folder = out / "datasets" / "articles"
    assert pq.read_table(folder).schema.equals(schemas.ARTICLES, check_metadata=False)
    assert len(pd.read_parquet(folder)) == 5
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{folder}/**/*.parquet')").fetchall()
    types = {row[0]: row[1] for row in described}
    assert types["published"] == "DATE" and types["authors"] == "VARCHAR[]" and types["word_count"] == "INTEGER"
    assert types["ingested_at"] == "TIMESTAMP WITH TIME ZONE"
    lf = pl.scan_parquet(f"{folder}/**/*.parquet")
    schema = lf.collect_schema()
    assert schema["published"] == pl.Date and schema["authors"] == pl.List(pl.String)
    assert lf.select(pl.len()).collect().item() == 5
