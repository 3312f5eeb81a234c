"""Prefect wiring: the flow calls the stages in order; every task is a thin wrapper (the decisions are
in :mod:`pipeline.plan`, the file handling in :mod:`pipeline.io`).

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
import resource
import shutil
import time
from collections import deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import pyarrow as pa
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from pipeline import apiserver, batch, budget, corrections, ingest, io, plan, schemas
from pipeline.apiserver import TemporaryServer
from pipeline.arguments import DEFAULT_BATCH_SIZE, DEFAULT_SNAPSHOTS, check_arguments, check_parameters, with_defaults
from pipeline.errors import PipelineError
from pipeline.read import DEFAULT_MAX_BYTES

Row = dict[str, Any]
T = TypeVar("T")


def _as_is(value: T) -> T:
    """A task argument Prefect passes through without walking it for futures (over a batch of articles
    that walk costs more than the work): Prefect's ``quote``, typed as the value it carries."""
    return cast(T, quote(value))


log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What one run did; printed at the end of ``python -m pipeline run``."""

    files: int = 0
    articles: int = 0
    rejected: int = 0
    duplicates: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_peak_mb: dict[str, float] = field(default_factory=dict)  # this process's peak memory when each ended
    rejects: list[tuple[str, str, str]] = field(default_factory=list)  # (file, kind, reason)
    reports: list[str] = field(default_factory=list)
    reports_reused: int = 0  # reports whose data had not changed since they were rendered
    reused: int = 0  # articles whose file had not changed since the last run
    kept_unreadable: int = 0  # articles kept as they were because their file or folder could not be read
    run_id: str = ""
    recovered: list[str] = field(default_factory=list)  # repairs of an interrupted earlier run
    repeats: list[tuple[str, str]] = field(default_factory=list)  # (copy, the original it repeats), by file
    corrections_file: str | None = None
    corrections_applied: int = 0  # corrections that changed or confirmed a row
    corrections_unmatched: list[str] = field(default_factory=list)  # "id (target id)" of each unmatched one
    correction_problems: list[str] = field(default_factory=list)  # entries skipped, and why

    def reused_text(self) -> str:
        """How many reports were reused, for the report lines ("; reused: data unchanged")."""
        if not self.reports_reused:
            return ""
        which = "all" if self.reports_reused == len(self.reports) else str(self.reports_reused)
        return f"; {which} reused: data unchanged since they were rendered"

    def lines(self) -> list[str]:
        total = sum(self.stage_seconds.values())
        out = [f"run: {self.run_id}", *[f"recovered: {line}" for line in self.recovered]]
        out += [
            f"files read: {self.files}",
            f"articles: {self.articles} ({self.duplicates} duplicates, {self.reused} unchanged and reused)",
            *self._standing(),
        ]
        out.append("rows written: " + ", ".join(f"{t} {n}" for t, n in self.rows_written.items()))
        if self.reports:
            out.append(f"reports: {self._index()} ({self._pages()}{self.reused_text()})")
        out.append(
            "stage times: "
            + ", ".join(f"{s} {sec:.2f}s" for s, sec in self.stage_seconds.items())
            + f" (total {total:.2f}s)"
        )
        return out

    def standing_lines(self) -> list[str]:
        """What stays true of this run's outputs while nothing changes: an unchanged re-run that does not run
        the flow (:mod:`pipeline.unchanged`) prints these again."""
        out = [f"articles: {self.articles} ({self.duplicates} duplicates)", *self._standing()]
        out.append("rows: " + ", ".join(f"{t} {n}" for t, n in self.rows_written.items()))
        if self.reports:
            out.append(f"reports: {self._index()} ({self._pages()})")
        return out

    def _standing(self) -> list[str]:
        """Rejected files, copies and corrections, each with its reason."""
        kinds = {k: sum(1 for _, kind, _ in self.rejects if kind == k) for k in REJECT_KINDS}
        out = []
        if self.repeats:  # kept, not rejected: each names the article it repeats (articles.duplicate_of)
            out.append(f"republished copies: {len(self.repeats)} (kept; articles.duplicate_of names the original)")
            out += [f"  {copy} repeats {original}" for copy, original in self.repeats[:20]]
            if len(self.repeats) > 20:
                out.append(f"  ... and {len(self.repeats) - 20} more copies")
        out.append(f"rejected: {self.rejected} ({', '.join(f'{n} {k}' for k, n in kinds.items())})")
        out += [f"  {name}: {reason}" for name, _, reason in self.rejects]
        if kinds["failure"]:
            out.append(f"pipeline failures: {kinds['failure']} file(s) failed in the pipeline itself: please report")
        if self.kept_unreadable:
            out.append(f"kept as they were: {self.kept_unreadable} articles of files or folders that could not be read")
        if self.corrections_file:
            out.append(
                f"corrections: {self.corrections_applied} applied, {len(self.corrections_unmatched)} unmatched, "
                f"{len(self.correction_problems)} invalid ({self.corrections_file})"
            )
            out += [
                f"  unmatched: {u}: not in the data (its article changed or is gone)"
                for u in self.corrections_unmatched
            ]
            out += [f"  invalid: {p}" for p in self.correction_problems]
        return out

    def _index(self) -> Path:
        return Path(self.reports[0]).parent / "index.html"

    def _pages(self) -> str:
        return ", ".join(Path(r).name for r in self.reports)


#: Values of ``rejects.kind`` (see the data dictionary).
REJECT_KINDS = ("input", "budget", "unreadable", "failure")


@contextmanager
def _stage(summary: RunSummary, name: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    summary.stage_seconds[name] = summary.stage_seconds.get(name, 0.0) + time.perf_counter() - start
    summary.stage_peak_mb[name] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


_TRANSFORM = "read+clean+tag+extract"  # the stage that runs in batches, in parallel
_LAST_CORRECTIONS = Path("cache") / "corrections.yaml"  # under the output folder: the last file a run could read
_STAGING = ".staging"  # under the output folder: rows of this run not yet in their month partitions


@task(name="list-inputs", cache_policy=NO_CACHE)
def list_inputs(seeds_dir: Path) -> io.Listing:
    return io.discover_inputs(seeds_dir)


@task(name="load-previous", cache_policy=NO_CACHE)
def load_previous(out_dir: Path, version: str, incremental: bool) -> plan.Previous:
    """The keys of the last committed run's articles (no bodies); only rows the same rules made are reusable."""
    base = io.committed(out_dir)
    return plan.load_previous(base or io.previous_datasets(out_dir), version, incremental and base is not None)


