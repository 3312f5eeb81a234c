import datetime as dt
import hashlib

import pyarrow as pa

from pipeline import ingest, schemas
from pipeline.io import InputFile

NOW = dt.datetime(2026, 2, 1, 12, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 2, 2, 12, 0, tzinfo=dt.UTC)


def _inp(name: str, data: bytes) -> InputFile:
    return InputFile(name, data, hashlib.sha256(data).hexdigest())


GOOD = _inp("a.txt", b" date 2026-01-05 By Ann Lee, BBC\n\nDrones hit Sumy overnight, officials said.\n")


def test_build_article_fills_every_schema_column_but_the_run_ones():
    row = ingest.build_article(GOOD)
    run_columns = {"duplicate_of", "ingested_at", "topics", "rejected", "corrected", "corrections", "run_id"}
    assert set(schemas.ARTICLES.names) - set(row) == run_columns
    assert row["authors"] == ["Ann Lee"] and row["outlet"] == "BBC"
    assert row["published"] == dt.date(2026, 1, 5)
    assert row["body"] == "Drones hit Sumy overnight, officials said."
    assert row["word_count"] == 6


def test_article_id_is_stable_and_depends_on_file_and_content():
    assert ingest.build_article(GOOD)["article_id"] == ingest.build_article(GOOD)["article_id"]
    moved = _inp("b.txt", GOOD.data)
    assert ingest.build_article(moved)["article_id"] != ingest.build_article(GOOD)["article_id"]


def _keys(articles):
    from pipeline.batch import ARTICLE_KEYS
    from pipeline.dedup import minhash

    rows = [{**a, "signature": minhash(a["body"]).tobytes()} for a in articles]
    return pa.Table.from_pylist(rows, schema=ARTICLE_KEYS)


def test_article_fields_keep_the_first_ingest_time_of_unchanged_files():
    good, edited = ingest.build_article(GOOD), ingest.build_article(_inp("c.txt", GOOD.data + b"\nA new paragraph.\n"))
    first = ingest.article_fields(_keys([good]), {}, NOW)
    seen = {("a.txt", GOOD.sha256): first[good["article_id"]][1]}
    again = ingest.article_fields(_keys([good, edited]), seen, LATER)
    assert again[good["article_id"]][1] == NOW and again[edited["article_id"]][1] == LATER


def test_article_fields_mark_copies_in_another_file():
    copy, good = ingest.build_article(_inp("z-copy.txt", GOOD.data)), ingest.build_article(GOOD)
    fields = ingest.article_fields(_keys([copy, good]), {}, NOW)
    assert fields[good["article_id"]][0] is None
    assert fields[copy["article_id"]][0] == good["article_id"]
    table = ingest.set_article_fields(pa.Table.from_pylist([copy, good], schema=schemas.ARTICLES), fields)
    assert table.schema == schemas.ARTICLES
    assert table["duplicate_of"].to_pylist() == [good["article_id"], None]
    assert table["ingested_at"].to_pylist() == [NOW, NOW]


def test_rejects_table_has_the_schema():
    table = ingest.finalize_rejects([{"source_file": "x", "reason": "empty file", "file_sha256": None}], None, NOW)
    assert table.schema == schemas.REJECTS and table.num_rows == 1
    assert isinstance(table, pa.Table)
