"""Stable ids: a hash of the parts that identify a row, so reruns give the same ids and tables join."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

#: The package's own folder: its modules and data files.
PACKAGE = Path(__file__).resolve().parent


def stable_id(*parts: object) -> str:
    """20 hex digits of the SHA-256 of the parts joined with NUL."""
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()[:20]


#: What the package is made of: its modules, rules, gazetteer and map outline (and, installed from a wheel,
#: its notebooks). Anything else under its folder (compiled caches, an editor's swap or backup file, a
#: stray test cache) is not part of it.
PACKAGE_SUFFIXES = frozenset({".py", ".yaml", ".csv", ".geojson", ".ipynb"})


def package_files() -> list[Path]:
    """Every module and data file of the package (:data:`PACKAGE_SUFFIXES`), hidden files and folders and
    compiled caches left out."""
    return [
        p
        for p in PACKAGE.rglob("*")
        if p.suffix in PACKAGE_SUFFIXES
        and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(PACKAGE).parts)
    ]


#: Installed libraries whose behaviour shapes an article's rows: decoding, HTML parsing, tokenising, date
#: parsing, pattern matching, hashing into tables. Their versions are part of :func:`fingerprint`.
ROW_LIBRARIES = (
    "charset-normalizer",
    "dateparser",
    "htmldate",
    "justext",
    "lxml",
    "lxml_html_clean",
    "numpy",
    "pyarrow",
    "pyyaml",
    "regex",
    "spacy",
    "trafilatura",
)


@functools.cache
def fingerprint() -> str:
    """The one digest of everything besides an input file's bytes that can change the rows made from it:
    every module and data file of the package (code, rules, gazetteer), the Python version and the
    versions of :data:`ROW_LIBRARIES`. Rows made under another fingerprint are never reused, so an edited
    rule file or module takes effect on the next run without anything bumped by hand. Computed once per
    process (about 15 ms); an OSError if a package file cannot be read."""
    digest = hashlib.sha256(f"python {platform.python_version()}\n".encode())
    add_files(digest, PACKAGE, package_files())
    for name in ROW_LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}=={version}\n".encode())
    return digest.hexdigest()


def add_files(digest: Any, root: Path, paths: Iterable[Path]) -> None:
    """Each file of ``paths`` (folders are skipped), by its path under ``root`` and the SHA-256 of its bytes,
    into ``digest``, in path order; an OSError if one cannot be read."""
    for path in sorted(p for p in paths if p.is_file()):
        digest.update(os.fsencode(path.relative_to(root)) + b"\0")
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
