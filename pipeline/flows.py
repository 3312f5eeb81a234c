"""Prefect wiring: the flow calls the stages in order; every task is a thin wrapper.

Work is batched: one task per batch of files, never one per article (each task
run costs the embedded API server a database write).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from prefect import flow, task

from pipeline import extract, ingest, io, reconcile, schemas, tag
from pipeline.errors import RejectedInput
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

    def lines(self) -> list[str]:
        total = sum(self.stage_seconds.values())
        out = [
            f"files read: {self.files}",
            f"articles: {self.articles} ({self.duplicates} duplicates)",
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


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@task(name="list-inputs")
def list_inputs(seeds_dir: Path) -> list[str]:
    return io.discover_inputs(seeds_dir)


@task(name="ingest-batch")
def ingest_batch(seeds_dir: Path, names: list[str], max_bytes: int) -> ingest.IngestResult:
    """Read and clean one batch of files."""
    inputs: list[io.InputFile | tuple[str, RejectedInput]] = []
    for name in names:
        try:
            inputs.append(io.read_input(seeds_dir, name, max_bytes))
        except RejectedInput as exc:
            inputs.append((name, exc))
    result = ingest.ingest_files(inputs)
    for reject in result.rejects:
        log.error("rejected %s: %s", reject["source_file"], reject["reason"])
    return result


@dataclass
class BatchAnalysis:
    tagged: tag.Tagged
    strikes: list[dict[str, object]]
    talks: list[dict[str, object]]
    quotes: list[dict[str, object]]


@task(name="analyse-batch")
def analyse_batch(articles: list[dict[str, object]]) -> BatchAnalysis:
    """Tag one batch of articles (sentences, mentions, topics), then extract strikes, talks and quotes."""
    tagged = tag.tag_texts([str(a["article_id"]) for a in articles], [str(a["body"]) for a in articles])
    strikes, talks, quotes = extract.extract_batch(articles, tagged.sentences, tagged.mentions)
    return BatchAnalysis(tagged, strikes, talks, quotes)


@task(name="finalize-articles")
def finalize(
    result: ingest.IngestResult, tagged: tag.Tagged, out_dir: Path, now: dt.datetime
) -> tuple[pa.Table, pa.Table]:
    """De-duplicate and build the ``articles`` (with topics) and ``rejects`` tables."""
    previous = io.read_dataset(out_dir, "articles", schemas.ARTICLES)
    articles = ingest.finalize_articles(result.articles, previous, now, tagged.topics_by_article)
    rejects = ingest.finalize_rejects(result.rejects, io.read_dataset(out_dir, "rejects", schemas.REJECTS), now)
    return articles, rejects


@task(name="render-report")
def render_report_task(kind: str, out_dir: Path) -> str:
    """Execute one report notebook and render it to HTML (the previous report stays if it fails)."""
    from pipeline.render import render_report

    rendered = render_report(kind, out_dir / "datasets", out_dir)
    return rendered.html


@task(name="write-dataset")
def write_table(out_dir: Path, table: str, data: pa.Table) -> int:
    return io.write_dataset(out_dir, table, data, schemas.TABLES[table])


@flow(name="news-pipeline")
def news_pipeline(
    seeds_dir: Path = Path("seeds"),
    out_dir: Path = Path("outputs"),
    reports: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RunSummary:
    """Read, clean and de-duplicate the articles in ``seeds_dir`` into datasets under ``out_dir``."""
    summary = RunSummary()
    now = dt.datetime.now(dt.UTC)

    with _stage(summary, "read+clean"):
        names = list_inputs(seeds_dir)
        futures = [ingest_batch.submit(seeds_dir, batch, max_bytes) for batch in _batches(names, batch_size)]
        result = ingest.IngestResult()
        for future in futures:
            result.extend(future.result())
    summary.files = len(names)
    log.info(
        "read+clean: %d files -> %d articles, %d rejected (%.2fs)",
        len(names),
        len(result.articles),
        len(result.rejects),
        summary.stage_seconds["read+clean"],
    )

    with _stage(summary, "tag+extract"):
        rows = result.articles
        futures_t = [analyse_batch.submit(rows[i : i + batch_size]) for i in range(0, len(rows), batch_size)]
        tagged = tag.Tagged()
        strikes: list[dict[str, object]] = []
        talks: list[dict[str, object]] = []
        quotes: list[dict[str, object]] = []
        for future_t in futures_t:
            batch = future_t.result()
            tagged.extend(batch.tagged)
            strikes += batch.strikes
            talks += batch.talks
            quotes += batch.quotes
        sentences = pa.Table.from_pylist(tagged.sentences, schema=schemas.SENTENCES)
        mentions = pa.Table.from_pylist(tagged.mentions, schema=schemas.MENTIONS)
        entities = tag.build_entities(mentions)
    log.info(
        "tag+extract: %d articles -> %d sentences, %d mentions of %d entities, %d strike claims, %d talks, "
        "%d quotes (%.2fs)",
        len(rows),
        sentences.num_rows,
        mentions.num_rows,
        entities.num_rows,
        len(strikes),
        len(talks),
        len(quotes),
        summary.stage_seconds["tag+extract"],
    )

    with _stage(summary, "dedup"):
        articles, rejects = finalize(result, tagged, out_dir, now)
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
        events = reconcile.build_events(strikes, talks, articles.to_pylist())
    log.info("reconcile: %d events (%.2fs)", events.num_rows, summary.stage_seconds["reconcile"])

    with _stage(summary, "write"):
        tables = {
            "articles": articles,
            "rejects": rejects,
            "sentences": sentences,
            "mentions": mentions,
            "entities": entities,
            "strikes": pa.Table.from_pylist(strikes, schema=schemas.STRIKES),
            "talks": pa.Table.from_pylist(talks, schema=schemas.TALKS),
            "quotes": pa.Table.from_pylist(quotes, schema=schemas.QUOTES),
            "events": events,
        }
        for table, data in tables.items():
            summary.rows_written[table] = write_table(out_dir, table, data)
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
