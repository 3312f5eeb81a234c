"""Prefect wiring: the flow calls the stages in order; every task is a thin wrapper.

Work is batched: one task per batch of files, never one per article (each task
run costs the embedded API server a database write). Tasks do not cache: their
inputs are large (article bodies), and hashing them for a cache key would cost
more than the work; incremental runs skip unchanged files by content hash instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
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

from pipeline import extract, ingest, io, reconcile, schemas, tag
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


ANALYSIS_TABLES = ("sentences", "mentions", "strikes", "talks", "quotes")

T = TypeVar("T")


class Opaque(Generic[T]):
    """A task argument Prefect passes through as it is.

    Prefect walks every list, dict and dataclass given to a task, looking for futures; over a
    batch of articles that walk costs more than the work. Large arguments travel in this box.
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


@dataclass
class BatchAnalysis:
    """Tagging and extraction results of one batch of articles."""

    tables: dict[str, list[dict[str, Any]]]
    topics: dict[str, list[str]]


@task(name="list-inputs", cache_policy=NO_CACHE)
def list_inputs(seeds_dir: Path) -> list[str]:
    return io.discover_inputs(seeds_dir)


@task(name="load-previous", cache_policy=NO_CACHE)
def load_previous(out_dir: Path, version: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Rows of the last run that can be reused, by (file, file hash): only if the same rules made them."""
    previous = io.read_dataset(out_dir, "articles", schemas.ARTICLES)
    if previous is None or previous.num_rows == 0:
        return {}
    rows = previous.filter(pc.equal(previous["pipeline_version"], version)).to_pylist()
    return {(r["source_file"], r["file_sha256"]): r for r in rows}


@task(name="ingest-batch", cache_policy=NO_CACHE)
def ingest_batch(
    seeds_dir: Path, names: list[str], max_bytes: int, reusable: Opaque[set[tuple[str, str]]]
) -> ingest.IngestResult:
    """Read and clean one batch of files; files unchanged since the last run are only hashed."""
    known = reusable.value
    inputs: list[io.InputFile | tuple[str, RejectedInput]] = []
    unchanged = []
    for name in names:
        try:
            inp = io.read_input(seeds_dir, name, max_bytes)
        except RejectedInput as exc:
            inputs.append((name, exc))
            continue
        if (name, inp.sha256) in known:
            unchanged.append((name, inp.sha256))
        else:
            inputs.append(inp)
    result = ingest.ingest_files(inputs)
    result.unchanged = unchanged
    for reject in result.rejects:
        log.error("rejected %s: %s", reject["source_file"], reject["reason"])
    return result


@task(name="analyse-batch", cache_policy=NO_CACHE)
def analyse_batch(batch: Opaque[list[dict[str, Any]]]) -> BatchAnalysis:
    """Tag one batch of articles (sentences, mentions, topics), then extract strikes, talks and quotes."""
    articles = batch.value
    tagged = tag.tag_texts([str(a["article_id"]) for a in articles], [str(a["body"]) for a in articles])
    strikes, talks, quotes = extract.extract_batch(articles, tagged.sentences, tagged.mentions)
    tables = {"sentences": tagged.sentences, "mentions": tagged.mentions, "strikes": strikes, "talks": talks}
    return BatchAnalysis(tables | {"quotes": quotes}, tagged.topics_by_article)


@task(name="reuse-rows", cache_policy=NO_CACHE)
def reuse_rows(out_dir: Path, table: str, ids: Opaque[list[str]]) -> pa.Table:
    """The previous run's rows of ``table`` for articles whose file did not change."""
    article_ids = ids.value
    schema = schemas.TABLES[table]
    previous = io.read_dataset(out_dir, table, schema) if article_ids else None
    if previous is None:
        return schema.empty_table()
    return previous.filter(pc.is_in(previous["article_id"], value_set=pa.array(article_ids, pa.string())))


@task(name="finalize-articles", cache_policy=NO_CACHE)
def finalize(
    batch: Opaque[tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[str]]]],
    out_dir: Path,
    now: dt.datetime,
) -> tuple[pa.Table, pa.Table]:
    """De-duplicate and build the ``articles`` (with topics) and ``rejects`` tables."""
    rows, rejects, topics = batch.value
    previous = io.read_dataset(out_dir, "articles", schemas.ARTICLES)
    cached = io.read_signatures(out_dir)
    signatures = dict(cached)
    articles = ingest.finalize_articles(rows, previous, now, topics, signatures)
    current = {h: signatures[h] for h in articles["content_hash"].to_pylist() if h in signatures}
    if current.keys() != cached.keys():
        io.write_signatures(out_dir, current)
    rejects_table = ingest.finalize_rejects(rejects, io.read_dataset(out_dir, "rejects", schemas.REJECTS), now)
    return articles, rejects_table


@task(name="render-report", cache_policy=NO_CACHE)
def render_report_task(kind: str, out_dir: Path) -> str:
    """Execute one report notebook and render it to HTML (the previous report stays if it fails)."""
    from pipeline.render import render_report

    rendered = render_report(kind, out_dir / "datasets", out_dir)
    return rendered.html


