"""What a run must do, decided from the last committed run and the files now present.

Pure functions over Arrow tables and plain values (plus reads of committed
datasets): which files can be carried over unchanged, which articles are
duplicates, which month partitions change, and how a changed month's rows are
merged from this run's rows and the kept ones. The flow only calls these in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import batch, dedup, ingest, io, reconcile, schemas, tag

#: Columns of the last run's articles a run needs (no bodies).
PREVIOUS_COLUMNS = schemas.ARTICLE_STATE_COLUMNS


@dataclass
class Previous:
    """What the last run left: its articles' keys, which of them can be reused, first-ingest times."""

    keys: pa.Table  # PREVIOUS_COLUMNS of every article of the last run
    reusable: dict[tuple[str, str], int]  # (file, sha256) -> row in keys, made by the current rules
    seen: dict[tuple[str, str | None], dt.datetime]
    folder: Path | None  # the datasets the keys come from

    @property
    def articles(self) -> int:
        return int(self.keys.num_rows)


def load_previous(folder: Path | None, version: str, reuse: bool) -> Previous:
    """The last run's article keys from ``folder``; with ``reuse``, the rows the same rules made are reusable."""
    previous = io.read_dataset(folder, "articles", schemas.ARTICLES, PREVIOUS_COLUMNS) if folder else None
    if previous is None:  # no last run, or its articles cannot be read: nothing of it can be trusted
        previous, folder = schemas.ARTICLES.empty_table().select(PREVIOUS_COLUMNS), None
    reusable: dict[tuple[str, str], int] = {}
    if reuse:
        cols = previous.select(["source_file", "file_sha256", "pipeline_version"]).to_pydict()
        rows = zip(cols["source_file"], cols["file_sha256"], cols["pipeline_version"], strict=True)
        reusable = {(f, sha): i for i, (f, sha, v) in enumerate(rows) if v == version}
    return Previous(previous, reusable, ingest.first_seen(previous, "ingested_at"), folder)


def split_by_reuse(
    listing: io.Listing, hashes: dict[str, str | None], previous: Previous
) -> tuple[list[int], list[str], int]:
    """Rows of ``previous.keys`` to carry over, the files (as listed) to read again, and how many of the rows
    carried over are held by what could not be read.

    A file is carried over when its content is what the current rules last read. So are the articles of
    files and folders that could not be read this time (``listing.unreadable``, or a file whose hash is
    None: a permission changed, a disk error): their rows are kept as they were rather than deleted.
    """
    keep: set[int] = set()
    todo: list[str] = []
    for raw in listing.files:
        name, sha = io.safe_name(raw), hashes.get(raw)
        if sha is not None and (name, sha) in previous.reusable:
            keep.add(previous.reusable[(name, sha)])
        elif raw in hashes and sha is None:
            listing.unreadable.add(name)
        else:
            todo.append(raw)
    files = previous.keys["source_file"].to_pylist() if listing.unreadable else []
    held = [i for i, f in enumerate(files) if listing.holds(f)]
    keep.update(held)
    return sorted(keep), todo, len(held)


def deduplicate(
    previous: Previous,
    kept: pa.Table,
    new_keys: list[pa.Table],
    signatures: dict[str, bytes],
    now: dt.datetime,
    version: str,
) -> tuple[pa.Table, dict[str, tuple[str | None, dt.datetime]], set[str | None], dict[str, bytes]]:
    """Every current article's keys, its ``duplicate_of`` and ``ingested_at``, the months to rewrite, and the
    MinHash signatures of every current article (``signatures`` is the cache of earlier runs)."""
    kept_keys = kept.select(list(schemas.ARTICLE_KEY_COLUMNS))
    kept_keys = kept_keys.append_column(
        "signature", pa.array([signatures.get(h) for h in kept["content_hash"].to_pylist()], pa.binary())
    )
    keys = pa.concat_tables([*new_keys, fill_signatures(kept_keys, previous.folder).cast(batch.ARTICLE_KEYS)])
    fields = ingest.article_fields(keys, previous.seen, now)
    current = dict(zip(keys["content_hash"].to_pylist(), keys["signature"].to_pylist(), strict=True))
    return keys, fields, touched_months(previous.keys, kept, keys, fields, version), current


def unchanged_fields(kept: pa.Table) -> dict[str, tuple[str | None, dt.datetime]]:
    """``duplicate_of`` and ``ingested_at`` as they were, for a run where no article changed."""
    columns = (kept[c].to_pylist() for c in ("article_id", "duplicate_of", "ingested_at"))
    return {a: (d, t) for a, d, t in zip(*columns, strict=True)}


def fill_signatures(keys: pa.Table, folder: Path | None) -> pa.Table:
    """Signatures missing from the cache (it was lost) computed again from the bodies in ``folder``."""
    missing = pc.is_null(keys["signature"])
    if not pc.any(missing).as_py():
        return keys
    bodies = io.read_dataset(folder, "articles", schemas.ARTICLES, ["article_id", "body"]) if folder else None
    if bodies is None:
        raise io.PipelineError("the MinHash cache is incomplete and the last run's articles cannot be read")
    bodies = bodies.filter(pc.is_in(bodies["article_id"], value_set=keys.filter(missing)["article_id"]))
    by_id = dict(zip(bodies["article_id"].to_pylist(), bodies["body"].to_pylist(), strict=True))
    sigs = [
        s if s is not None else dedup.minhash(by_id[a]).tobytes()
        for a, s in zip(keys["article_id"].to_pylist(), keys["signature"].to_pylist(), strict=True)
    ]
    return keys.set_column(keys.schema.get_field_index("signature"), "signature", pa.array(sigs, pa.binary()))


