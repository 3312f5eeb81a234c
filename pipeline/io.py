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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

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


def read_dataset(out_dir: Path, table: str, schema: pa.Schema) -> pa.Table | None:
    """The table as last written under ``out_dir``, or None if it was never written (or cannot be read)."""
    return read_dataset_dir(dataset_dir(out_dir, table), schema)


def read_dataset_dir(path: Path, schema: pa.Schema) -> pa.Table | None:
    """The dataset in folder ``path``, or None if there is none (or it cannot be read)."""
    recover_interrupted_swap(path)
    if not path.is_dir():
        return None
    try:
        return pads.dataset(str(path), format="parquet", schema=schema).to_table()
    except (pa.ArrowException, OSError) as exc:
        log.warning("dataset at %s is unreadable (%s); it will be rewritten", path, exc)
        return None


def write_dataset(out_dir: Path, table: str, data: pa.Table, schema: pa.Schema, under: str = "datasets") -> int:
    """Replace the dataset ``table`` with ``data`` (cast to ``schema``) atomically; returns rows written."""
    final = dataset_dir(out_dir, table, under)
    final.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_swap(final)
    data = data.select(schema.names).cast(schema)
    tmp = final.parent / f"{_TMP_PREFIX}{table}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        pq.write_table(data, tmp / "part-0.parquet", compression="zstd")
        with open(tmp / "part-0.parquet", "rb") as fh:
            os.fsync(fh.fileno())
        if final.exists():
            _exchange(tmp, final)  # tmp now holds the old dataset
            shutil.rmtree(tmp)
        else:
            os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(final.parent)
    return int(data.num_rows)


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
