"""What a run must do, decided from the last committed run and the files now present.

Pure functions over Arrow tables and plain values (plus reads of committed
datasets): which files can be carried over unchanged, which articles are
duplicates, which month partitions change, and how a changed month's rows are
merged from this run's rows and the kept ones. The flow only calls these in order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import batch, corrections, dedup, ingest, io, reconcile, schemas
from pipeline.entities import ENTITY_SOURCE_COLUMNS, build_entities_from
from pipeline.errors import RejectedInput, UnreadableInput

Row = dict[str, Any]

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


def hash_inputs(seeds_dir: Path, names: list[str], max_bytes: int) -> tuple[dict[str, str | None], list[Row]]:
    """The content hash of every input file that can be read (None when it cannot: its rows are kept), and a
    reject row for each file that could not be read. Files rejected for other reasons are left to their batch.
    (Threads were measured here: at a few KiB a file the work is the interpreter's, and 4 threads took 2.7
    times as long.)"""
    hashes: dict[str, str | None] = {}
    rejects: list[Row] = []
    for name in names:
        try:
            hashes[name] = io.read_input(seeds_dir, name, max_bytes).sha256
        except UnreadableInput as exc:
            hashes[name] = None
            rejects.append(batch.reject_row(io.safe_name(name), exc.reason, exc.kind, "read", None))
        except RejectedInput:
            pass
    return hashes, rejects


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
    book: corrections.Book | None = None,
) -> pa.Table:
    """One month of ``table``: this run's rows plus the rows of the kept articles in the old partition, with
    the corrections of ``book`` applied to the machine's values."""
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
    if table in corrections.ROW_TABLES:
        data = corrections.apply(table, data, book or corrections.Book())
    return in_row_order(table, data)


def correction_months(
    base: Path | None, keys: pa.Table, book: corrections.Book, base_key: str | None
) -> set[str | None]:
    """Months to rewrite because the corrections changed since the run of ``base`` (whose corrections had
    ``base_key``): those of the rows that run corrected and of the rows ``book`` names. None of them when
    the corrections are the same; every month when what the last run corrected cannot be read."""
    if base is None or (base_key or "") == book.key:
        return set()
    published = dict(zip(keys["article_id"].to_pylist(), keys["published"].to_pylist(), strict=True))
    every = {schemas.month_of(p) for p in published.values()}
    applied = io.read_dataset(base, "corrections_applied", schemas.CORRECTIONS_APPLIED, ["article_id"])
    if applied is None and base_key:
        return every
    articles = set(applied["article_id"].drop_null().to_pylist()) if applied is not None else set()
    articles |= book.targets("articles")
    for table in ("strikes", "talks", "quotes"):
        wanted = book.targets(table)
        if not wanted:
            continue
        id_column = corrections.ID_COLUMN[table]
        found = io.read_dataset(base, table, schemas.TABLES[table], [id_column, "article_id"])
        if found is None:
            return every
        found = found.filter(pc.is_in(found[id_column], value_set=pa.array(sorted(wanted), pa.string())))
        articles |= set(found["article_id"].to_pylist())
    return {schemas.month_of(published[a]) for a in articles if a in published}


def entities(folder: Path) -> pa.Table:
    """The ``entities`` table, from the mentions in ``folder``."""
    return build_entities_from(
        io.read_partition(part, schemas.MENTIONS, ENTITY_SOURCE_COLUMNS)
        for part in io.partitions(folder / "mentions").values()
    )


