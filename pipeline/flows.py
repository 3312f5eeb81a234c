"""Prefect wiring: the flow calls the stages in order; every task is a thin wrapper.

Work is batched: one task per batch of files, never one per article (each task
run costs the API server a database write), run in worker processes, with the
rows coming back as files and sorted into month partitions as they arrive.
Tasks do not cache: incremental runs skip unchanged files by content hash, and
rewrite only the month partitions that change.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from pipeline import batch, dedup, ingest, io, reconcile, schemas, tag
from pipeline.errors import PipelineError, RejectedInput
from pipeline.read import DEFAULT_MAX_BYTES

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 250


@dataclass
class RunSummary:
    """What one run did; printed at the end of ``python -m pipeline run``."""

    files: int = 0
    articles: int = 0
    rejected: int = 0
    duplicates: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    rejects: list[tuple[str, str]] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)
    reused: int = 0  # articles whose file had not changed since the last run

    def lines(self) -> list[str]:
        total = sum(self.stage_seconds.values())
        out = [
            f"files read: {self.files}",
            f"articles: {self.articles} ({self.duplicates} duplicates, {self.reused} unchanged and reused)",
            f"rejected: {self.rejected}",
        ]
        out += [f"  {name}: {reason}" for name, reason in self.rejects]
        out.append("rows written: " + ", ".join(f"{t} {n}" for t, n in self.rows_written.items()))
        if self.reports:
            out.append("reports: " + ", ".join(self.reports))
        out.append(
            "stage times: "
            + ", ".join(f"{s} {sec:.2f}s" for s, sec in self.stage_seconds.items())
            + f" (total {total:.2f}s)"
        )
        return out


@contextmanager
def _stage(summary: RunSummary, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    summary.stage_seconds[name] = summary.stage_seconds.get(name, 0.0) + time.perf_counter() - start


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_TRANSFORM = "read+clean+tag+extract"  # the stage that runs in batches, in parallel
_STAGING = ".staging"  # under the output folder: rows of this run not yet in their month partitions

T = TypeVar("T")


class Opaque(Generic[T]):
    """A task argument Prefect passes through as it is.

    Prefect walks every list, dict and dataclass given to a task, looking for futures; over a
    batch of articles that walk costs more than the work. Large arguments travel in this box.
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


@task(name="list-inputs", cache_policy=NO_CACHE)
def list_inputs(seeds_dir: Path) -> list[str]:
    return io.discover_inputs(seeds_dir)


@dataclass
class Previous:
    """What the last run left: its articles' keys, which of them can be reused, first-ingest times."""

    keys: pa.Table  # article_id, source_file, file_sha256, content_hash, published, pipeline_version, ...
    reusable: dict[tuple[str, str], int]  # (file, hash) -> row in keys, made by the current rules
    seen: dict[tuple[str, str | None], dt.datetime]


_PREVIOUS_COLUMNS = [
    "article_id",
    "source_file",
    "file_sha256",
    "content_hash",
    "published",
    "pipeline_version",
    "ingested_at",
    "duplicate_of",
]


@task(name="load-previous", cache_policy=NO_CACHE)
def load_previous(out_dir: Path, version: str, incremental: bool) -> Previous:
    """The keys of the last run's articles (no bodies): only rows the same rules made are reusable."""
    folder = io.dataset_dir(out_dir, "articles")
    previous = io.read_dataset_dir(folder, schemas.ARTICLES, columns=_PREVIOUS_COLUMNS)
    if previous is None:
        previous = schemas.ARTICLES.empty_table().select(_PREVIOUS_COLUMNS)
    cols = previous.select(["source_file", "file_sha256", "pipeline_version"]).to_pydict()
    reusable = {}
    if incremental:
        for i, (f, sha, v) in enumerate(
            zip(cols["source_file"], cols["file_sha256"], cols["pipeline_version"], strict=True)
        ):
            if v == version:
                reusable[(f, sha)] = i
    return Previous(previous, reusable, ingest.first_seen(previous, "ingested_at"))