@task(name="hash-inputs", cache_policy=NO_CACHE)
def hash_inputs(seeds_dir: Path, names: list[str], max_bytes: int) -> tuple[dict[str, str | None], list[Row]]:
    """The content hash of every input file that can be read (see :func:`pipeline.plan.hash_inputs`)."""
    return plan.hash_inputs(seeds_dir, names, max_bytes)


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch(
    seeds_dir: Path, names: list[str], max_bytes: int, seconds: float | None, spool: Path
) -> batch.BatchResult:
    """Read, clean, tag and extract one batch of files (in a worker process when there is a pool).

    The rows come back as files under ``spool`` (which every worker must see), not in the result."""
    return batch.run(seeds_dir, names, max_bytes, spool, seconds)


@task(name="render-reports", cache_policy=NO_CACHE)
def render_reports_task(kinds: list[str], out_dir: Path) -> list[tuple[str, bool]]:
    """Execute the report notebooks side by side and render them to HTML (a previous report stays if its
    notebook fails); a report whose datasets, parameters and code have not changed is reused. Gives each
    page and whether it was reused."""
    from pipeline.render import render_reports

    return [(r.html, r.reused) for r in render_reports(kinds, out_dir / io.DATASETS, out_dir)]


@task(name="write-dataset", cache_policy=NO_CACHE)
def write_table(commit: io.Commit, table: str, data: pa.Table) -> int:
    return commit.write(table, plan.in_row_order(table, data), schemas.TABLES[table])