def events(folder: Path, book: corrections.Book | None = None, run_id: str = "") -> tuple[pa.Table, list[Row]]:
    """The ``events`` table, from the strikes and talks of every article in ``folder``, with the links and
    event corrections of ``book`` applied; and the rows of ``corrections_applied`` those make.

    Only the rows reconciliation uses become Python objects: claims of original articles (not
    republished copies) that name a place and a date, and reports of meetings that name a venue; claims
    a correction rejected are left out. An event lists the corrections of its claims.
    """
    book = book or corrections.Book()
    columns = ["article_id", "outlet", "published", "duplicate_of"]
    articles = io.read_dataset(folder, "articles", schemas.ARTICLES, columns=columns)
    if articles is None:
        return schemas.EVENTS.empty_table(), []
    originals = articles.filter(pc.is_null(articles["duplicate_of"]))["article_id"]

    def claims(table: str, names: list[str]) -> pa.Table:
        data = io.read_dataset(folder, table, schemas.TABLES[table], columns=[*names, "rejected"])
        if data is None:
            return schemas.TABLES[table].empty_table().select(names)
        keep = pc.and_(pc.is_in(data["article_id"], value_set=originals.combine_chunks()), pc.invert(data["rejected"]))
        return data.filter(keep).select(names)

    strikes = claims("strikes", reconcile.STRIKE_COLUMNS)
    talks = claims("talks", reconcile.TALK_COLUMNS)
    ids = articles["article_id"].to_pylist()
    context = (
        set(originals.to_pylist()),
        dict(zip(ids, articles["outlet"].to_pylist(), strict=True)),
        dict(zip(ids, articles["published"].to_pylist(), strict=True)),
    )

    def reconciled(strikes: pa.Table, talks: pa.Table, apart: list[tuple[str, str]]) -> pa.Table:
        strikes, talks = _located(strikes, _STRIKE_KEY), _located(talks, _TALK_KEY)
        return reconcile.events_table(
            parts_by(strikes.sort_by("place"), "place", 20000),
            parts_by(talks.sort_by("venue"), "venue", 20000),
            *context,
            apart,
        )

    links = book.links()
    table = reconciled(strikes, talks, [])
    if not book.corrections:  # then no row is corrected either
        return table, []
    applied: list[Row] = []
    if links:
        before = _event_of(table)
        strikes = _joined(strikes, "strike_id", links, _STRIKE_KEY, ("place", "date", *corrections.LOCATION["strikes"]))
        talks = _joined(talks, "talk_id", links, _TALK_KEY, ("venue", "country", "start_date", "end_date"))
        apart = [(c.target_id, str(c.other)) for c in links if c.action == "different_event"]
        table = reconciled(strikes, talks, apart)
        after = _event_of(table)
        for c in links:
            if c.target_id in after and c.other in after:  # both claims are reconciled: the link applies
                applied += corrections.link_rows(c, c.table, before, after, run_id)
    rows = table.to_pylist()
    of_claims = _claim_corrections(folder)
    for c in links:
        of_claims.setdefault(c.target_id, set()).add(c.correction_id)
        if c.other:
            of_claims.setdefault(c.other, set()).add(c.correction_id)
    for event in rows:
        ids = {i for claim in event["claim_ids"] for i in of_claims.get(claim, ())}
        if ids:
            event["correction_ids"], event["corrected"], event["confirmed"] = sorted(ids), True, True
    rows, changes = corrections.event_rows(rows, book, run_id)
    return pa.Table.from_pylist(rows, schema=schemas.EVENTS), applied + changes


#: What a claim needs to be reconciled: a strike its place and date, a report of a meeting its venue.
_STRIKE_KEY = ("place", "date")
_TALK_KEY = ("venue",)


def _located(claims: pa.Table, needed: tuple[str, ...]) -> pa.Table:
    """The claims that have every column of ``needed``."""
    keep = pc.is_valid(claims[needed[0]])
    for name in needed[1:]:
        keep = pc.and_(keep, pc.is_valid(claims[name]))
    return claims.filter(keep)


def _event_of(events: pa.Table) -> dict[str, str]:
    """The event each claim is in."""
    cols = events.select(["event_id", "claim_ids"]).to_pydict()
    return {c: e for e, claims in zip(cols["event_id"], cols["claim_ids"], strict=True) for c in claims}


def _joined(
    claims: pa.Table,
    id_column: str,
    links: list[corrections.Correction],
    needed: tuple[str, ...],
    columns: tuple[str, ...],
) -> pa.Table:
    """``claims`` with the claims an analyst put in the same event (``same_event``) taking the place and
    dates of the first claim of their chain that has them (``needed``), so that reconciliation groups them,
    a claim with no place included; for reconciliation only."""
    named = sorted({i for c in links for i in (c.target_id, c.other) if i})
    found = claims.filter(pc.is_in(claims[id_column], value_set=pa.array(named, pa.string())))
    located = set(_located(found, needed)[id_column].to_pylist())
    parent: dict[str, str] = {}

    def root(claim: str) -> str:
        while claim in parent:
            claim = parent[claim]
        return claim

    for c in links:
        if c.action == "same_event" and c.table == corrections.TARGETS[id_column] and c.other:
            a, b = root(c.target_id), root(c.other)
            if a != b:  # the chain takes the first claim's place and dates, or the second's when it has none
                if a not in located and b in located:
                    a, b = b, a
                parent[b] = a
    if not parent:
        return claims
    moved = pc.is_in(claims[id_column], value_set=pa.array(sorted(parent), pa.string()))
    like = {r[id_column]: r for r in found.to_pylist()}  # every root is a claim some link names
    rows = claims.filter(moved).to_pylist()
    for row in rows:
        anchor = like.get(root(row[id_column]))
        if anchor is not None:
            row.update({k: anchor[k] for k in columns})
    return pa.concat_tables([claims.filter(pc.invert(moved)), pa.Table.from_pylist(rows, schema=claims.schema)])