@task(name="hash-inputs", cache_policy=NO_CACHE)
def hash_inputs(seeds_dir: Path, names: list[str], max_bytes: int) -> dict[str, str | None]:
    """The content hash of every input file (None when it cannot be read: its batch will say why)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = io.read_input(seeds_dir, name, max_bytes).sha256
        except RejectedInput:
            out[name] = None
    return out


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch(seeds_dir: Path, names: list[str], max_bytes: int, spool: Path) -> batch.BatchResult:
    """Read, clean, tag and extract one batch of files (in a worker process when there is a pool).

    The rows come back as files under ``spool`` (which every worker must see), not in the result."""
    return batch.run(seeds_dir, names, max_bytes, spool)


@task(name="render-report", cache_policy=NO_CACHE)
def render_report_task(kind: str, out_dir: Path) -> str:
    """Execute one report notebook and render it to HTML (the previous report stays if it fails)."""
    from pipeline.render import render_report

    rendered = render_report(kind, out_dir / "datasets", out_dir)
    return rendered.html


@task(name="write-dataset", cache_policy=NO_CACHE)
def write_table(out_dir: Path, table: str, data: pa.Table) -> int:
    return io.write_dataset(out_dir, table, _in_row_order(table, data), schemas.TABLES[table])


def _in_row_order(table: str, data: pa.Table) -> pa.Table:
    """Rows in the table's documented order, so a run writes the same files however it got there."""
    return data.sort_by([(key, "ascending") for key in schemas.SORT_KEYS[table]])


@task(name="write-partitioned-dataset", cache_policy=NO_CACHE)
def write_partitioned_table(
    out_dir: Path,
    table: str,
    staging: Opaque[io.Staging],
    touched: set[str | None],
    keep: Opaque[pa.Array],
    fields: Opaque[dict[str, tuple[str | None, dt.datetime]]],
) -> int:
    """Rewrite the touched months of one table: this run's new rows plus the kept rows of unchanged articles."""
    schema = schemas.TABLES[table]
    old = io.partitions(out_dir, table)

    def build(month: str | None) -> pa.Table:
        parts = [staging.value.read(table, month, schema)]
        if month in old:
            previous = io.read_partition(old[month], schema)
            kept = previous.filter(pc.is_in(previous["article_id"], value_set=keep.value))
            parts.append(kept.cast(parts[0].schema))  # staged rows are read with every column nullable
        data = pa.concat_tables(parts)
        if table == "articles":
            data = ingest.set_article_fields(data, fields.value)
        return _in_row_order(table, data)

    return io.write_partitioned(out_dir, table, schema, touched, build)


@task(name="build-entities", cache_policy=NO_CACHE)
def build_entities(out_dir: Path) -> pa.Table:
    return tag.build_entities_from(
        io.read_partition(folder, schemas.MENTIONS, tag.ENTITY_SOURCE_COLUMNS)
        for folder in io.partitions(out_dir, "mentions").values()
    )


@task(name="reconcile", cache_policy=NO_CACHE)
def reconcile_events(out_dir: Path) -> pa.Table:
    """The ``events`` table, from the strikes and talks of every article as now written.

    Only the rows reconciliation uses become Python objects: claims of original articles (not
    republished copies) that name a place and a date, and reports of meetings that name a venue.
    """
    columns = ["article_id", "outlet", "published", "duplicate_of"]
    articles = io.read_dataset(out_dir, "articles", schemas.ARTICLES, columns=columns)
    if articles is None:
        return schemas.EVENTS.empty_table()
    originals = articles.filter(pc.is_null(articles["duplicate_of"]))["article_id"]

    def claims(table: str, names: list[str], needed: list[str]) -> pa.Table:
        data = io.read_dataset(out_dir, table, schemas.TABLES[table], columns=names)
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
        _parts_by(strikes, "place", 20000),
        _parts_by(talks, "venue", 20000),
        set(originals.to_pylist()),
        dict(zip(ids, articles["outlet"].to_pylist(), strict=True)),
        dict(zip(ids, articles["published"].to_pylist(), strict=True)),
    )


def _parts_by(table: pa.Table, column: str, rows: int) -> Iterator[list[dict[str, Any]]]:
    """Rows of ``table`` (sorted by ``column``) in parts of about ``rows``, never splitting a value's rows."""
    values = table[column].to_pylist()
    start = 0
    while start < len(values):
        stop = min(start + rows, len(values))
        while stop < len(values) and values[stop] == values[stop - 1]:
            stop += 1
        yield table.slice(start, stop - start).to_pylist()
        start = stop


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: RunSummary, out_dir: Path) -> None:
    """A table of counts per stage, and links to the reports, on the flow run's page in the Prefect UI."""
    rows = [
        {"stage": "read", "count": summary.files, "seconds": round(summary.stage_seconds.get(_TRANSFORM, 0.0), 2)},
        {"stage": "rejected", "count": summary.rejected, "seconds": None},
        {"stage": "duplicates", "count": summary.duplicates, "seconds": None},
        {"stage": "unchanged, reused", "count": summary.reused, "seconds": None},
    ]
    for table in ("mentions", "strikes", "talks", "quotes", "events"):
        rows.append({"stage": table, "count": summary.rows_written.get(table, 0), "seconds": None})
    create_table_artifact(rows, key="pipeline-counts", description="Rows per stage of this run")
    if summary.reports:
        links = "\n".join(f"- [{Path(r).name}]({Path(r).resolve().as_uri()})" for r in summary.reports)
        index = (out_dir / "reports" / "index.html").resolve().as_uri()
        create_markdown_artifact(
            f"## Reports\n\n[index]({index})\n\n{links}\n", key="pipeline-reports", description="Rendered reports"
        )