def touched_months(
    previous: pa.Table,
    kept: pa.Table,
    keys: pa.Table,
    fields: dict[str, tuple[str | None, dt.datetime]],
    version: str | None = None,
) -> set[str | None]:
    """Months whose partitions change: those of new, changed or removed articles, of kept articles whose
    duplicate flag changed (a new article may be the earlier copy of an old one), and of kept articles
    another ``version`` made (rows kept because their file could not be read): rewritten to this
    version's columns."""
    kept_ids = set(kept["article_id"].to_pylist())
    months = {
        schemas.month_of(p)
        for a, p in zip(keys["article_id"].to_pylist(), keys["published"].to_pylist(), strict=True)
        if a not in kept_ids
    }
    prev = previous.select(["article_id", "published", "duplicate_of", "pipeline_version"]).to_pydict()
    rows = zip(prev["article_id"], prev["published"], prev["duplicate_of"], prev["pipeline_version"], strict=True)
    for aid, published, dup, made_by in rows:
        if aid not in kept_ids or fields[aid][0] != dup or (version is not None and made_by != version):
            months.add(schemas.month_of(published))
    return months


def in_row_order(table: str, data: pa.Table) -> pa.Table:
    """Rows in the table's documented order, so a run writes the same files however it got there."""
    return data.sort_by([(key, "ascending") for key in schemas.SORT_KEYS[table]])


def merge_month(
    table: str,
    staged: pa.Table,
    old_partition: Path | None,
    keep: pa.Array,
    fields: dict[str, tuple[str | None, dt.datetime]],
) -> pa.Table:
    """One month of ``table``: this run's rows plus the rows of the kept articles in the old partition."""
    schema = schemas.TABLES[table]
    parts = [staged]
    if old_partition is not None:
        previous = io.read_partition(old_partition, schema)
        kept = previous.filter(pc.is_in(previous["article_id"], value_set=keep))
        parts.append(kept.cast(staged.schema))  # staged rows are read with every column nullable
    data = pa.concat_tables(parts)
    if table == "articles":
        data = ingest.set_article_fields(data, fields)
    elif "duplicate_of" in schema.names:  # the article's flag, on every claim: originals are easy to keep
        dup = pa.array([fields[a][0] for a in data["article_id"].to_pylist()], schema.field("duplicate_of").type)
        data = data.set_column(data.schema.get_field_index("duplicate_of"), schema.field("duplicate_of"), dup)
    return in_row_order(table, data)


def entities(folder: Path) -> pa.Table:
    """The ``entities`` table, from the mentions in ``folder``."""
    return tag.build_entities_from(
        io.read_partition(part, schemas.MENTIONS, tag.ENTITY_SOURCE_COLUMNS)
        for part in io.partitions(folder / "mentions").values()
    )


def events(folder: Path) -> pa.Table:
    """The ``events`` table, from the strikes and talks of every article in ``folder``.

    Only the rows reconciliation uses become Python objects: claims of original articles (not
    republished copies) that name a place and a date, and reports of meetings that name a venue.
    """
    columns = ["article_id", "outlet", "published", "duplicate_of"]
    articles = io.read_dataset(folder, "articles", schemas.ARTICLES, columns=columns)
    if articles is None:
        return schemas.EVENTS.empty_table()
    originals = articles.filter(pc.is_null(articles["duplicate_of"]))["article_id"]

    def claims(table: str, names: list[str], needed: list[str]) -> pa.Table:
        data = io.read_dataset(folder, table, schemas.TABLES[table], columns=names)
        if data is None:
            return schemas.TABLES[table].empty_table().select(names)
        keep = pc.is_in(data["article_id"], value_set=originals.combine_chunks())
        for name in needed:
            keep = pc.and_(keep, pc.is_valid(data[name]))
        return data.filter(keep)

    strikes = claims("strikes", reconcile.STRIKE_COLUMNS, ["place", "date"]).sort_by("place")
    talks = claims("talks", reconcile.TALK_COLUMNS, ["venue"]).sort_by("venue")
    ids = articles["article_id"].to_pylist()
    return reconcile.events_table(
        parts_by(strikes, "place", 20000),
        parts_by(talks, "venue", 20000),
        set(originals.to_pylist()),
        dict(zip(ids, articles["outlet"].to_pylist(), strict=True)),
        dict(zip(ids, articles["published"].to_pylist(), strict=True)),
    )


def parts_by(table: pa.Table, column: str, rows: int) -> Iterator[list[dict[str, Any]]]:
    """Rows of ``table`` (sorted by ``column``) in parts of about ``rows``, never splitting a value's rows."""
    values = table[column].to_pylist()
    start = 0
    while start < len(values):
        stop = min(start + rows, len(values))
        while stop < len(values) and values[stop] == values[stop - 1]:
            stop += 1
        yield table.slice(start, stop - start).to_pylist()
        start = stop