@task(name="write-partitioned-datasets", cache_policy=NO_CACHE)
def write_partitioned_tables(
    commit: io.Commit,
    staging: io.Staging,
    touched: set[str | None],
    keep: pa.Array,
    fields: dict[str, tuple[str | None, dt.datetime]],
    book: corrections.Book,
) -> dict[str, int]:
    """Rewrite the touched months of each table of articles (one task for all: on a run that changes little,
    a task run each cost more than the writing): this run's new rows plus the kept rows of unchanged
    articles, corrected. Gives the rows of each table."""
    rows: dict[str, int] = {}
    for table in batch.ARTICLE_TABLES:
        schema = schemas.TABLES[table]

        def build(
            month: str | None, old_partition: Path | None, table: str = table, schema: pa.Schema = schema
        ) -> pa.Table:
            return plan.merge_month(table, staging.read(table, month, schema), old_partition, keep, fields, book)

        rows[table] = commit.write_partitioned(table, schema, touched, build)
    return rows


@task(name="load-corrections", cache_policy=NO_CACHE)
def load_corrections(path: Path | None) -> corrections.Book:
    return corrections.load_book(path)


@task(name="build-entities", cache_policy=NO_CACHE)
def build_entities(folder: Path) -> pa.Table:
    return plan.entities(folder)


@task(name="reconcile", cache_policy=NO_CACHE)
def reconcile_events(folder: Path, book: corrections.Book, run_id: str) -> tuple[pa.Table, list[Row]]:
    return plan.events(folder, book, run_id)


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
    if summary.corrections_file:
        rows.append({"stage": "corrections applied", "count": summary.corrections_applied, "seconds": None})
        rows.append({"stage": "corrections unmatched", "count": len(summary.corrections_unmatched), "seconds": None})
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
    seconds_per_article: float | None = budget.DEFAULT_SECONDS,
    corrections_file: Path | None = None,
    keep_snapshots: int = DEFAULT_SNAPSHOTS,
) -> RunSummary:
    """Read, clean, tag and extract the articles in ``seeds_dir`` into datasets and reports under ``out_dir``.

    With ``incremental``, files unchanged since the last run (same content hash, same rules) are not read
    again: their rows are carried over. The batches run in ``processes`` worker processes (default: one per
    core; 1 runs them in the task threads, as under the Dask runner, whose workers are the processes). The
    analysts' decisions in ``corrections_file`` (default: ``corrections.yaml`` beside the seeds folder, when
    there is one) are applied before reconciliation. The tables of the run are committed together at the
    end: until then, the datasets are the last run's; the last ``keep_snapshots`` runs' datasets are kept.
    """
    check_arguments(
        seeds_dir, out_dir, batch_size, max_bytes, processes, seconds_per_article, keep_snapshots, corrections_file
    )
    workers = default_processes() if processes is None else processes
    corrections_file = corrections.file_for(seeds_dir, corrections_file)
    with io.output_lock(out_dir, lock_timeout):
        summary = RunSummary(run_id=io.new_run_id(), recovered=io.recover(out_dir))
        for line in summary.recovered:
            log.warning("recovered: %s", line)
        book = corrections.with_fallback(load_corrections(corrections_file), out_dir / _LAST_CORRECTIONS)
        for problem in book.problems:
            log.warning("corrections: %s", problem)
        summary.corrections_file = book.path
        summary.correction_problems = book.problems
        commit = io.Commit(out_dir, summary.run_id)
        try:
            run = _pipeline(
                summary, commit, seeds_dir, batch_size, max_bytes, seconds_per_article, incremental, workers, book
            )
            commit.publish(run, keep_snapshots)
            if book.path and not book.unreadable:  # the file as applied, in case a later edit breaks it
                io.write_bytes(out_dir / _LAST_CORRECTIONS, book.raw)
        except BaseException:
            commit.discard()  # the last committed run stays the datasets
            raise
        finally:  # rows staged by a run that failed are of no use to the next one
            shutil.rmtree(out_dir / _STAGING, ignore_errors=True)
        if reports:
            with _stage(summary, "reports"):
                for page, reused in render_reports_task(["talks", "strikes"], out_dir):
                    summary.reports.append(str(out_dir / "reports" / page))
                    summary.reports_reused += reused
            log.info(
                "reports: %s%s (%.2fs)",
                ", ".join(summary.reports),
                summary.reused_text(),
                summary.stage_seconds["reports"],
            )
    publish_artifacts(summary, out_dir)
    return summary


