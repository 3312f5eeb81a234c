"""De-duplication: exact copies by content hash, near-duplicates by MinHash over word shingles.

A republished wire story differs from the original by a headline, a byline, a
promo line or a trimmed paragraph; its word 5-shingles still overlap heavily.
MinHash signatures estimate that overlap (Jaccard similarity) cheaply, and
locality-sensitive hashing (banding) finds candidate pairs without comparing
every pair, so this scales to large corpora.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

SHINGLE_WORDS = 5
NUM_PERM = 128
BANDS = 32  # 32 bands of 4 rows: pairs above ~0.5 similarity almost always become candidates
THRESHOLD = 0.7  # estimated Jaccard similarity at or above which two articles are near-duplicates

_WORD = re.compile(r"\w+", re.UNICODE)
_rng = np.random.default_rng(20260124)  # fixed seed: signatures are stable across runs and machines
_MULT = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_ADD = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)


def fold(text: str) -> str:
    """Case- and whitespace-folded text: what must be equal for two bodies to be exact copies."""
    return " ".join(text.casefold().split())


def content_hash(body: str) -> str:
    return hashlib.sha256(fold(body).encode("utf-8")).hexdigest()[:32]


def minhash(body: str) -> np.ndarray:
    """MinHash signature (``NUM_PERM`` uint64) of the body's word shingles."""
    words = _WORD.findall(body.casefold())
    n = max(1, len(words) - SHINGLE_WORDS + 1)
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(n)}
    # each shingle's 8-byte BLAKE2b digest read as a little-endian uint64, all digests joined and read at once
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(s.encode(), digest_size=8).digest() for s in shingles])
    base = np.frombuffer(digests, dtype="<u8").astype(np.uint64, copy=False)
    # One multiply-add hash per permutation, wrapping mod 2**64; the minimum over shingles is the signature.
    with np.errstate(over="ignore"):
        hashed = base[:, None] * _MULT[None, :] + _ADD[None, :]
    return hashed.min(axis=0)  # type: ignore[no-any-return]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def find_duplicates(
    article_ids: Sequence[str],
    content_hashes: Sequence[str],
    signatures: Sequence[bytes],
    order_keys: Sequence[tuple[object, ...]],
    threshold: float = THRESHOLD,
) -> list[str | None]:
    """For each article, the id of the earlier article it repeats, or None.

    "Earlier" is by ``order_keys`` (publication date, then path): the first article of a
    group of copies is the original and every other one points at it. ``signatures`` are the
    articles' :func:`minhash` signatures as bytes.
    """
    n = len(article_ids)
    order = sorted(range(n), key=lambda i: order_keys[i])
    rank = {i: r for r, i in enumerate(order)}
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        ri, rj = root(i), root(j)
        if ri != rj:  # the earlier article becomes the group's root
            if rank[rj] < rank[ri]:
                ri, rj = rj, ri
            parent[rj] = ri

    first_with_hash: dict[str, int] = {}
    for i in order:
        if content_hashes[i] in first_with_hash:
            union(first_with_hash[content_hashes[i]], i)
        else:
            first_with_hash[content_hashes[i]] = i

    distinct = np.array(sorted(first_with_hash.values()), dtype=np.int64)
    for a, b in _similar_pairs(np.stack([np.frombuffer(signatures[i], dtype=np.uint64) for i in distinct]), threshold):
        union(int(distinct[a]), int(distinct[b]))

    out: list[str | None] = []
    for i in range(n):
        r = root(i)
        out.append(None if r == i else article_ids[r])
    return out


def _similar_pairs(sigs: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs of rows of ``sigs`` (one signature per row) whose estimated similarity reaches ``threshold``.

    Locality-sensitive hashing: rows that agree on all of one band's values are candidates, and only
    candidates are compared. Bands are hashed and grouped by sorting, on arrays, so memory and time stay
    near-linear in the number of articles.
    """
    if len(sigs) < 2:
        return []
    rows = NUM_PERM // BANDS
    bands = sigs.reshape(len(sigs), BANDS, rows)
    keys = bands[:, :, 0].copy()
    with np.errstate(over="ignore"):
        for r in range(1, rows):  # a band's values mixed into one key (a collision only adds a candidate)
            keys = (keys * np.uint64(0x9E3779B97F4A7C15)) ^ bands[:, :, r]
    found: set[tuple[int, int]] = set()
    for band in range(BANDS):  # one band at a time, so memory stays at one band's candidates
        order = np.argsort(keys[:, band], kind="stable")
        ordered = keys[order, band]
        edges = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
        starts, stops = np.r_[0, edges], np.r_[edges, len(ordered)]
        shared = stops - starts > 1
        firsts, seconds = [], []
        for start, stop in zip(starts[shared].tolist(), stops[shared].tolist(), strict=True):
            members = np.sort(order[start:stop])
            x, y = np.triu_indices(len(members), k=1)
            firsts.append(members[x])
            seconds.append(members[y])
        if not firsts:
            continue
        a_all, b_all = np.concatenate(firsts), np.concatenate(seconds)
        for lo in range(0, len(a_all), 20000):  # compare candidates in chunks (a pair seen in two bands twice)
            a, b = a_all[lo : lo + 20000], b_all[lo : lo + 20000]
            similar = (sigs[a] == sigs[b]).mean(axis=1) >= threshold
            found.update(zip(a[similar].tolist(), b[similar].tolist(), strict=True))
    return sorted(found)
