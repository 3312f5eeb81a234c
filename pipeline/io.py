"""All file I/O: finding and reading input files, reading and writing Parquet datasets.

Input files are opened read-only and never written. A dataset is a folder of
Parquet files under ``OUT/datasets/<table>/``; it is written beside the old one
and swapped in with one atomic rename, so a reader (or a crash) never sees half
a dataset.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import hashlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.errors import PipelineError, RejectedInput

log = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"
_OLD_PREFIX = ".old-"


# --------------------------------------------------------------------------- input files


def discover_inputs(seeds_dir: Path) -> list[str]:
    """Paths (relative, POSIX) of every input file under ``seeds_dir``, sorted.

    Hidden files and folders (``.git``, ``.DS_Store``) are skipped.
    """
    if not seeds_dir.is_dir():
        raise PipelineError(f"seeds folder not found: {seeds_dir}")
    found = []
    for root, dirs, files in os.walk(seeds_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if name.startswith("."):
                continue
            path = Path(root, name)
            if path.is_file():
                found.append(path.relative_to(seeds_dir).as_posix())
    return sorted(found)


@dataclass(frozen=True)
class InputFile:
    name: str  # relative to the seeds folder
    data: bytes
    sha256: str


def read_input(seeds_dir: Path, name: str, max_bytes: int) -> InputFile:
    """The bytes of one input file, refusing files over ``max_bytes`` before reading them."""
    path = seeds_dir / name
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise RejectedInput(f"file too large: {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit")
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise RejectedInput(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # grew while we looked
        raise RejectedInput(f"file too large: over the {max_bytes / 1e6:.1f} MB limit")
    return InputFile(name, data, hashlib.sha256(data).hexdigest())


# --------------------------------------------------------------------------- caches

_SIGNATURES = pa.schema([pa.field("content_hash", pa.string()), pa.field("signature", pa.binary())])


def read_signatures(out_dir: Path) -> dict[str, bytes]:
    """MinHash signatures of earlier runs, by content hash (an empty cache when there is none)."""
    table = read_dataset_dir(out_dir / "cache" / "minhash", _SIGNATURES)
    if table is None:
        return {}
    return dict(zip(table["content_hash"].to_pylist(), table["signature"].to_pylist(), strict=True))


def write_signatures(out_dir: Path, signatures: dict[str, bytes]) -> None:
    table = pa.table({"content_hash": list(signatures), "signature": list(signatures.values())}, schema=_SIGNATURES)
    write_dataset(out_dir / "cache", "minhash", table, _SIGNATURES, under="")


# --------------------------------------------------------------------------- output lock


class LockTimeout(PipelineError):
    """Another run held the output folder for longer than we were willing to wait."""


@contextlib.contextmanager
def output_lock(out_dir: Path, timeout: float = 600.0, poll: float = 0.5) -> Iterator[None]:
    """Hold the output folder for one run at a time (an advisory lock on ``OUT/.lock``).

    A second run waits, saying so, and gives up with LockTimeout after ``timeout`` seconds.
    The lock is released when the run ends, or when its process dies.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / ".lock"
    with open(path, "a+", encoding="utf-8") as fh:
        deadline = time.monotonic() + timeout
        warned = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not warned:
                    fh.seek(0)
                    holder = fh.read().strip() or "another run"
                    log.warning("waiting for %s to finish with %s (up to %.0fs)", holder, out_dir, timeout)
                    warned = True
                if time.monotonic() >= deadline:
                    raise LockTimeout(
                        f"gave up after {timeout:.0f}s: another run is writing to {out_dir} (lock file {path})"
                    ) from None
                time.sleep(poll)
        fh.seek(0)
        fh.truncate()
        fh.write(f"run pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- datasets


def dataset_dir(out_dir: Path, table: str, under: str = "datasets") -> Path:
    return out_dir / under / table if under else out_dir / table


def read_dataset(out_dir: Path, table: str, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table | None:
    """The table as last written under ``out_dir``, or None if it was never written (or cannot be read)."""
    return read_dataset_dir(dataset_dir(out_dir, table), schema, columns)


def dataset_rows(out_dir: Path, table: str) -> int | None:
    """Rows of a dataset as last written, from the file footers (None if it was never written)."""
    final = dataset_dir(out_dir, table)
    recover_interrupted_swap(final)
    if not final.is_dir():
        return None
    return int(sum(pq.read_metadata(f).num_rows for f in final.rglob("*.parquet")))


def read_dataset_dir(path: Path, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table | None:
    """The dataset in folder ``path`` (all its partitions), or None if there is none (or it cannot be read)."""
    recover_interrupted_swap(path)
    if not path.is_dir():
        return None
    try:
        return pads.dataset(str(path), format="parquet", schema=schema).to_table(columns=columns)
    except (pa.ArrowException, OSError) as exc:
        log.warning("dataset at %s is unreadable (%s); it will be rewritten", path, exc)
        return None


def write_dataset(out_dir: Path, table: str, data: pa.Table, schema: pa.Schema, under: str = "datasets") -> int:
    """Replace the dataset ``table`` with ``data`` (cast to ``schema``) atomically; returns rows written."""
    final = dataset_dir(out_dir, table, under)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swap(final)
    data = data.select(schema.names).cast(schema)
    with _replacing(final) as tmp:
        _write_file(data, tmp / "part-0.parquet")
    return int(data.num_rows)


@contextlib.contextmanager
def _replacing(final: Path) -> Iterator[Path]:
    """A new folder to fill beside ``final``; swapped in for it when the block succeeds, removed if it fails."""
    tmp = final.parent / f"{_TMP_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _fsync_dir(tmp)
        _swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- partitioned datasets

#: Partition folder of rows with no month (an undated article); pyarrow, DuckDB and Polars read it as null.
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def partition_dir(month: str | None) -> str:
    return f"{schemas.PARTITION_COLUMN}={month or HIVE_NULL}"


def partitions(out_dir: Path, table: str) -> dict[str | None, Path]:
    """The month partitions of a dataset as last written: month (None: undated) -> folder."""
    final = dataset_dir(out_dir, table)
    recover_interrupted_swap(final)
    prefix = f"{schemas.PARTITION_COLUMN}="
    if not final.is_dir():
        return {}
    found: dict[str | None, Path] = {}
    for child in sorted(final.iterdir()):
        if child.is_dir() and child.name.startswith(prefix):
            month = child.name[len(prefix) :]
            found[None if month == HIVE_NULL else month] = child
    return found


def read_partition(path: Path, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """One partition folder's rows (without the partition column)."""
    return pads.dataset(str(path), format="parquet", schema=schema).to_table(columns=columns)


def write_partitioned(
    out_dir: Path,
    table: str,
    schema: pa.Schema,
    touched: set[str | None],
    build: Callable[[str | None], pa.Table],
) -> int:
    """Replace a month-partitioned dataset atomically, rewriting only the ``touched`` months.

    Every other partition is carried over as it is (hard-linked, not rewritten). ``build(month)`` gives a
    touched month's rows (already in order); an empty table drops the partition. Returns rows written.
    """
    final = dataset_dir(out_dir, table)
    final.parent.mkdir(parents=True, exist_ok=True)
    current = partitions(out_dir, table)
    rows = 0
    with _replacing(final) as tmp:
        for month, folder in current.items():
            if month in touched:
                continue
            dest = tmp / folder.name
            dest.mkdir()
            for part in sorted(folder.glob("*.parquet")):
                _link_or_copy(part, dest / part.name)
                rows += pq.read_metadata(dest / part.name).num_rows
        for month in sorted(touched, key=lambda m: m or ""):
            data = build(month)
            if data.num_rows == 0:
                continue
            dest = tmp / partition_dir(month)
            dest.mkdir()
            _write_file(data.select(schema.names).cast(schema), dest / "part-0.parquet")
            rows += data.num_rows
    return rows


class Staging:
    """Rows of the new and changed articles, sorted into months as batches arrive, spilled to disk.

    Each batch's rows are split by their article's month and held in memory until ``budget_bytes``
    is reached; then every buffer is written as one Parquet file under ``folder/<table>/month=.../``.
    Memory stays bounded by the budget, not the corpus, and a month's rows are read back together.
    """

    def __init__(self, folder: Path, budget_bytes: int = 256 * 2**20) -> None:
        self.folder = folder
        self.budget = budget_bytes
        self._held: dict[tuple[str, str | None], list[pa.Table]] = {}
        self._bytes = 0
        self._spills = 0
        shutil.rmtree(folder, ignore_errors=True)  # a crashed run's leftovers
        folder.mkdir(parents=True)

    def add(self, table: str, data: pa.Table, months: list[str | None]) -> None:
        """Hold ``data``, whose row i belongs to month ``months[i]``."""
        if data.num_rows == 0:
            return
        codes: dict[str | None, int] = {}
        keys = pa.array([codes.setdefault(m, len(codes)) for m in months], pa.int32())
        for month, code in codes.items():
            part = data.filter(pc.equal(keys, code)) if len(codes) > 1 else data
            self._held.setdefault((table, month), []).append(part)
            self._bytes += part.nbytes
        if self._bytes > self.budget:
            self.spill()

    def spill(self) -> None:
        for (table, month), parts in self._held.items():
            folder = self.folder / table / partition_dir(month)
            folder.mkdir(parents=True, exist_ok=True)
            data = pa.concat_tables(parts)
            data = data.cast(_nullable(data.schema))  # rows not final yet: columns filled later may be empty
            pq.write_table(data, folder / f"part-{self._spills:05d}.parquet", compression="lz4")
        self._held.clear()
        self._bytes = 0
        self._spills += 1

    def read(self, table: str, month: str | None, schema: pa.Schema) -> pa.Table:
        """Every row staged for ``table`` in ``month``."""
        parts = list(self._held.get((table, month), []))
        folder = self.folder / table / partition_dir(month)
        loose = _nullable(schema)  # columns the flow fills in later may still be empty
        if folder.is_dir():
            parts.append(read_partition(folder, loose))
        return pa.concat_tables([p.cast(loose) for p in parts]) if parts else loose.empty_table()

    def close(self) -> None:
        self._held.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_nullable(True) for f in schema], metadata=schema.metadata)


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(src, dest)


def _write_file(data: pa.Table, path: Path) -> None:
    pq.write_table(data, path, compression="zstd")
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _swap_in(tmp: Path, final: Path) -> None:
    if final.exists():
        _exchange(tmp, final)  # tmp now holds the old dataset
        shutil.rmtree(tmp)
    else:
        os.rename(tmp, final)
    _fsync_dir(final.parent)


def recover_interrupted_swap(final: Path) -> None:
    """Finish or undo a swap a crash interrupted, and clear leftover temporary folders."""
    parent = final.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f"{_OLD_PREFIX}{final.name}-*"))
    if not final.exists() and olds:
        os.rename(olds[-1], final)
        log.warning("restored %s from an interrupted write", final)
        olds = olds[:-1]
    for leftover in [*olds, *parent.glob(f"{_TMP_PREFIX}{final.name}-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); else two renames."""
    if _renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if _renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
    # Portable fallback: a crash between these renames is repaired by recover_interrupted_swap.
    old = b.parent / f"{_OLD_PREFIX}{b.name}-{uuid.uuid4().hex[:8]}"
    os.rename(b, old)
    os.rename(a, b)
    os.rename(old, a)


def _load_renameat2() -> Any:
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return None
    try:
        fn = ctypes.CDLL(libc_name, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2 = _load_renameat2()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