_START_SERVER = (
    "start one with `.venv/bin/prefect server start --host 127.0.0.1 --port 4200` and set "
    "PREFECT_API_URL=http://127.0.0.1:4200/api (see the README, Scheduling)"
)


def check_schedule(cron: str) -> None:
    """Refuse a cron string Prefect would not accept, before anything is registered."""
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    try:
        CronSchedule(cron=cron)
    except ValidationError:
        raise PipelineError(f'--cron {cron!r} is not a cron schedule (five fields, such as "0 * * * *")') from None


def check_server(timeout: float = 5.0) -> str:
    """The URL of a Prefect API that answers, or a PipelineError saying how to start one: scheduled runs need
    a server (the embedded one that ``run`` starts cannot schedule)."""
    import httpx
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    if not url:
        raise PipelineError(f"serve needs a Prefect server and PREFECT_API_URL is not set: {_START_SERVER}")
    try:
        httpx.get(f"{url.rstrip('/')}/health", timeout=timeout).raise_for_status()
    except httpx.HTTPError as exc:
        raise PipelineError(f"no Prefect server answers at {url} ({type(exc).__name__}): {_START_SERVER}") from None
    return str(url)


def _pipeline(
    summary: RunSummary,
    commit: io.Commit,
    seeds_dir: Path,
    batch_size: int,
    max_bytes: int,
    seconds: float | None,
    incremental: bool,
    processes: int,
    book: corrections.Book,
) -> dict[str, Any]:
    """Every stage of a run, writing into ``commit``; returns what the run's manifest records."""
    out_dir = commit.out_dir
    now = dt.datetime.now(dt.UTC)
    version = ingest.rules_version()

    with _stage(summary, _TRANSFORM):
        listing = list_inputs(seeds_dir)
        previous = load_previous(out_dir, version, incremental)
        if previous.folder is None and commit.base is not None:  # its articles are unreadable: rebuild it all
            log.warning("the last run's articles in %s cannot be read: every table is rebuilt", commit.base)
            commit.base = None
        hashes, rejects = hash_inputs(seeds_dir, _as_is(listing.files), max_bytes) if previous.articles else ({}, [])
        rejects += [batch.reject_row(name, reason, kind, "list", None) for name, reason, kind in listing.rejects]
        unchanged, todo, held = plan.split_by_reuse(listing, hashes, previous)
        staging = io.Staging(out_dir / _STAGING)
        new_keys, counts = _transform(seeds_dir, todo, batch_size, max_bytes, seconds, processes, staging, rejects)
    summary.files, summary.reused, summary.kept_unreadable = len(listing.files), len(unchanged) - held, held
    log.info(
        "read+clean+tag+extract: %d files -> %d new or changed articles, %d unchanged, %d rejected; %s (%.2fs)",
        len(listing.files),
        counts["articles"],
        summary.reused,
        len(rejects),
        ", ".join(f"{counts[t]} {t}" for t in batch.ARTICLE_TABLES[1:]),
        summary.stage_seconds[_TRANSFORM],
    )

    with _stage(summary, "dedup"):
        kept = previous.keys.take(pa.array(unchanged, pa.int64()))
        if not counts["articles"] and kept.num_rows == previous.articles and commit.base is not None:
            # The same articles as last time: nothing to de-duplicate again, no month to rewrite.
            keys, fields, touched = kept, plan.unchanged_fields(kept), set[str | None]()
        else:
            keys, fields, touched = _deduplicate(out_dir, previous, kept, new_keys, now, version)
        del new_keys  # the batches' keys are copied into ``keys``: the files they were read from can go
    base_key = io.read_manifest(commit.base).get("corrections_key")
    touched |= plan.correction_months(commit.base, keys, book, base_key)
    summary.articles = keys.num_rows
    summary.duplicates = sum(1 for dup, _ in fields.values() if dup is not None)
    file_of = dict(zip(keys["article_id"].to_pylist(), keys["source_file"].to_pylist(), strict=True))
    summary.repeats = sorted((file_of[a], file_of[dup]) for a, (dup, _) in fields.items() if dup is not None)
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
            summary.rows_written |= write_partitioned_tables(
                _as_is(commit), _as_is(staging), _as_is(touched), _as_is(keep), _as_is(fields), _as_is(book)
            )
        finally:
            staging.close()
            pa.default_memory_pool().release_unused()  # the month tables are written: give their memory back
        old_rejects = io.read_dataset(previous.folder, "rejects", schemas.REJECTS) if previous.folder else None
        rejects_table = ingest.finalize_rejects(rejects, old_rejects, now)
        summary.rows_written["rejects"] = write_table(_as_is(commit), "rejects", rejects_table)
        base = commit.base
        derived = ("entities", "events", "corrections_applied")
        rebuild = (
            bool(touched)
            or base is None
            or (base_key or "") != book.key
            or not all((base / t).is_dir() for t in derived)
        )
        if rebuild:
            summary.rows_written["entities"] = write_table(_as_is(commit), "entities", build_entities(commit.folder))
        else:  # no month changed: the entities and events are those already written
            summary.rows_written["entities"] = commit.carry("entities")
    summary.rejected = rejects_table.num_rows
    summary.rejects = list(zip(*(rejects_table[c].to_pylist() for c in ("source_file", "kind", "reason")), strict=True))

    with _stage(summary, "reconcile"):
        if rebuild:
            events, changes = reconcile_events(commit.folder, _as_is(book), summary.run_id)
            summary.rows_written["events"] = write_table(_as_is(commit), "events", events)
            applied = plan.corrections_applied(commit.folder, book, summary.run_id, changes)
            summary.rows_written["corrections_applied"] = write_table(_as_is(commit), "corrections_applied", applied)
        else:
            for table in ("events", "corrections_applied"):
                summary.rows_written[table] = commit.carry(table)
    log.info("reconcile: %d events (%.2fs)", summary.rows_written["events"], summary.stage_seconds["reconcile"])
    unmatched = _count_corrections(summary, commit.folder, book)
    with _stage(summary, "write"):
        old_runs = io.read_dataset(commit.base, "runs", schemas.RUNS) if commit.base is not None else None
        summary.rows_written["runs"] = (old_runs.num_rows if old_runs is not None else 0) + 1
        summary.rows_written = {t: summary.rows_written[t] for t in schemas.TABLES}
        run = plan.run_row(
            summary.run_id,
            _flow_run_id(),
            now,
            version,
            str(seeds_dir),
            plan.files_of(old_rejects, previous.keys),
            plan.files_of(keys, rejects_table),
            len(listing.files),
            summary.rejected,
            summary.rows_written,
            book,
            summary.corrections_applied,
            [c.correction_id for c in unmatched],
        )
        write_table(_as_is(commit), "runs", plan.append_run(old_runs, run))
    log.info(
        "write: %s (%.2fs)",
        ", ".join(f"{t} {n} rows" for t, n in summary.rows_written.items()),
        summary.stage_seconds["write"],
    )
    return {
        "seeds": str(seeds_dir),
        "rows": summary.rows_written,
        "corrections_key": book.key,
        "corrections": {"file": book.path, "applied": summary.corrections_applied, "unmatched": len(unmatched)},
    }


