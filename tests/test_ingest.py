import datetime as dt
import hashlib

import pyarrow as pa

from pipeline import ingest, schemas
from pipeline.errors import RejectedInput
from pipeline.io import InputFile

NOW = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 2, 2, 12, 0, tzinfo=dt.UTC)


def _inp(name: str, data: bytes) -> InputFile:
    return InputFile(name, data, hashlib.sha256(data).hexdigest())


GOOD = _inp("a.txt", b" date 2026-01-05 By Ann Lee, BBC\n\nDrones hit Sumy overnight, officials said.\n")


def test_build_article_fills_every_schema_column_but_the_run_ones():
    row = ingest.build_article(GOOD)
    assert set(schemas.ARTICLES.names) - set(row) == {"duplicate_of", "ingested_at", "topics"}
    assert row["authors"] == ["Ann Lee"] and row["outlet"] == "BBC"
    assert row["published"] == dt.date(2026, 1, 5)
    assert row["body"] == "Drones hit Sumy overnight, officials said."
    assert row["word_count"] == 6


def test_article_id_is_stable_and_depends_on_file_and_content():
    assert ingest.build_article(GOOD)["article_id"] == ingest.build_article(GOOD)["article_id"]
    moved = _inp("b.txt", GOOD.data)
    assert ingest.build_article(moved)["article_id"] != ingest.build_article(GOOD)["article_id"]


def test_bad_files_become_rejects_and_the_batch_goes_on():
    result = ingest.ingest_files(
        [
            _inp("empty.txt", b""),
            GOOD,
            _inp("only-boilerplate.txt", b"The-CNN-Wire\n\nAll rights reserved."),
            ("huge.txt", RejectedInput("file too large")),
        ]
    )
    assert [a["source_file"] for a in result.articles] == ["a.txt"]
    assert {r["source_file"]: r["reason"] for r in result.rejects} == {
        "empty.txt": "empty file",
        "only-boilerplate.txt": "no text left after removing boilerplate",
        "huge.txt": "file too large",
    }


def test_finalize_keeps_first_ingest_time_of_unchanged_files():
    first = ingest.finalize_articles([ingest.build_article(GOOD)], None, NOW)
    edited = _inp("a.txt", GOOD.data + b"\nA new paragraph.\n")
    again = ingest.finalize_articles(
        [ingest.build_article(GOOD), ingest.build_article(_inp("c.txt", edited.data))], first, LATER
    )
    times = dict(zip(again["source_file"].to_pylist(), again["ingested_at"].to_pylist(), strict=True))
    assert times["a.txt"] == NOW and times["c.txt"] == LATER
    assert again.schema == schemas.ARTICLES


def test_finalize_marks_copies_in_another_file():
    copy = _inp("z-copy.txt", GOOD.data)
    table = ingest.finalize_articles([ingest.build_article(copy), ingest.build_article(GOOD)], None, NOW)
    rows = {r["source_file"]: r for r in table.to_pylist()}
    assert rows["a.txt"]["duplicate_of"] is None
    assert rows["z-copy.txt"]["duplicate_of"] == rows["a.txt"]["article_id"]


def test_rejects_table_has_the_schema():
    table = ingest.finalize_rejects([{"source_file": "x", "reason": "empty file", "file_sha256": None}], None, NOW)
    assert table.schema == schemas.REJECTS and table.num_rows == 1
    assert isinstance(table, pa.Table)
