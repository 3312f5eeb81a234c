"""The ingest stage: input files to rows of the ``articles`` table (read, clean, de-duplicate).

Pure functions over bytes and records; the flow does the I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any

import pyarrow as pa

from pipeline import dedup, schemas
from pipeline.clean import clean_text, load_rules
from pipeline.errors import RejectedInput
from pipeline.ids import fingerprint, stable_id
from pipeline.io import InputFile
from pipeline.read import read_article

_WORDS = re.compile(r"\S+")


@functools.cache
def rules_version() -> str:
    """What made an article's rows: the release and the content fingerprint of the code, rules, gazetteer
    and row-shaping libraries (:func:`pipeline.ids.fingerprint`), as ``0.6.0+<16 hex digits>``.

    Rows made under another version are not reused by an incremental run.
    """
    from pipeline import __version__

    return f"{__version__}+{fingerprint()[:16]}"


def article_id(source_file: str, content_hash: str) -> str:
    """Stable id of one file's content: the same file with the same text keeps its id."""
    return stable_id(source_file, content_hash)


def build_article(inp: InputFile) -> dict[str, Any]:
    """One article row (without ``duplicate_of`` and ``ingested_at``); raises RejectedInput."""
    raw = read_article(inp.name, inp.data)
    rules = load_rules()
    cleaned = clean_text(raw.text, rules, raw.authors)
    if not cleaned.body:
        raise RejectedInput("no text left after removing boilerplate")
    outlet = None
    if raw.outlet:  # page metadata: map a known outlet's alias to its name, else keep as given
        outlet = rules.outlet_by_alias.get(raw.outlet.casefold(), raw.outlet)
    chash = dedup.content_hash(cleaned.body)
    return {
        "article_id": article_id(inp.name, chash),
        "source_file": inp.name,
        "source_format": raw.source_format,
        "encoding": raw.encoding,
        "outlet": outlet or cleaned.outlet,
        "title": raw.title,
        "authors": list(dict.fromkeys([*raw.authors, *cleaned.authors])),
        "published": raw.published,
        "url": raw.url,
        "body": cleaned.body,
        "word_count": len(_WORDS.findall(cleaned.body)),
        "content_hash": chash,
        "file_sha256": inp.sha256,
        "warnings": raw.warnings,
        "pipeline_version": rules_version(),
    }


def article_fields(
    keys: pa.Table, seen: dict[tuple[str, str | None], dt.datetime], now: dt.datetime
) -> dict[str, tuple[str | None, dt.datetime]]:
    """``duplicate_of`` and ``ingested_at`` of every article, from the corpus-wide keys (``batch.ARTICLE_KEYS``).

    A file ingested before with the same content keeps its first ingest time.
    """
    cols = keys.to_pydict()
    duplicate_of = dedup.find_duplicates(
        cols["article_id"],
        cols["content_hash"],
        cols["signature"],
        [(p or dt.date.max, f) for p, f in zip(cols["published"], cols["source_file"], strict=True)],
    )
    files = zip(cols["source_file"], cols["file_sha256"], strict=True)
    return {aid: (dup, seen.get(f, now)) for aid, f, dup in zip(cols["article_id"], files, duplicate_of, strict=True)}


def set_article_fields(articles: pa.Table, fields: dict[str, tuple[str | None, dt.datetime]]) -> pa.Table:
    """``articles`` rows with their ``duplicate_of`` and ``ingested_at`` from :func:`article_fields`."""
    values = [fields[a] for a in articles["article_id"].to_pylist()]
    schema = schemas.ARTICLES
    for name, i in (("duplicate_of", 0), ("ingested_at", 1)):
        column = pa.array([v[i] for v in values], type=schema.field(name).type)
        articles = articles.set_column(articles.schema.get_field_index(name), schema.field(name), column)
    return articles


def finalize_rejects(rows: list[dict[str, Any]], previous: pa.Table | None, now: dt.datetime) -> pa.Table:
    """The ``rejects`` table of this run, with first-seen times kept for files that did not change."""
    seen = first_seen(previous, "seen_at")
    rows = sorted(rows, key=lambda r: r["source_file"])
    for row in rows:
        row["seen_at"] = seen.get((row["source_file"], row["file_sha256"]), now)
    return pa.Table.from_pylist(rows, schema=schemas.REJECTS)


def first_seen(previous: pa.Table | None, column: str) -> dict[tuple[str, str | None], dt.datetime]:
    if previous is None or previous.num_rows == 0:
        return {}
    cols = previous.select(["source_file", "file_sha256", column]).to_pydict()
    return {(s, h): t for s, h, t in zip(cols["source_file"], cols["file_sha256"], cols[column], strict=True)}
