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

from pipeline import dedup, extract, ingest, io, schemas, tag
from pipeline.errors import RejectedInput

#: Tables whose rows an article's text alone decides (the rest need the whole corpus).
ARTICLE_TABLES = ("articles", "sentences", "mentions", "strikes", "talks", "quotes")

#: What de-duplication and incremental runs need of every article, new or reused.
ARTICLE_KEYS = pa.schema(
    [
        pa.field("article_id", pa.string()),
        pa.field("source_file", pa.string()),
        pa.field("file_sha256", pa.string()),
        pa.field("content_hash", pa.string()),
        pa.field("published", pa.date32()),
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
            with pa.OSFile(str(target / f"{name}.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
                w.write_table(table)
        self.tables, self.keys, self.spooled = {}, ARTICLE_KEYS.empty_table(), str(target)

    def unspool(self) -> None:
        """Read the spooled tables back into memory and delete their files."""
        if self.spooled is None:
            return
        folder = Path(self.spooled)
        loaded = {}
        for path in folder.glob("*.arrow"):
            with pa.memory_map(str(path)) as source:
                loaded[path.stem] = pa.ipc.open_file(source).read_all()
        self.keys = loaded.pop("keys")
        self.tables = {name: loaded[name] for name in ARTICLE_TABLES}
        shutil.rmtree(folder, ignore_errors=True)
        self.spooled = None


def process_batch(seeds_dir: Path, names: list[str], max_bytes: int, spool: Path | None = None) -> BatchResult:
    """Read, clean, tag and extract one batch of files (its rows in files under ``spool``, if given)."""
    started = time.perf_counter()
    inputs: list[io.InputFile | tuple[str, RejectedInput]] = []
    out = BatchResult(files=len(names))
    for name in names:
        try:
            inp = io.read_input(seeds_dir, name, max_bytes)
        except RejectedInput as exc:
            inputs.append((name, exc))
            continue
        inputs.append(inp)
    ingested = ingest.ingest_files(inputs)
    out.rejects = ingested.rejects
    articles = ingested.articles
    out.warnings = [f"{a['source_file']}: {w}" for a in articles for w in a["warnings"]]
    tagged = tag.tag_texts([str(a["article_id"]) for a in articles], [str(a["body"]) for a in articles])
    for a in articles:
        a["topics"] = tagged.topics_by_article.get(str(a["article_id"]), [])
    strikes, talks, quotes = extract.extract_batch(articles, tagged.sentences, tagged.mentions)
    rows = {
        "articles": articles,
        "sentences": tagged.sentences,
        "mentions": tagged.mentions,
        "strikes": strikes,
        "talks": talks,
        "quotes": quotes,
    }
    out.tables = {name: pa.Table.from_pylist(rows[name], schema=schemas.TABLES[name]) for name in ARTICLE_TABLES}
    out.keys = pa.Table.from_pylist(
        [
            {
                "article_id": a["article_id"],
                "source_file": a["source_file"],
                "file_sha256": a["file_sha256"],
                "content_hash": a["content_hash"],
                "published": a["published"],
                "signature": dedup.minhash(str(a["body"])).tobytes(),
            }
            for a in articles
        ],
        schema=ARTICLE_KEYS,
    )
    if spool is not None:
        out.spool(spool)
    out.seconds = time.perf_counter() - started
    return out


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
    finally:
        with _POOL_LOCK:
            _POOL = None
        pool.shutdown(cancel_futures=True)


def run(seeds_dir: Path, names: list[str], max_bytes: int, spool: Path | None = None) -> BatchResult:
    """:func:`process_batch` in a worker process of the open :func:`worker_pool`, else in this thread."""
    with _POOL_LOCK:
        pool = _POOL
    if pool is not None:
        return pool.submit(process_batch, seeds_dir, names, max_bytes, spool).result()
    return process_batch(seeds_dir, names, max_bytes, spool)


def warm_up() -> None:
    """Load the rules, gazetteers and tokenizer now (a worker process calls this once when it starts)."""
    ingest.rules_version()
    tag.tag_text("warm-up", "Warm-up.")