@flow(name="news-pipeline")
def news_pipeline(
    seeds_dir: Path = Path("seeds"),
    out_dir: Path = Path("outputs"),
    reports: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    lock_timeout: float = 600.0,
    incremental: bool = True,
    processes: int | None = None,
) -> RunSummary:
    """Read, clean, tag and extract the articles in ``seeds_dir`` into datasets and reports under ``out_dir``.

    With ``incremental``, files unchanged since the last run (same content hash, same rules) are not read
    again: their rows are carried over. The batches run in ``processes`` worker processes (default: one per
    core; 1 runs them in the task threads, as under the Dask runner, whose workers are the processes).
    """
    workers = default_processes() if processes is None else processes
    with io.output_lock(out_dir, lock_timeout):
        try:
            summary = _pipeline(seeds_dir, out_dir, reports, batch_size, max_bytes, incremental, workers)
        finally:  # rows staged by a run that failed are of no use to the next one
            shutil.rmtree(out_dir / _STAGING, ignore_errors=True)
    publish_artifacts(summary, out_dir)
    return summary


def _pipeline(
    seeds_dir: Path, out_dir: Path, reports: bool, batch_size: int, max_bytes: int, incremental: bool, processes: int
) -> RunSummary:
    summary = RunSummary()
    now = dt.datetime.now(dt.UTC)
    version = ingest.rules_version()

    with _stage(summary, _TRANSFORM):
        names = list_inputs(seeds_dir)
        previous = load_previous(out_dir, version, incremental)
        hashes = hash_inputs(seeds_dir, names, max_bytes) if previous.reusable else {}
        unchanged = [
            previous.reusable[(n, h)] for n, h in hashes.items() if h is not None and (n, h) in previous.reusable
        ]
        todo = [n for n in names if hashes.get(n) is None or (n, hashes[n]) not in previous.reusable]
        batches = _batches(todo, batch_size)
        staging = io.Staging(out_dir / _STAGING)
        new_keys: list[pa.Table] = []
        rejects: list[dict[str, Any]] = []
        counts = dict.fromkeys(batch.ARTICLE_TABLES, 0)
        progress = _Progress(len(todo))
        with batch.worker_pool(min(processes, len(batches))):  # starting a worker costs ~2s: not for one batch
            calls = [(seeds_dir, b, max_bytes, staging.folder / "batches") for b in batches]
            for result in _in_order(process_batch, calls, 2 * processes + 2):
                result.unspool()
                for warning in result.warnings:
                    log.warning("%s", warning)
                for reject in result.rejects:
                    log.error("rejected %s: %s", reject["source_file"], reject["reason"])
                month_of = dict(
                    zip(
                        result.keys["article_id"].to_pylist(),
                        map(schemas.month_of, result.keys["published"].to_pylist()),
                        strict=True,
                    )
                )
                for table, data in result.tables.items():
                    staging.add(table, data, [month_of[a] for a in data["article_id"].to_pylist()])
                    counts[table] += data.num_rows
                new_keys.append(result.keys)
                rejects += result.rejects
                progress.advance(result.files, result.keys.num_rows, len(result.rejects))
    summary.files, summary.reused = len(names), len(unchanged)
    log.info(
        "read+clean+tag+extract: %d files -> %d new or changed articles, %d unchanged, %d rejected; %s (%.2fs)",
        len(names),
        counts["articles"],
        len(unchanged),
        len(rejects),
        ", ".join(f"{counts[t]} {t}" for t in batch.ARTICLE_TABLES[1:]),
        summary.stage_seconds[_TRANSFORM],
    )

    with _stage(summary, "dedup"):
        kept = previous.keys.take(pa.array(unchanged, pa.int64()))
        if not counts["articles"] and kept.num_rows == previous.keys.num_rows:
            # The same articles as last time: nothing to de-duplicate again, no month to rewrite.
            keys, touched = kept, set[str | None]()
            columns = (kept[c].to_pylist() for c in ("article_id", "duplicate_of", "ingested_at"))
            fields = {a: (d, t) for a, d, t in zip(*columns, strict=True)}
        else:
            keys, fields, touched = _deduplicate(out_dir, previous, kept, new_keys, now)
    return _finish(summary, out_dir, keys, kept, fields, touched, staging, rejects, now, reports)


