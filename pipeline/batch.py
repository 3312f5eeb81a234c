"""One batch of input files, from bytes to table rows: read, clean, tag, extract.

This is the unit of parallel work. It needs nothing from the flow but the file
names, and returns Arrow tables (cheap to send between processes) plus the few
fields per article that de-duplication needs, so it runs the same in a task
thread, a worker process of this machine or a Dask worker elsewhere.
"""

from __future__ import annotations

import multiprocessing
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from pipeline import budget, dedup, extract, ingest, io, schemas
from pipeline.errors import RejectedInput

#: Tables whose rows an article's text alone decides (the rest need the whole corpus).
ARTICLE_TABLES = ("articles", "sentences", "mentions", "strikes", "talks", "quotes")

#: What de-duplication and incremental runs need of every article, new or reused: columns of
#: ``schemas.ARTICLES`` (types and all, nullable while staged) and the article's MinHash signature.
ARTICLE_KEYS = pa.schema(
    [
        *(schemas.ARTICLES.field(name).with_nullable(True) for name in schemas.ARTICLE_KEY_COLUMNS),
        pa.field("signature", pa.binary()),
    ]
)


@dataclass
class BatchResult:
    """The rows of one batch of files (``articles`` without ``duplicate_of`` and ``ingested_at`` yet).

    With a spool folder the tables travel as Arrow files in it, and this result is small: the task
    runner may keep every result until the flow ends, so rows must not travel inside it.
    """

    tables: dict[str, pa.Table] = field(default_factory=dict)
    keys: pa.Table = field(default_factory=ARTICLE_KEYS.empty_table)
    rejects: list[dict[str, object]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: int = 0
    seconds: float = 0.0
    spooled: str | None = None  # folder holding the tables and keys as Arrow IPC files

    def spool(self, folder: Path) -> None:
        """Move the tables and keys into Arrow files under ``folder`` (a new subfolder)."""
        target = folder / uuid.uuid4().hex
        target.mkdir(parents=True)
        for name, table in [*self.tables.items(), ("keys", self.keys)]:
            io.write_arrow_file(target / f"{name}.arrow", table)
        self.tables, self.keys, self.spooled = {}, ARTICLE_KEYS.empty_table(), str(target)

    def unspool(self) -> None:
        """Read the spooled tables back into memory and delete their files."""
        if self.spooled is None:
            return
        folder = Path(self.spooled)
        loaded = {path.stem: io.read_arrow_file(path) for path in folder.glob("*.arrow")}
        self.keys = loaded.pop("keys")
        self.tables = {name: loaded[name] for name in ARTICLE_TABLES}
        shutil.rmtree(folder, ignore_errors=True)
        self.spooled = None


#: The steps of :func:`process_batch` for one file, in order.
STEPS = ("read", "parse+clean", "tag", "extract", "minhash")


@dataclass
class StepTimes:
    """Seconds each step of :func:`process_batch` took, summed by the article's source format, with the files
    of each format (a rejected file counts as "rejected", with the steps it finished), and the seconds spent
    making the batches' rows Arrow tables."""

    seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    to_arrow: float = 0.0

    def add(self, source_format: str, laps: dict[str, float]) -> None:
        into = self.seconds.setdefault(source_format, dict.fromkeys(STEPS, 0.0))
        for step, seconds in laps.items():
            into[step] += seconds
        self.files[source_format] = self.files.get(source_format, 0) + 1


class _Laps:
    """The seconds since the last lap (or since it was made), under each step's name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = now - self.last
        self.last = now


def _no_lap(step: str) -> None:
    """A lap that times nothing (a batch that is not being broken down)."""


def process_batch(
    seeds_dir: Path,
    names: list[str],
    max_bytes: int,
    spool: Path | None = None,
    seconds: float | None = budget.DEFAULT_SECONDS,
    steps: StepTimes | None = None,
) -> BatchResult:
    """Read, clean, tag and extract one batch of files (its rows in files under ``spool``, if given).

    Each file is processed inside its own boundary: whatever goes wrong with one file (bad input, a time
    budget of ``seconds`` used up, or a failure of the pipeline itself) becomes a ``rejects`` row naming
    the file, the stage and the reason, and the batch goes on with the next file. With ``steps``, the time
    each step takes is added to it (the benchmark's breakdown).
    """
    from pipeline import tag  # here, not with the module: a flow process whose batches run in workers needs no spaCy

    started = time.perf_counter()
    out = BatchResult(files=len(names))
    done: list[tuple[str, str, dict[str, list[dict[str, object]]], dict[str, object]]] = []
    for raw in names:
        name = io.safe_name(raw)
        stage, sha, source_format = "read", None, "rejected"
        laps = _Laps() if steps is not None else None
        lap = laps if laps is not None else _no_lap
        try:
            with budget.limit(seconds):
                inp = io.read_input(seeds_dir, raw, max_bytes)
                lap("read")
                stage, sha = "clean", inp.sha256
                article = ingest.build_article(inp)
                source_format = str(article["source_format"])
                lap("parse+clean")
                stage = "tag"
                aid, body = str(article["article_id"]), str(article["body"])
                tagged = tag.tag_text(aid, body)
                article["topics"] = tagged.topics
                lap("tag")
                stage = "extract"
                strikes, talks, quotes = extract.extract_article(article, tagged.sentences, tagged.mentions)
                lap("extract")
                signature = dedup.minhash(body).tobytes()
                lap("minhash")
        except RejectedInput as exc:
            out.rejects.append(reject_row(name, exc.reason, exc.kind, stage, sha))
            source_format = "rejected"
            continue
        except Exception as exc:
            out.rejects.append(reject_row(name, f"{type(exc).__name__}: {exc}"[:500], "failure", stage, sha))
            source_format = "rejected"
            continue
        finally:
            if steps is not None and laps is not None:
                steps.add(source_format, laps.seconds)
        out.warnings += [f"{name}: {w}" for w in article["warnings"]]
        found = [[article], tagged.sentences, tagged.mentions, strikes, talks, quotes]
        key = {**{k: article[k] for k in ARTICLE_KEYS.names if k != "signature"}, "signature": signature}
        done.append((name, inp.sha256, dict(zip(ARTICLE_TABLES, found, strict=True)), key))
    converting = time.perf_counter()
    try:
        out.tables, out.keys = _to_arrow(done)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        # A value that does not fit its column: find the file (or files) it came from, still within the boundary.
        kept = []
        for item in done:
            try:
                _to_arrow([item])
                kept.append(item)
            except (pa.ArrowException, TypeError, ValueError, OverflowError) as exc:
                out.rejects.append(
                    reject_row(item[0], f"{type(exc).__name__}: {exc}"[:500], "failure", "write", item[1])
                )
        out.tables, out.keys = _to_arrow(kept)
    if steps is not None:
        steps.to_arrow += time.perf_counter() - converting
    if spool is not None:
        out.spool(spool)
    out.seconds = time.perf_counter() - started
    return out


def _to_arrow(
    done: list[tuple[str, str, dict[str, list[dict[str, object]]], dict[str, object]]],
) -> tuple[dict[str, pa.Table], pa.Table]:
    """The rows of the files processed, as one Arrow table per table, and their keys."""
    tables = {
        name: pa.Table.from_pylist([row for _, _, rows, _ in done for row in rows[name]], schema=schemas.TABLES[name])
        for name in ARTICLE_TABLES
    }
    return tables, pa.Table.from_pylist([key for *_, key in done], schema=ARTICLE_KEYS)


def reject_row(name: str, reason: str, kind: str, stage: str, sha256: str | None) -> dict[str, object]:
    """A ``rejects`` row (without ``seen_at``, which the run fills in)."""
    return {"source_file": name, "reason": reason, "kind": kind, "stage": stage, "file_sha256": sha256}


# Worker processes of this machine (the thread runner's); a Dask runner brings its own processes.
_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


@contextmanager
def worker_pool(processes: int) -> Iterator[None]:
    """While open, :func:`run` sends batches to ``processes`` worker processes (none when 1)."""
    global _POOL
    if processes <= 1:
        yield
        return
    context = multiprocessing.get_context("spawn")  # no fork: the flow process runs threads
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=context, initializer=warm_up)
    with _POOL_LOCK:
        _POOL = pool
    try:
        yield
    except BaseException:  # a failure, or a signal to stop: do not wait for the batches still running
        _stop_workers(pool)
        raise
    finally:
        with _POOL_LOCK:
            _POOL = None
        pool.shutdown(cancel_futures=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool's worker processes now (the executor has no public way to; its process table is used)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # shutdown() forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def run(
    seeds_dir: Path, names: list[str], max_bytes: int, spool: Path | None = None, seconds: float | None = None
) -> BatchResult:
    """:func:`process_batch` in a worker process of the open :func:`worker_pool`, else in this thread."""
    with _POOL_LOCK:
        pool = _POOL
    if pool is not None:
        return pool.submit(process_batch, seeds_dir, names, max_bytes, spool, seconds).result()
    return process_batch(seeds_dir, names, max_bytes, spool, seconds)


def warm_up() -> None:
    """Load the rules, gazetteers and tokenizer now (a worker process calls this once when it starts)."""
    from pipeline import clean, tag
    from pipeline.extract import load_rules

    ingest.rules_version()
    clean.load_rules()
    load_rules()
    tag.tag_text("warm-up", "Warm-up.")
