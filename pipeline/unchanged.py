"""An unchanged re-run, told apart before the flow starts.

After a run succeeds, ``pipeline run`` records what decided its outputs: every input file's metadata
(inode, size, modification and change times, mode), the corrections file's bytes, the options that
change rows or reports, the pipeline's code, rules and notebooks, the installed packages' versions,
and the outputs the run left (the committed version and its manifest, every report file). When a
later run finds all of it the same, the datasets and reports it would write are the ones already
there: it says so and ends without the flow (or a wait for the API server), where a full unchanged
re-run would wait for the server, run the flow and write a snapshot that is the same as the one before.

File metadata stands in for content, as ``make`` and git's index do. The change time (``ctime``) is
set by the kernel on every write and cannot be set back, so an edit is seen even when the size and
modification time are kept. A file changed in the seconds before a run might change again within the
file system's clock tick: then the run records nothing, and the next run looks at the contents.
Anything that cannot be looked at counts as changed. ``--full`` always runs the flow.

This module does not import Prefect, spaCy or the rules: looking costs about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pipeline import ids, io
from pipeline.errors import PipelineError

#: Under the output folder: the last recorded run.
RECORD = Path("cache") / "last_run.json"
#: The record's layout; a record of another layout is not read.
FORMAT = 1
#: A file changed less than this many seconds before the look is not taken as settled.
SETTLE = 2.0
#: Top-level entries of the output folder that a run's outputs do not include.
_NOT_OUTPUTS = {"cache", "logs", ".lock"}


@dataclass(frozen=True)
class Look:
    """What decides a run's outputs, as it stood before the run read anything."""

    key: dict[str, Any]
    files: int
    settled: bool  # no file changed within SETTLE seconds of the look


def look(seeds_dir: Path, options: dict[str, Any], corrections_file: Path | None) -> Look:
    """The inputs, options and code of a run about to start (``corrections_file``: the file the run will
    read, None for none). ``options`` holds the run's arguments that change rows or reports."""
    started = time.time()
    listing = io.discover_inputs(seeds_dir)
    digest = hashlib.sha256()
    newest = 0.0
    for name in listing.files:
        line, changed = _metadata(seeds_dir / name)
        digest.update(os.fsencode(name) + f"\0{line}\n".encode())  # a name's bytes as the file system has them
        newest = max(newest, changed)
    digest.update(json.dumps([sorted(listing.rejects), sorted(listing.unreadable)]).encode())
    key = {
        "format": FORMAT,
        "seeds": str(seeds_dir.resolve()),
        "inputs": digest.hexdigest(),
        "corrections": _corrections(corrections_file),
        "options": options,
        "code": code_digest(),
    }
    return Look(key=key, files=len(listing.files), settled=newest < started - SETTLE)


def _metadata(path: Path) -> tuple[str, float]:
    """A file's metadata (a link's, and its target's) as a line, and the last time it changed; a file that
    cannot be looked at gives the error, so that it reads as changed until it can be."""
    try:
        infos = [os.lstat(path)]
        if stat.S_ISLNK(infos[0].st_mode):
            infos.append(os.stat(path))
    except OSError as exc:
        return f"error {exc.errno}", time.time()
    line = " ".join(f"{i.st_ino} {i.st_size} {i.st_mtime_ns} {i.st_ctime_ns} {i.st_mode}" for i in infos)
    return line, max(max(i.st_mtime, i.st_ctime) for i in infos)


def _corrections(path: Path | None) -> str | None:
    """The corrections file and a hash of its bytes ("missing" when it cannot be read)."""
    if path is None:
        return None
    try:
        return f"{path.resolve()}\0{hashlib.sha256(path.read_bytes()).hexdigest()}"
    except OSError:
        return f"{path.resolve()}\0missing"


def code_digest() -> str:
    """A hash of everything besides the inputs that decides a run's outputs: the fingerprint that decides
    rows (:func:`pipeline.ids.fingerprint`: the package's code and data files, the Python version, the
    row-shaping libraries), the report notebooks, and every installed package's version (the reports'
    too). What cannot be read goes in as a marker, so that it reads as changed once it can be."""
    from pipeline import render

    digest = hashlib.sha256()
    try:
        digest.update(ids.fingerprint().encode())
        try:
            notebooks = render.notebooks_dir()
        except PipelineError:
            digest.update(b"no notebooks\n")
        else:
            ids.add_files(digest, notebooks, [p for p in notebooks.rglob("*") if ".ipynb_checkpoints" not in p.parts])
    except OSError as exc:
        digest.update(f"unreadable {exc.filename} {exc.errno}\n".encode())
    packages = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())
    digest.update("\n".join(packages).encode())
    return digest.hexdigest()


def outputs(out_dir: Path) -> dict[str, Any] | None:
    """What a run left under ``out_dir``: the committed version and a hash of its manifest, the other entries
    of the folder (a leftover of an interrupted run shows here), and every report file's size and time.
    None when no run is committed."""
    current = io.committed(out_dir)
    if current is None:
        return None
    versions = out_dir / io.VERSIONS
    reports = out_dir / "reports"
    files = sorted(p for p in reports.rglob("*") if p.is_file()) if reports.is_dir() else []
    return {
        "version": current.name,
        "manifest": hashlib.sha256((current / io.MANIFEST).read_bytes()).hexdigest(),
        "entries": sorted(p.name for p in out_dir.iterdir() if p.name not in _NOT_OUTPUTS),
        "versions": sorted(p.name for p in versions.iterdir()) if versions.is_dir() else [],
        "reports": [[str(p.relative_to(reports)), p.stat().st_size, p.stat().st_mtime_ns] for p in files],
    }


def last_run(out_dir: Path, now: Look) -> dict[str, Any] | None:
    """The record of the last run when nothing that decides the outputs has changed since (call with the
    output lock held); None when anything has, or there is no record to compare with."""
    try:
        record = json.loads((out_dir / RECORD).read_text(encoding="utf-8"))
        if record.get("key") != now.key:
            return None
        return record if record.get("outputs") == outputs(out_dir) else None
    except (OSError, ValueError, AttributeError):
        return None


def forget(out_dir: Path) -> None:
    """Drop the record: a run is starting, and until it ends, its outputs are not the record's."""
    (out_dir / RECORD).unlink(missing_ok=True)


#: Rejected files of these kinds may be read next time (a busy machine, a crash, a read error that leaves
#: the file as it was): a run that has any records nothing, so that the next one reads them again.
RETRIED = frozenset({"budget", "failure", "unreadable"})


def remember(out_dir: Path, before: Look, run_id: str, lines: list[str], reject_kinds: list[str]) -> bool:
    """Record a run that has just succeeded (with the output lock still held): ``before`` is the look taken
    before it started, ``lines`` what stays true of its outputs while nothing changes, ``reject_kinds`` the
    kind of each file it rejected (an article kept because its file could not be read counts as
    ``unreadable``). Nothing is recorded, and False returned, when a file had changed just before the run
    or a rejected file may be read next time."""
    state = outputs(out_dir)
    if not before.settled or state is None or RETRIED & set(reject_kinds):
        return False
    record = {"key": before.key, "outputs": state, "run_id": run_id, "files": before.files}
    record["rejected"] = len(reject_kinds)  # each an input that stays rejected while it is unchanged
    record["lines"] = lines
    io.write_bytes(out_dir / RECORD, json.dumps(record, indent=1).encode())
    return True