def _deduplicate(
    out_dir: Path, previous: Previous, kept: pa.Table, new_keys: list[pa.Table], now: dt.datetime
) -> tuple[pa.Table, dict[str, tuple[str | None, dt.datetime]], set[str | None]]:
    """Every current article's keys, its ``duplicate_of`` and ``ingested_at``, and the months to rewrite."""
    signatures = io.read_signatures(out_dir)
    kept_keys = kept.select(["article_id", "source_file", "file_sha256", "content_hash", "published"])
    kept_keys = kept_keys.append_column(
        "signature", pa.array([signatures.get(h) for h in kept["content_hash"].to_pylist()], pa.binary())
    )
    keys = pa.concat_tables([*new_keys, _fill_signatures(kept_keys, out_dir).cast(batch.ARTICLE_KEYS)])
    fields = ingest.article_fields(keys, previous.seen, now)
    current = dict(zip(keys["content_hash"].to_pylist(), keys["signature"].to_pylist(), strict=True))
    if current.keys() != signatures.keys():
        io.write_signatures(out_dir, current)
    return keys, fields, _touched_months(previous.keys, kept, keys, fields)


def _finish(
    summary: RunSummary,
    out_dir: Path,
    keys: pa.Table,
    kept: pa.Table,
    fields: dict[str, tuple[str | None, dt.datetime]],
    touched: set[str | None],
    staging: io.Staging,
    rejects: list[dict[str, Any]],
    now: dt.datetime,
    reports: bool,
) -> RunSummary:
    """Write the touched months, then the tables built from every article (when anything changed).

    ``keys`` are every current article's, ``kept`` the previous run's articles carried over."""
    summary.articles = keys.num_rows
    summary.duplicates = sum(1 for dup, _ in fields.values() if dup is not None)
    log.info(
        "dedup: %d articles, %d duplicates; %d of %d months to rewrite (%.2fs)",
        summary.articles,
        summary.duplicates,
        len(touched),
        len({schemas.month_of(p) for p in keys["published"].to_pylist()} | touched),
        summary.stage_seconds["dedup"],
    )

    with _stage(summary, "write"):
        keep = kept["article_id"].combine_chunks() if kept.num_rows else pa.array([], pa.string())
        try:
            for table in batch.ARTICLE_TABLES:
                summary.rows_written[table] = write_partitioned_table(
                    out_dir, table, Opaque(staging), touched, Opaque(keep), Opaque(fields)
                )
        finally:
            staging.close()
            pa.default_memory_pool().release_unused()  # the month tables are written: give their memory back
        rejects_table = ingest.finalize_rejects(rejects, io.read_dataset(out_dir, "rejects", schemas.REJECTS), now)
        summary.rows_written["rejects"] = write_table(out_dir, "rejects", rejects_table)
        rebuild = (
            bool(touched) or io.dataset_rows(out_dir, "entities") is None or io.dataset_rows(out_dir, "events") is None
        )
        if rebuild:
            summary.rows_written["entities"] = write_table(out_dir, "entities", build_entities(out_dir))
        else:  # no month changed: the entities and events are those already written
            summary.rows_written["entities"] = io.dataset_rows(out_dir, "entities") or 0
    summary.rejected = rejects_table.num_rows
    summary.rejects = list(
        zip(rejects_table["source_file"].to_pylist(), rejects_table["reason"].to_pylist(), strict=True)
    )

    with _stage(summary, "reconcile"):
        if rebuild:
            summary.rows_written["events"] = write_table(out_dir, "events", reconcile_events(out_dir))
        else:
            summary.rows_written["events"] = io.dataset_rows(out_dir, "events") or 0
    log.info("reconcile: %d events (%.2fs)", summary.rows_written["events"], summary.stage_seconds["reconcile"])
    summary.rows_written = {t: summary.rows_written[t] for t in schemas.TABLES}
    log.info(
        "write: %s (%.2fs)",
        ", ".join(f"{t} {n} rows" for t, n in summary.rows_written.items()),
        summary.stage_seconds["write"],
    )

    if reports:
        with _stage(summary, "reports"):
            for kind in ("talks", "strikes"):
                summary.reports.append(str(out_dir / "reports" / render_report_task(kind, out_dir)))
        log.info("reports: %s (%.2fs)", ", ".join(summary.reports), summary.stage_seconds["reports"])
    return summary


