"""Helpers for the extraction tests: tag a short invented text and extract from it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pipeline.extract import extract_article
from pipeline.tag import tag_text

Row = dict[str, Any]
FIGURE_FIELDS = ("drones", "missiles", "drones_downed", "missiles_downed", "killed", "injured")


def extract(
    text: str, published: dt.date = dt.date(2026, 3, 11), topics: list[str] | None = None
) -> tuple[list[Row], list[Row], list[Row]]:
    """Strikes, talks and quotes of ``text`` as an article published on ``published`` (a Wednesday)."""
    tagged = tag_text("t", text)
    article: Row = {"article_id": "t", "body": text, "published": published}
    if topics is not None:
        article["topics"] = topics
    return extract_article(article, tagged.sentences, tagged.mentions)


def figures(row: Row) -> dict[str, int]:
    return {f: row[f] for f in FIGURE_FIELDS if row[f] is not None}


def by_place(rows: list[Row]) -> dict[str | None, Row]:
    return {r["place"]: r for r in rows}