def _deduplicate(
    out_dir: Path, previous: plan.Previous, kept: pa.Table, new_keys: list[pa.Table], now: dt.datetime, version: str
) -> tuple[pa.Table, dict[str, tuple[str | None, dt.datetime]], set[str | None]]:
    """:func:`plan.deduplicate` with the MinHash cache of ``out_dir``, which it brings up to date; the keys it
    gives have no signatures (they are in the cache now), and are copied out of the batches' files."""
    signatures = io.read_signatures(out_dir)
    keys, fields, touched, current = plan.deduplicate(previous, kept, new_keys, signatures, now, version)
    if current.keys() != signatures.keys():
        io.write_signatures(out_dir, current)
    return keys.drop_columns(["signature"]).combine_chunks(), fields, touched


def _count_corrections(summary: RunSummary, folder: Path, book: corrections.Book) -> list[corrections.Correction]:
    """Count the corrections the run's ``corrections_applied`` holds into ``summary``; returns the unmatched ones
    (their target is not in the data), which are also logged."""
    done = io.read_dataset(folder, "corrections_applied", schemas.CORRECTIONS_APPLIED, ["correction_id"])
    applied_ids = set(done["correction_id"].to_pylist()) if done is not None else set()
    summary.corrections_applied = len(applied_ids)
    unmatched = [c for c in book.corrections if c.correction_id not in applied_ids]
    summary.corrections_unmatched = [f"{c.correction_id} ({c.target} {c.target_id})" for c in unmatched]
    for line in summary.corrections_unmatched:
        log.warning("correction %s is unmatched: its target is not in the data", line)
    return unmatched


