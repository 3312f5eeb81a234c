"""Stable ids: a hash of the parts that identify a row, so reruns give the same ids and tables join."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: The package's own folder: its modules and data files.
PACKAGE = Path(__file__).resolve().parent


def stable_id(*parts: object) -> str:
    """20 hex digits of the SHA-256 of the parts joined with NUL."""
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()[:20]


def package_files() -> list[Path]:
    """Every module and data file of the package (gazetteer, rules, map outline ...), no compiled caches."""
    return [p for p in PACKAGE.rglob("*") if p.suffix != ".pyc" and "__pycache__" not in p.parts]


def add_files(digest: Any, root: Path, paths: Iterable[Path]) -> None:
    """Each file of ``paths`` (folders are skipped), by its path under ``root`` and the SHA-256 of its bytes,
    into ``digest``, in path order; an OSError if one cannot be read."""
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
