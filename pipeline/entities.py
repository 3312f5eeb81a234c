"""The ``entities`` table: one row per canonical entity the mentions name, with its spellings and counts.

Built from the ``mentions`` rows alone (no tokenizer), so the flow process that writes it never loads spaCy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from pipeline import schemas

_ENTITY_FIELDS = ["kind", "country", "admin1", "admin1_code", "lat", "lon"]

#: The ``mentions`` columns :func:`build_entities_from` reads.
ENTITY_SOURCE_COLUMNS = ["article_id", "entity_id", "text", "label", "name", *_ENTITY_FIELDS]


def build_entities(mentions: pa.Table) -> pa.Table:
    """The ``entities`` table: one row per canonical entity, with spellings seen and counts."""
    return build_entities_from([mentions])


def build_entities_from(parts: Iterable[pa.Table]) -> pa.Table:
    """The ``entities`` table from the mentions, one part at a time (each article's mentions in one part).

    An entity's fields come from its first mention; counts add up over the parts.
    """
    first: dict[str, dict[str, Any]] = {}
    aliases: dict[str, set[str]] = {}
    mentions: dict[str, int] = {}
    articles: dict[str, int] = {}
    fields = ["label", "name", *_ENTITY_FIELDS]
    for part in parts:
        if part.num_rows == 0:
            continue
        grouped = part.group_by("entity_id", use_threads=False).aggregate(
            [
                ("text", "distinct"),
                ("article_id", "count_distinct"),
                ("entity_id", "count"),
                *[(f, "first") for f in fields],
            ]
        )
        for row in grouped.to_pylist():
            eid = row["entity_id"]
            first.setdefault(eid, {f: row[f"{f}_first"] for f in fields})
            aliases.setdefault(eid, set()).update(row["text_distinct"])
            mentions[eid] = mentions.get(eid, 0) + row["entity_id_count"]
            articles[eid] = articles.get(eid, 0) + row["article_id_count_distinct"]
    rows = [
        {
            "entity_id": eid,
            **first[eid],
            "aliases_seen": sorted(aliases[eid]),
            "mentions": mentions[eid],
            "articles": articles[eid],
        }
        for eid in sorted(first)
    ]
    return pa.Table.from_pylist(rows, schema=schemas.ENTITIES)