def _flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.get_id()
    return str(run_id) if run_id else None


def _transform(
    seeds_dir: Path,
    todo: list[str],
    batch_size: int,
    max_bytes: int,
    seconds: float | None,
    processes: int,
    staging: io.Staging,
    rejects: list[Row],
) -> tuple[list[pa.Table], dict[str, int]]:
    """Run the batches of ``todo`` and stage their rows by month; returns the new articles' keys and row counts
    (reject rows are added to ``rejects``)."""
    batches = _batches(todo, batch_size)
    new_keys: list[pa.Table] = []
    counts = dict.fromkeys(batch.ARTICLE_TABLES, 0)
    progress = _Progress(len(todo))
    with batch.worker_pool(min(processes, len(batches))):  # starting a worker costs ~2s: not for one batch
        calls = [(seeds_dir, b, max_bytes, seconds, staging.folder / "batches") for b in batches]
        for result in _in_order(process_batch, calls, 2 * processes + 2):
            result.unspool()
            for warning in result.warnings:
                log.warning("%s", warning)
            for reject in result.rejects:
                log.error(
                    "rejected %s (%s, %s): %s", reject["source_file"], reject["kind"], reject["stage"], reject["reason"]
                )
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
    return new_keys, counts


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
    """A log line as batches finish: at most every 10 seconds, and at the end of a stage that took longer
    (a shorter one has only its stage line, which gives the same counts)."""

    def __init__(self, total: int, every: float = 10.0) -> None:
        self.total, self.every = total, every
        self.files = self.articles = self.rejected = 0
        self.start = self.last = time.perf_counter()

    def advance(self, files: int, articles: int, rejected: int) -> None:
        self.files += files
        self.articles += articles
        self.rejected += rejected
        now = time.perf_counter()
        done = self.files == self.total and now - self.start >= self.every
        if now - self.last >= self.every or done:
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


