"""All file I/O: finding and reading input files, reading and writing Parquet datasets.

Input files are opened read-only and never written. A dataset is a folder of
Parquet files under ``OUT/datasets/<table>/``; the tables of one run are written
into a new version folder and published together by replacing one link, so a
reader (or a crash) never sees half a run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from pipeline import schemas
from pipeline.errors import PipelineError, RejectedInput, TooLarge, UnreadableInput

log = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"


# --------------------------------------------------------------------------- input files


_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_name(raw: str) -> str:
    """A file name as it may be stored and shown: bytes that are not UTF-8 (which Python keeps as
    surrogates) and control characters such as newlines become backslash escapes."""
    text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass
class Listing:
    """What is under the seeds folder: the files to read, what cannot be read (and why)."""

    files: list[str] = field(default_factory=list)  # relative POSIX paths, as the file system spells them
    rejects: list[tuple[str, str, str]] = field(default_factory=list)  # (safe name, reason, kind)
    unreadable: set[str] = field(default_factory=set)  # safe names of files and folders that could not be read

    def holds(self, source_file: str) -> bool:
        """Whether an article of ``source_file`` lies in something that could not be read this time."""
        return source_file in self.unreadable or any(source_file.startswith(f"{u}/") for u in self.unreadable)


def discover_inputs(seeds_dir: Path) -> Listing:
    """Every input file under ``seeds_dir``, sorted, and what cannot be an input.

    Only regular files are inputs. Hidden files and folders (``.git``, ``.DS_Store``) are skipped.
    A symbolic link is followed only to a regular file inside the seeds folder; a link that leads
    outside it, to a folder, nowhere, or round in a loop is rejected, as are FIFOs, sockets and
    devices. A folder that cannot be listed is named as unreadable.
    """
    if not seeds_dir.is_dir():
        raise PipelineError(f"seeds folder not found: {seeds_dir}")
    root = seeds_dir.resolve()
    out = Listing()

    def rel(path: str | Path) -> str:
        return safe_name(Path(path).relative_to(seeds_dir).as_posix())

    def unlistable(exc: OSError) -> None:
        if Path(exc.filename) == seeds_dir:  # nothing can be read: a run must not take that for "no files"
            raise PipelineError(f"cannot read the seeds folder {seeds_dir}: {exc.strerror or exc}")
        name = rel(exc.filename)
        out.unreadable.add(name)
        out.rejects.append((name, f"cannot read folder: {exc.strerror or exc}", "unreadable"))

    for here, dirs, files in os.walk(seeds_dir, onerror=unlistable):
        for d in [d for d in dirs if not d.startswith(".") and _is_link(Path(here, d))]:
            out.rejects.append((rel(Path(here, d)), "symbolic link to a folder: not followed", "input"))
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _is_link(Path(here, d)))
        folder = Path(here).relative_to(seeds_dir).as_posix()  # once per folder, not per file
        prefix = "" if folder == "." else f"{folder}/"
        for name in files:
            if name.startswith("."):
                continue
            found = _not_an_input(os.path.join(here, name), root)
            if found is None:
                out.files.append(prefix + name)
            else:
                out.rejects.append((safe_name(prefix + name), *found))
                if found[1] == "unreadable":
                    out.unreadable.add(safe_name(prefix + name))
    out.files.sort()
    return out


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(path.lstat().st_mode)
    except OSError:  # a folder that cannot be searched: walking into it names it as unreadable
        return False


def _not_an_input(path: str, root: Path) -> tuple[str, str] | None:
    """Why ``path`` is not a file to read, and the kind of reject (None when it is one)."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            target = Path(os.path.realpath(path, strict=True))
            if not target.is_relative_to(root):
                return "symbolic link to a file outside the seeds folder: not followed", "input"
            mode = target.stat().st_mode
    except FileNotFoundError:
        return "dangling symbolic link: its target does not exist", "input"
    except PermissionError as exc:  # there, but not ours to look at: its earlier rows are kept
        return f"cannot read file: {exc.strerror or exc}", "unreadable"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop", "input"
        return f"cannot read file: {exc.strerror or exc}", "input"
    if stat.S_ISREG(mode):
        return None
    kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "device or special file"
    return f"not a regular file ({kind})", "input"


