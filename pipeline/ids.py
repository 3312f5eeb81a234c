"""Stable ids: a hash of the parts that identify a row, so reruns give the same ids and tables join."""

from __future__ import annotations

import hashlib


def stable_id(*parts: object) -> str:
    """20 hex digits of the SHA-256 of the parts joined with NUL."""
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()[:20]