def _in_order(work: Any, calls: list[tuple[Any, ...]], window: int) -> Iterator[Any]:
    """Results of ``work.submit(*args)`` for each of ``calls``, in order, with at most ``window`` submitted
    and not yet consumed: results of finished batches are not all held until the end."""
    pending: deque[Any] = deque()
    calls_left = deque(calls)
    while calls_left or pending:
        while calls_left and len(pending) < window:
            pending.append(work.submit(*calls_left.popleft()))
        yield pending.popleft().result()


class _Progress:
    """A log line as batches finish: at most every 10 seconds, and at the end."""

    def __init__(self, total: int, every: float = 10.0) -> None:
        self.total, self.every = total, every
        self.files = self.articles = self.rejected = 0
        self.start = self.last = time.perf_counter()

    def advance(self, files: int, articles: int, rejected: int) -> None:
        self.files += files
        self.articles += articles
        self.rejected += rejected
        now = time.perf_counter()
        if now - self.last >= self.every or self.files == self.total:
            self.last = now
            rate = self.files / max(now - self.start, 1e-9)
            log.info(
                "progress: %d/%d files (%.0f%%), %d new articles, %d rejected, %.0f files/s",
                self.files,
                self.total,
                100 * self.files / max(self.total, 1),
                self.articles,
                self.rejected,
                rate,
            )


def _fill_signatures(keys: pa.Table, out_dir: Path) -> pa.Table:
    """Signatures missing from the cache (it was deleted) computed again from the written bodies."""
    missing = pc.is_null(keys["signature"])
    if not pc.any(missing).as_py():
        return keys
    ids = keys.filter(missing)["article_id"]
    bodies = io.read_dataset(out_dir, "articles", schemas.ARTICLES, columns=["article_id", "body"])
    assert bodies is not None
    bodies = bodies.filter(pc.is_in(bodies["article_id"], value_set=ids))
    by_id = dict(zip(bodies["article_id"].to_pylist(), bodies["body"].to_pylist(), strict=True))
    sigs = [
        s if s is not None else dedup.minhash(by_id[a]).tobytes()
        for a, s in zip(keys["article_id"].to_pylist(), keys["signature"].to_pylist(), strict=True)
    ]
    return keys.set_column(keys.schema.get_field_index("signature"), "signature", pa.array(sigs, pa.binary()))


def _touched_months(
    previous: pa.Table, kept: pa.Table, keys: pa.Table, fields: dict[str, tuple[str | None, dt.datetime]]
) -> set[str | None]:
    """Months whose partitions change: those of new, changed or removed articles, and of kept articles
    whose duplicate flag changed (a new article may be the earlier copy of an old one)."""
    kept_ids = set(kept["article_id"].to_pylist())
    months = {
        schemas.month_of(p)
        for a, p in zip(keys["article_id"].to_pylist(), keys["published"].to_pylist(), strict=True)
        if a not in kept_ids
    }
    prev = previous.select(["article_id", "published", "duplicate_of"]).to_pydict()
    for aid, published, dup in zip(prev["article_id"], prev["published"], prev["duplicate_of"], strict=True):
        if aid not in kept_ids or fields[aid][0] != dup:
            months.add(schemas.month_of(published))
    return months


def default_processes() -> int:
    """Worker processes for the thread runner: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_flow(runner: str = "threads", dask_address: str | None = None, **params: Any) -> RunSummary:
    """Run the flow with the chosen task runner: ``threads`` (in-process, batches in worker processes)
    or ``dask`` (a cluster; its workers run the batches)."""
    if runner == "dask":
        from prefect_dask import DaskTaskRunner

        task_runner = (
            DaskTaskRunner(address=dask_address)
            if dask_address
            else DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})
        )
        params["processes"] = 1
        summary: RunSummary = news_pipeline.with_options(task_runner=task_runner)(**params)  # type: ignore[arg-type]
        return summary
    if runner != "threads":
        raise PipelineError(f"unknown runner {runner!r}: choose threads or dask")
    summary = news_pipeline(**params)
    return summary