def default_processes() -> int:
    """Worker processes for the thread runner: one per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _at_most(folder: Path, n: int) -> bool:
    """Whether ``folder`` holds at most ``n`` files (counted until there are more; a guess for warming up)."""
    count = 0
    for _, _, files in os.walk(folder):
        count += len(files)
        if count > n:
            return False
    return True


def run_flow(
    runner: str = "threads", dask_address: str | None = None, server: TemporaryServer | None = None, **params: Any
) -> RunSummary:
    """Run the flow with the chosen task runner: ``threads`` (in-process, batches in worker processes)
    or ``dask`` (a cluster; its workers run the batches).

    The arguments and the output lock are checked first, before any wait for Prefect's API server: a
    ``server`` the command line started (:mod:`pipeline.apiserver`) boots while the rules load, and is
    waited for just before the flow begins; without one, Prefect starts its embedded server then."""
    if runner not in ("threads", "dask"):
        raise PipelineError(f"unknown runner {runner!r}: choose threads or dask")
    check_parameters(params)
    with (
        io.output_lock(Path(with_defaults(params)["out_dir"]), float(params.get("lock_timeout", 600.0))),
        ExitStack() as stack,
    ):
        if runner == "dask" and not dask_address:  # its workers warm up while the server boots
            if server is None:
                server = stack.enter_context(_server_for_workers())
            dask_address = stack.enter_context(_local_cluster())
        if server is not None:  # load what the run needs while the server boots
            ingest.rules_version()
            args = with_defaults(params)
            in_process = (args.get("processes") or default_processes()) <= 1 or _at_most(
                Path(args["seeds_dir"]), int(args["batch_size"])
            )
            if runner == "threads" and in_process:
                batch.warm_up()  # the batches run in this process: the tagger and its tokenizer too
            server.wait()
        with _without_heartbeats(server):
            return _run_with(runner, dask_address, params)


@contextmanager
def _server_for_workers() -> Iterator[TemporaryServer | None]:
    """A temporary API server for this process and the local cluster's workers, started before them, when no
    Prefect API is configured (None when one is). Otherwise each worker process would boot an embedded
    server of its own before its first task (measured: 8 s of a 1,000-article run, on CPU the batches
    need), as Prefect's embedded server is known only to the process that started it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield None
        return
    # the environment's address is what the worker processes inherit; this process's settings are read already
    with apiserver.started() as server, temporary_settings(updates={PREFECT_API_URL: server.url}):
        yield server


#: The local cluster of ``--runner dask`` without an address: two worker processes of one thread each.
LOCAL_CLUSTER = {"n_workers": 2, "threads_per_worker": 1, "processes": True}


#: Dask's own statistical profiler samples every worker thread's stack every 10 ms, for its dashboard: off
#: here, it made a batch of 250 articles take 2.6 s instead of 1.9 s.
_DASK_CONFIG = {"distributed.worker.profile.enabled": False}


@contextmanager
def _local_cluster() -> Iterator[str]:
    """A local Dask cluster whose workers load the rules as they start (:mod:`pipeline.daskworker`); its
    scheduler's address, until the block ends."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(_DASK_CONFIG):
        cluster = LocalCluster(**LOCAL_CLUSTER, preload=["pipeline.daskworker"])
    with cluster:
        yield str(cluster.scheduler_address)


def _run_with(runner: str, dask_address: str | None, params: dict[str, Any]) -> RunSummary:
    """The flow on the chosen task runner (for Dask, the cluster at ``dask_address``)."""
    if runner != "dask":
        summary: RunSummary = news_pipeline(**params)
        return summary
    from prefect_dask import DaskTaskRunner

    params["processes"] = 1
    task_runner = DaskTaskRunner(address=dask_address)
    on_dask: RunSummary = news_pipeline.with_options(task_runner=task_runner)(**params)  # type: ignore[arg-type]
    return on_dask


@contextmanager
def _without_heartbeats(server: TemporaryServer | None) -> Iterator[None]:
    """No flow-run heartbeats against the API server of this process (the temporary one the command line
    starts, or Prefect's embedded one): they let a server whose services run mark a crashed run, and
    nothing runs those here; the engine would wait up to a second at the end of every run for the
    heartbeat thread to wake. A configured server (PREFECT_API_URL) keeps them."""
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if server is None and PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
