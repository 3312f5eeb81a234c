"""Clauses: a sentence split where its parts can carry their own figures, place, source and time.

"Six over the Ryazan region and six more over the Rostov region, while three were downed over Tula"
is three clauses; "Four people were killed and 20 injured" is one. The boundaries are data
(``data/extract/clauses.yaml``).
"""

from __future__ import annotations

import itertools

from pipeline.extract.figures import lower
from pipeline.extract.rules import Rules


def split_clauses(text: str, rules: Rules) -> list[tuple[int, int]]:
    """The clauses of a sentence as (start, end) offsets that cover it, in order."""
    cuts: set[int] | list[int]
    t = lower(text)
    cuts = {0, len(text), *(m.start() for m in rules.clauses.boundaries.finditer(t))}
    lead = rules.clauses.leading.match(t)
    if lead is not None:
        cuts.add(lead.end())
    cuts = sorted(cuts)
    return [(a, b) for a, b in itertools.pairwise(cuts) if text[a:b].strip(" ,;–—")]


def clause_at(clauses: list[tuple[int, int]], pos: int) -> int:
    """The index of the clause holding offset ``pos``."""
    for i, (a, b) in enumerate(clauses):
        if a <= pos < b:
            return i
    return len(clauses) - 1