@task(name="write-dataset", cache_policy=NO_CACHE)
def write_table(out_dir: Path, table: str, data: pa.Table) -> int:
    ordered = data.sort_by([(key, "ascending") for key in schemas.SORT_KEYS[table]])
    return io.write_dataset(out_dir, table, ordered, schemas.TABLES[table])


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: RunSummary, out_dir: Path) -> None:
    """A table of counts per stage, and links to the reports, on the flow run's page in the Prefect UI."""
    rows = [
        {"stage": "read", "count": summary.files, "seconds": round(summary.stage_seconds.get("read+clean", 0.0), 2)},
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
) -> RunSummary:
    """Read, clean, tag and extract the articles in ``seeds_dir`` into datasets and reports under ``out_dir``.

    With ``incremental``, files unchanged since the last run (same content hash, same rules) are not read
    again: their rows are carried over.
    """
    with io.output_lock(out_dir, lock_timeout):
        summary = _pipeline(seeds_dir, out_dir, reports, batch_size, max_bytes, incremental)
    publish_artifacts(summary, out_dir)
    return summary


def _pipeline(
    seeds_dir: Path, out_dir: Path, reports: bool, batch_size: int, max_bytes: int, incremental: bool
) -> RunSummary:
    summary = RunSummary()
    now = dt.datetime.now(dt.UTC)
    version = ingest.rules_version()

    with _stage(summary, "read+clean"):
        names = list_inputs(seeds_dir)
        previous = load_previous(out_dir, version) if incremental else {}
        known = {name: (name, sha) for name, sha in previous}  # one previous version per file
        futures = [
            ingest_batch.submit(seeds_dir, b, max_bytes, Opaque({known[n] for n in b if n in known}))
            for b in _batches(names, batch_size)
        ]
        result = ingest.IngestResult()
        for future in futures:
            result.extend(future.result())
        reused = [previous[key] for key in result.unchanged]
    summary.files, summary.reused = len(names), len(reused)
    log.info(
        "read+clean: %d files -> %d new or changed articles, %d unchanged, %d rejected (%.2fs)",
        len(names),
        len(result.articles),
        len(reused),
        len(result.rejects),
        summary.stage_seconds["read+clean"],
    )

    with _stage(summary, "tag+extract"):
        fresh = [analyse_batch.submit(Opaque(b)) for b in _batches(result.articles, batch_size)]
        reused_ids = Opaque([r["article_id"] for r in reused])
        old = {t: reuse_rows.submit(out_dir, t, reused_ids) for t in ANALYSIS_TABLES}
        rows: dict[str, list[dict[str, Any]]] = {t: [] for t in ANALYSIS_TABLES}
        topics = {r["article_id"]: list(r["topics"]) for r in reused}
        for pending in fresh:
            batch = pending.result()
            for t in ANALYSIS_TABLES:
                rows[t] += batch.tables[t]
            topics |= batch.topics
        tables = {
            t: pa.concat_tables([old[t].result(), pa.Table.from_pylist(rows[t], schema=schemas.TABLES[t])])
            for t in ANALYSIS_TABLES
        }
        entities = tag.build_entities(tables["mentions"])
    log.info(
        "tag+extract: %d articles -> %s, %d entities (%.2fs)",
        len(result.articles) + len(reused),
        ", ".join(f"{t.num_rows} {name}" for name, t in tables.items()),
        entities.num_rows,
        summary.stage_seconds["tag+extract"],
    )

    with _stage(summary, "dedup"):
        articles, rejects = finalize(Opaque((result.articles + reused, result.rejects, topics)), out_dir, now)
    summary.articles = articles.num_rows
    summary.duplicates = articles.num_rows - articles["duplicate_of"].null_count
    summary.rejected = rejects.num_rows
    summary.rejects = list(zip(rejects["source_file"].to_pylist(), rejects["reason"].to_pylist(), strict=True))
    log.info(
        "dedup: %d articles, %d duplicates (%.2fs)",
        summary.articles,
        summary.duplicates,
        summary.stage_seconds["dedup"],
    )

    with _stage(summary, "reconcile"):
        events = reconcile.build_events(
            tables["strikes"].select(reconcile.STRIKE_COLUMNS).to_pylist(),
            tables["talks"].select(reconcile.TALK_COLUMNS).to_pylist(),
            articles.select(["article_id", "outlet", "published", "duplicate_of"]).to_pylist(),
        )
    log.info("reconcile: %d events (%.2fs)", events.num_rows, summary.stage_seconds["reconcile"])

    with _stage(summary, "write"):
        out_tables = {"articles": articles, "rejects": rejects, **tables, "entities": entities, "events": events}
        for name in schemas.TABLES:
            summary.rows_written[name] = write_table(out_dir, name, out_tables[name])
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


def run_flow(runner: str = "threads", dask_address: str | None = None, **params: Any) -> RunSummary:
    """Run the flow with the chosen task runner: ``threads`` (in-process) or ``dask`` (a cluster)."""
    if runner == "dask":
        from prefect_dask import DaskTaskRunner

        task_runner = (
            DaskTaskRunner(address=dask_address)
            if dask_address
            else DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})
        )
        summary: RunSummary = news_pipeline.with_options(task_runner=task_runner)(**params)  # type: ignore[arg-type]
        return summary
    if runner != "threads":
        raise PipelineError(f"unknown runner {runner!r}: choose threads or dask")
    summary = news_pipeline(**params)
    return summary