def _corrected_rows(folder: Path, table: str, columns: list[str]) -> pa.Table | None:
    """The rows of ``table`` in ``folder`` that corrections changed (or None when the table is not there)."""
    return io.read_dataset(folder, table, schemas.TABLES[table], columns, where=pc.field("corrected"))


def _claim_corrections(folder: Path) -> dict[str, set[str]]:
    """The corrections of each corrected strike and talks claim in ``folder``."""
    out: dict[str, set[str]] = {}
    for table in ("strikes", "talks"):
        id_column = corrections.ID_COLUMN[table]
        rows = _corrected_rows(folder, table, [id_column, "corrections"])
        for claim, changes in zip(*(rows[c].to_pylist() for c in rows.column_names), strict=True) if rows else ():
            out.setdefault(claim, set()).update(ch["correction_id"] for ch in changes)
    return out


def corrections_applied(folder: Path, book: corrections.Book, run_id: str, extra: list[Row]) -> pa.Table:
    """The ``corrections_applied`` table: every change corrections made to the rows in ``folder``, and
    ``extra`` (those of events and links, from :func:`events`)."""
    rows: list[Row] = []
    for table in corrections.ROW_TABLES:
        id_column = corrections.ID_COLUMN[table]
        found = _corrected_rows(folder, table, [id_column, "article_id", "corrections"])
        if found is not None:
            rows += corrections.applied_rows(table, found.to_pylist(), book, run_id)
    rows += extra
    return in_row_order("corrections_applied", pa.Table.from_pylist(rows, schema=schemas.CORRECTIONS_APPLIED))


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


def run_row(
    run_id: str,
    flow_run_id: str | None,
    started: dt.datetime,
    version: str,
    seeds: str,
    previous_files: dict[str, str | None],
    current_files: dict[str, str | None],
    files_read: int,
    rejected: int,
    rows: dict[str, int],
    book: corrections.Book,
    applied: int,
    unmatched: list[str],
) -> Row:
    """The run log's row for one run. ``previous_files`` and ``current_files`` map each file of the last run
    and of this one (ingested or rejected) to its content hash."""
    digest = hashlib.sha256()
    for name in sorted(current_files):
        digest.update(f"{name}\0{current_files[name] or ''}\n".encode())
    return {
        "run_id": run_id,
        "flow_run_id": flow_run_id,
        "started_at": started,
        "ended_at": dt.datetime.now(dt.UTC),
        "pipeline_version": version,
        "seeds": seeds,
        "inputs_sha256": digest.hexdigest(),
        "files_read": files_read,
        "files_new": sum(1 for f in current_files if f not in previous_files),
        "files_changed": sum(1 for f, h in current_files.items() if f in previous_files and previous_files[f] != h),
        "files_removed": sum(1 for f in previous_files if f not in current_files),
        "files_rejected": rejected,
        "rows": [{"table": t, "rows": n} for t, n in rows.items()],
        "corrections_file": book.path,
        "corrections_sha256": book.sha256,
        "corrections_applied": applied,
        "corrections_unmatched": unmatched,
        "corrections_invalid": len(book.problems),
    }


def files_of(*tables: pa.Table | None) -> dict[str, str | None]:
    """Each file of ``tables`` (articles' keys, rejects) and its content hash; a later table's entry wins."""
    out: dict[str, str | None] = {}
    for table in tables:
        if table is not None:
            out.update(zip(table["source_file"].to_pylist(), table["file_sha256"].to_pylist(), strict=True))
    return out


def append_run(previous: pa.Table | None, run: Row) -> pa.Table:
    """The run log with ``run`` added after the runs before it."""
    row = pa.Table.from_pylist([run], schema=schemas.RUNS)
    return pa.concat_tables([previous.cast(schemas.RUNS), row]) if previous is not None else row
