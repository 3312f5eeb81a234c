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

__all__ = ["Figure", "Rules", "extract_article", "find_figures", "load_rules"]


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