@dataclass(frozen=True)
class InputFile:
    name: str  # relative to the seeds folder, as stored in the datasets (see safe_name)
    data: bytes
    sha256: str


def mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


@functools.lru_cache(maxsize=64)
def _real_folder(absolute: str) -> str:
    return os.path.realpath(absolute)


def _opened_inside(fd: int, folder: Path) -> bool:
    """Whether the file open as ``fd`` lies inside ``folder`` (where the system says which file it is)."""
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # no /proc: the listing's own checks stand
        return True
    root = _real_folder(os.path.abspath(folder))
    return opened.startswith(root.rstrip("/") + "/")


def read_input(seeds_dir: Path, name: str, max_bytes: int) -> InputFile:
    """The bytes of one input file, refusing files over ``max_bytes`` before reading them.

    The file is opened read-only and without blocking (a FIFO put in place meanwhile cannot hang the
    run), and must still be a regular file inside the seeds folder once open."""
    path = os.path.join(seeds_dir, name)
    try:
        flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY
        if stat.S_ISLNK(os.lstat(path).st_mode):  # followed only to a file inside the seeds folder
            real = Path(os.path.realpath(path, strict=True))
            if not real.is_relative_to(seeds_dir.resolve()):
                raise RejectedInput("symbolic link to a file outside the seeds folder: not followed")
            fd = os.open(real, flags)
        else:  # not a link: opened as it is, and refused if it became one meanwhile
            fd = os.open(path, flags | os.O_NOFOLLOW)
            if not _opened_inside(fd, seeds_dir):  # a folder on the way was swapped for a link meanwhile
                os.close(fd)
                raise RejectedInput("symbolic link to a file outside the seeds folder: not followed")
        with os.fdopen(fd, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise RejectedInput("not a regular file")
            if info.st_size > max_bytes:
                raise TooLarge(f"file too large: {mib(info.st_size)}, over the {mib(max_bytes)} limit")
            data = fh.read(max_bytes + 1)
    except PermissionError as exc:
        raise UnreadableInput(f"cannot read file: {exc.strerror or exc}") from None
    except OSError as exc:
        raise RejectedInput(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # grew while we looked
        raise TooLarge(f"file too large: over the {mib(max_bytes)} limit")
    return InputFile(safe_name(name), data, hashlib.sha256(data).hexdigest())


# --------------------------------------------------------------------------- caches

_SIGNATURES = pa.schema([pa.field("content_hash", pa.string()), pa.field("signature", pa.binary())])


def _signatures_file(out_dir: Path) -> Path:
    return out_dir / "cache" / "minhash" / "part-0.parquet"


def read_signatures(out_dir: Path) -> dict[str, bytes]:
    """MinHash signatures of earlier runs, by content hash (an empty cache when there is none or it is unreadable).

    The cache is keyed by content: a stale or missing entry is only recomputed, never wrong."""
    path = _signatures_file(out_dir)
    if not path.is_file():
        return {}
    try:
        table = pq.read_table(path, schema=_SIGNATURES)
    except (pa.ArrowException, OSError) as exc:
        log.warning("MinHash cache %s is unreadable (%s); signatures will be recomputed", path, exc)
        return {}
    return dict(zip(table["content_hash"].to_pylist(), table["signature"].to_pylist(), strict=True))


def write_signatures(out_dir: Path, signatures: dict[str, bytes]) -> None:
    table = pa.table({"content_hash": list(signatures), "signature": list(signatures.values())}, schema=_SIGNATURES)
    path = _signatures_file(out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}.parquet")
    try:
        _write_file(table, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(dest: Path, data: bytes) -> None:
    """``data`` at ``dest``, replaced whole (a crash leaves the old file or the new one)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}{dest.suffix}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------- output lock


class LockTimeout(PipelineError):
    """Another run held the output folder for longer than we were willing to wait."""


_HELD = threading.local()  # .folders: the output folders this thread holds the lock of


@contextlib.contextmanager
def output_lock(out_dir: Path, timeout: float = 600.0, poll: float = 0.5) -> Iterator[None]:
    """Hold the output folder for one run at a time (an advisory lock on ``OUT/.lock``).

    A second run waits, saying so, and gives up with LockTimeout after ``timeout`` seconds.
    The lock is released when the run ends, or when its process dies. Within one process the lock
    is re-entrant in the thread that holds it: the command line takes it before the flow starts, and the
    flow takes it again.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        key = out_dir.resolve()
        path = out_dir / ".lock"
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        raise PipelineError(f"cannot write to the output folder {out_dir}: {exc.strerror or exc}") from None
    held: set[Path] = _HELD.__dict__.setdefault("folders", set())
    if key in held:
        fh.close()
        yield
        return
    with fh:
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
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- committed versions
#
# ``OUT/datasets`` is a symbolic link to one folder under ``OUT/.versions/``, which holds every
# table of one run. A run writes its tables into a new folder (unchanged month partitions are hard
# links to the previous version's files), writes a manifest there last, and then replaces the link
# with one atomic rename: readers of ``OUT/datasets/<table>`` see the whole of one run or the whole
# of the one before, and a crash at any point leaves the last committed run in place.

DATASETS = "datasets"
VERSIONS = ".versions"
MANIFEST = "_manifest.json"


class Commit:
    """The tables of one run, written into a new version folder and published together."""

    def __init__(self, out_dir: Path, run_id: str) -> None:
        self.out_dir = out_dir
        self.run_id = run_id
        self.base = committed(out_dir)  # the version this run builds on (None: no committed run yet)
        self.folder = out_dir / VERSIONS / f"{_TMP_PREFIX}{run_id}"
        self.folder.mkdir(parents=True)
        self.rows: dict[str, int] = {}

    def path(self, table: str) -> Path:
        return self.folder / table

    def _stamped(self, table: str, data: pa.Table, schema: pa.Schema) -> pa.Table:
        """``data`` in ``schema``, with this run's id in ``run_id`` (the run that wrote the file); the run
        log keeps each run's own."""
        if "run_id" in schema.names and table != "runs":
            column = pa.array([self.run_id] * data.num_rows, pa.string())
            if "run_id" in data.column_names:
                data = data.set_column(data.schema.get_field_index("run_id"), "run_id", column)
            else:
                data = data.append_column("run_id", column)
        return data.select(schema.names).cast(schema)

    def write(self, table: str, data: pa.Table, schema: pa.Schema) -> int:
        """Write a whole (unpartitioned) table, cast to ``schema``; returns rows written."""
        data = self._stamped(table, data, schema)
        folder = self.path(table)
        folder.mkdir()
        _write_file(data, folder / "part-0.parquet")
        return self._wrote(table, int(data.num_rows))

    def carry(self, table: str) -> int:
        """The base version's table as it is (hard links, nothing rewritten); returns its rows."""
        if self.base is None or not (self.base / table).is_dir():
            raise PipelineError(f"no committed {table!r} table to carry over in {self.out_dir}")
        return self._wrote(table, _link_tree(self.base / table, self.path(table)))

    def write_partitioned(
        self,
        table: str,
        schema: pa.Schema,
        touched: set[str | None],
        build: Callable[[str | None, Path | None], pa.Table],
    ) -> int:
        """A month-partitioned table: the ``touched`` months built anew by ``build(month, base partition or
        None)`` (rows in order; an empty table drops the month), every other month of the base version
        hard-linked. Returns rows."""
        folder = self.path(table)
        folder.mkdir()
        rows = 0
        old = partitions(self.base / table) if self.base is not None else {}
        for month, src in old.items():
            if month not in touched:
                rows += _link_tree(src, folder / src.name)
        for month in sorted(touched, key=lambda m: m or ""):
            data = build(month, old.get(month))
            if data.num_rows == 0:
                continue
            dest = folder / partition_dir(month)
            dest.mkdir()
            _write_file(self._stamped(table, data, schema), dest / "part-0.parquet")
            rows += data.num_rows
        return self._wrote(table, rows)

    def _wrote(self, table: str, rows: int) -> int:
        self.rows[table] = rows
        after_table_write(table)
        return rows

    def publish(self, details: dict[str, Any], keep: int = 5) -> Path:
        """Make this run's tables the datasets, all at once, keeping the ``keep`` newest runs' versions as
        snapshots; returns the committed version folder."""
        missing = [t for t in schemas.TABLES if t not in self.rows]
        if missing:
            raise PipelineError(f"run {self.run_id} wrote no {', '.join(missing)}: not committed")
        manifest = {"run_id": self.run_id, "tables": self.rows, **details}
        with open(self.folder / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        for folder in sorted({p.parent for p in self.folder.rglob("*")} | {self.folder}, reverse=True):
            _fsync_dir(folder)
        final = self.folder.with_name(self.run_id)
        os.rename(self.folder, final)
        _fsync_dir(final.parent)
        _point_to(self.out_dir, final)
        prune_versions(self.out_dir, keep, current=final.name)
        return final

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def after_table_write(table: str) -> None:
    """Called after each table of a run is written, before the run is committed (tests inject faults here)."""


def new_run_id() -> str:
    """A run id that sorts by start time: ``20261201T143000.123456Z-1a2b3c4d``."""
    now = time.time()
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}.{int(now % 1 * 1e6):06d}Z-{uuid.uuid4().hex[:8]}"


def committed(out_dir: Path) -> Path | None:
    """The version folder ``OUT/datasets`` points to, if it is a complete committed run."""
    link = out_dir / DATASETS
    if not link.is_symlink():
        return None
    target = (link.parent / os.readlink(link)).resolve()
    return target if (target / MANIFEST).is_file() else None


def read_manifest(version: Path | None) -> dict[str, Any]:
    """What a committed version's run wrote (its ``_manifest.json``); empty when there is none or it is unreadable."""
    if version is None:
        return {}
    try:
        manifest = json.loads((version / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def previous_datasets(out_dir: Path) -> Path | None:
    """Where the last run's tables are: the committed version, or a folder of the layout before
    versions (read only for first-seen times; its tables were swapped in one at a time)."""
    link = out_dir / DATASETS
    if link.is_symlink():
        return committed(out_dir)
    return link if link.is_dir() else None


def recover(out_dir: Path) -> list[str]:
    """Repair what an interrupted run left under ``out_dir`` (call with the output lock held).

    A link to a missing or incomplete version is pointed back at the newest complete one; the
    folders of runs that never committed are removed. Returns what was done, for the log.
    """
    done: list[str] = []
    versions = out_dir / VERSIONS
    if versions.is_dir():
        for leftover in sorted(versions.glob(f"{_TMP_PREFIX}*")):
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"removed {leftover.name[len(_TMP_PREFIX) :]}, a run that did not finish")
    for leftover in sorted(out_dir.glob(f".{DATASETS}-*")):  # a link made but not yet renamed into place
        leftover.unlink(missing_ok=True)
    for leftover in [*out_dir.glob(f"reports/{_TMP_PREFIX}*"), out_dir / ".staging"]:  # reports, rows in flight
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
            done.append(f"removed {leftover.relative_to(out_dir)}, left by a run that did not finish")
    link = out_dir / DATASETS
    if (link.is_symlink() or not link.exists()) and committed(out_dir) is None:
        complete = sorted(v for v in versions.glob("*") if (v / MANIFEST).is_file()) if versions.is_dir() else []
        if complete:
            _point_to(out_dir, complete[-1])
            done.append(f"datasets pointed back at {complete[-1].name}, the last complete run")
        elif link.is_symlink():
            link.unlink()
            done.append("removed a link to datasets that were never complete")
    return done


def _point_to(out_dir: Path, version: Path) -> None:
    """Replace ``OUT/datasets`` with a link to ``version`` in one rename (moving a pre-versions folder aside)."""
    link = out_dir / DATASETS
    if link.is_dir() and not link.is_symlink():  # the layout before versions: becomes an old version
        os.rename(link, out_dir / VERSIONS / f"unversioned-{uuid.uuid4().hex[:8]}")
    tmp = out_dir / f".{DATASETS}-{uuid.uuid4().hex[:8]}"
    os.symlink(os.path.relpath(version, out_dir), tmp)
    os.replace(tmp, link)
    _fsync_dir(out_dir)


def snapshots(out_dir: Path) -> list[Path]:
    """The committed versions under ``out_dir``, oldest first (their names are run ids, which sort by time)."""
    folder = out_dir / VERSIONS
    if not folder.is_dir():
        return []
    found = [v for v in folder.iterdir() if _RUN_ID.fullmatch(v.name) and (v / MANIFEST).is_file()]
    return sorted(found, key=lambda v: v.name)


_RUN_ID = re.compile(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}")


def prune_versions(out_dir: Path, keep: int, current: str) -> None:
    """Remove every version folder but those of the ``keep`` newest committed runs and ``current``. Unchanged
    files are hard links shared between versions, so a snapshot costs only the partitions its run rewrote."""
    kept = {v.name for v in snapshots(out_dir)[-keep:]} | {current}
    for version in (out_dir / VERSIONS).iterdir():
        if version.name not in kept and not version.name.startswith(_TMP_PREFIX):
            shutil.rmtree(version, ignore_errors=True)


# --------------------------------------------------------------------------- reading datasets


def read_dataset(
    folder: Path, table: str, schema: pa.Schema, columns: list[str] | None = None, where: pc.Expression | None = None
) -> pa.Table | None:
    """Table ``table`` of a datasets folder (all its partitions; the rows ``where`` holds), or None if it is
    not there (or unreadable)."""
    return read_dataset_dir(folder / table, schema, columns, where)


def read_dataset_dir(
    path: Path, schema: pa.Schema, columns: list[str] | None = None, where: pc.Expression | None = None
) -> pa.Table | None:
    """The dataset in folder ``path`` (all its partitions; the rows ``where`` holds), or None if there is none
    (or it cannot be read)."""
    if not path.is_dir():
        return None
    try:
        return pads.dataset(str(path), format="parquet", schema=schema).to_table(columns=columns, filter=where)
    except (pa.ArrowException, OSError) as exc:
        log.warning("dataset at %s is unreadable (%s); it will be rewritten", path, exc)
        return None


#: Partition folder of the rows with no month (undated articles). A value rather than Hive's null
#: folder: pandas cannot load a dictionary-typed partition column with nulls.
UNDATED = "undated"


def partition_dir(month: str | None) -> str:
    return f"{schemas.PARTITION_COLUMN}={month or UNDATED}"


def partitions(folder: Path) -> dict[str | None, Path]:
    """The month partitions of one table's folder: month (None: undated) -> folder."""
    prefix = f"{schemas.PARTITION_COLUMN}="
    if not folder.is_dir():
        return {}
    found: dict[str | None, Path] = {}
    for child in sorted(folder.iterdir()):
        if child.is_dir() and child.name.startswith(prefix):
            month = child.name[len(prefix) :]
            found[None if month == UNDATED else month] = child
    return found


def read_partition(path: Path, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """One partition folder's rows (without the partition column)."""
    return pads.dataset(str(path), format="parquet", schema=schema).to_table(columns=columns)


class Staging:
    """Rows of the new and changed articles, held as batches arrive and spilled to disk by month.

    Each batch's rows are held in memory, with their article's month, until ``budget_bytes`` is
    reached; then each table's rows are split by month and written as one Arrow file (LZ4) per table
    and month under ``folder/<table>/month=.../``. Memory stays bounded by the budget, not the corpus, and a
    month's rows are read back together.

    A batch is held whole and split by month only when spilled. Split as it came, a batch of 250
    articles over three years of news made a few dozen small tables for each table, whose Arrow and
    Python objects cost the process more memory than the rows they held.
    """

    DEFAULT_BUDGET = 64 * 2**20

    def __init__(self, folder: Path, budget_bytes: int | None = None) -> None:
        self.folder = folder
        self.budget = self.DEFAULT_BUDGET if budget_bytes is None else budget_bytes
        self._held: dict[str, list[tuple[pa.Table, np.ndarray]]] = {}  # table -> (rows, month code of each row)
        self._codes: dict[str | None, int] = {}  # month -> its code
        self._bytes = 0
        self._spills = 0
        shutil.rmtree(folder, ignore_errors=True)  # a crashed run's leftovers
        folder.mkdir(parents=True)

    def add(self, table: str, data: pa.Table, months: list[str | None]) -> None:
        """Hold ``data``, whose row i belongs to month ``months[i]``."""
        if data.num_rows == 0:
            return
        codes = np.fromiter((self._codes.setdefault(m, len(self._codes)) for m in months), np.int32, len(months))
        self._held.setdefault(table, []).append((data, codes))
        self._bytes += data.nbytes
        if self._bytes > self.budget:
            self.spill()

    def _held_rows(self, table: str) -> tuple[pa.Table, np.ndarray]:
        """The rows of ``table`` held now, in the order they came, and the month code of each."""
        held = self._held.get(table, [])
        if not held:
            return pa.table({}), np.empty(0, np.int32)
        return pa.concat_tables([rows for rows, _ in held]), np.concatenate([codes for _, codes in held])

    def spill(self) -> None:
        """Write what is held, one Arrow file per table and month, and let it go.

        Each table's rows are sorted by month once (stably), and each month's rows are copied out on their
        own, so a spill needs little more memory than the rows held. The files are Arrow's own format,
        compressed with LZ4, which is written several times faster than Parquet: they are read once, by
        this run.
        """
        month_of = {code: month for month, code in self._codes.items()}
        for table in self._held:
            data, codes = self._held_rows(table)
            data = data.cast(_nullable(data.schema))  # rows not final yet: columns filled later may be empty
            order = np.argsort(codes, kind="stable")
            cuts = [0, *(np.flatnonzero(np.diff(codes[order])) + 1), len(codes)]
            for start, stop in itertools.pairwise(cuts):
                folder = self.folder / table / partition_dir(month_of[int(codes[order[start]])])
                folder.mkdir(parents=True, exist_ok=True)
                part = data.take(pa.array(order[start:stop]))
                write_arrow_file(folder / f"part-{self._spills:05d}.arrow", part, "lz4")
        self._held.clear()
        self._bytes = 0
        self._spills += 1

    def read(self, table: str, month: str | None, schema: pa.Schema) -> pa.Table:
        """Every row staged for ``table`` in ``month``."""
        loose = _nullable(schema)  # columns the flow fills in later may still be empty
        folder = self.folder / table / partition_dir(month)
        parts = [read_arrow_file(path) for path in sorted(folder.glob("*.arrow"))]
        data, codes = self._held_rows(table)
        if month in self._codes and (codes == self._codes[month]).any():
            parts.append(data.filter(pa.array(codes == self._codes[month])))
        return pa.concat_tables([p.cast(loose) for p in parts]) if parts else loose.empty_table()

    def close(self) -> None:
        self._held.clear()
        shutil.rmtree(self.folder, ignore_errors=True)


def write_arrow_file(path: Path, data: pa.Table, compression: str | None = None) -> None:
    """``data`` as an Arrow IPC file at ``path`` (for rows this run reads back itself, not for users)."""
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, data.schema, options=options) as writer:
        writer.write_table(data)


def read_arrow_file(path: Path) -> pa.Table:
    """The rows of an Arrow IPC file, memory-mapped (uncompressed columns are not copied)."""
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def _nullable(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_nullable(True) for f in schema], metadata=schema.metadata)


def _link_tree(src: Path, dest: Path) -> int:
    """Every Parquet file under ``src`` hard-linked (or copied) to the same place under ``dest``; their rows."""
    rows = 0
    for part in sorted(src.rglob("*.parquet")):
        target = dest / part.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(part, target)
        rows += pq.read_metadata(target).num_rows
    return rows


def _link_or_copy(src: Path, dest: Path) -> None:
    try:
        os.link(src, dest)
    except OSError:  # another file system, or links not allowed: a copy, on disk before the commit
        shutil.copy2(src, dest)
        with open(dest, "rb") as fh:
            os.fsync(fh.fileno())


def _write_file(data: pa.Table, path: Path) -> None:
    pq.write_table(data, path, compression="zstd")
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


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
