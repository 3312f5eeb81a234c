"""Event extraction: strike claims, negotiating rounds and quotes, each tied to its sentence.

One module per concern, each a set of pure functions over one article: ``figures`` (numbers and their
roles), ``clauses``, ``places``, ``attribution`` (who says so), ``strikes``, ``talks`` and ``quotes``.
Every word list and phrase they use lives in ``pipeline/data/extract/*.yaml``, compiled once into a
:class:`Rules` (:func:`load_rules`) that is passed in.
"""

from __future__ import annotations

from typing import Any

from pipeline.extract.article import build_view
from pipeline.extract.figures import Figure, find_figures
from pipeline.extract.quotes import extract_quotes
from pipeline.extract.rules import Rules, load_rules
from pipeline.extract.strikes import extract_strikes
from pipeline.extract.talks import extract_talks
from pipeline.gazetteer import Gazetteer, load_gazetteer

Row = dict[str, Any]

__all__ = ["Figure", "Rules", "extract_article", "extract_batch", "find_figures", "load_rules"]


def extract_article(
    article: Row,
    sentences: list[Row],
    mentions: list[Row],
    rules: Rules | None = None,
    gazetteer: Gazetteer | None = None,
) -> tuple[list[Row], list[Row], list[Row]]:
    """Strikes, talks and quotes of one article, from its cleaned body, sentences and mentions."""
    view = build_view(article, sentences, mentions, rules or load_rules(), gazetteer or load_gazetteer())
    return extract_strikes(view), extract_talks(view), extract_quotes(view)


def extract_batch(
    articles: list[Row],
    sentences: list[Row],
    mentions: list[Row],
    rules: Rules | None = None,
    gazetteer: Gazetteer | None = None,
) -> tuple[list[Row], list[Row], list[Row]]:
    """Strikes, talks and quotes of a batch of articles, from their sentences and mentions."""
    rules, gazetteer = rules or load_rules(), gazetteer or load_gazetteer()
    sents: dict[str, list[Row]] = {}
    ments: dict[str, list[Row]] = {}
    for row in sentences:
        sents.setdefault(row["article_id"], []).append(row)
    for m in mentions:
        ments.setdefault(m["article_id"], []).append(m)
    strikes: list[Row] = []
    talks: list[Row] = []
    quotes: list[Row] = []
    for a in articles:
        found = extract_article(a, sents.get(a["article_id"], []), ments.get(a["article_id"], []), rules, gazetteer)
        strikes += found[0]
        talks += found[1]
        quotes += found[2]
    return strikes, talks, quotes
