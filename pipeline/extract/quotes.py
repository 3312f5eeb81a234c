"""Quotations: the quoted words, who said them and through which channel.

The speaker comes from the attribution on either side of the quotation ("..., Ushakov said in a
statement", "Zelensky wrote on X: ..."), found as for claims with the quoted words blanked out, so that
a name inside the quotation never becomes its speaker. "He" and "she" resolve to the last person who
spoke; a paragraph that only goes on quoting keeps the speaker of the quotation before it.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from pipeline import budget
from pipeline.extract.article import ArticleView, quotations
from pipeline.extract.attribution import Claimant, Context, find_claimants, pronoun_person, resolve
from pipeline.extract.figures import lower
from pipeline.extract.rules import QUOTE_KINDS
from pipeline.ids import stable_id

Row = dict[str, Any]
_NEAR = 45  # characters between a quotation and its attribution


def extract_quotes(view: ArticleView) -> list[Row]:
    """Every quotation of an article with its speaker and channel."""
    body = str(view.article.get("body") or "")
    sentences = view.sentences
    if not sentences:
        return []
    starts = [s.start for s in sentences]
    spans = quotations(view)
    span_starts, span_ends = [s0 for s0, _ in spans], [s1 for _, s1 in spans]  # in order, never overlapping
    rows: list[Row] = []
    last: tuple[str | None, str | None] = (None, None)  # speaker and channel of the previous quotation
    for q0, q1 in spans:
        budget.check()
        text = body[q0:q1]
        if len(text.split()) < view.rules.quotes.min_words:
            continue  # scare quotes: "outstanding elements"
        first = max(0, bisect.bisect_right(starts, q0) - 1)
        final = max(first, bisect.bisect_right(starts, max(q0, q1 - 1)) - 1)
        if all(sv.repeat for sv in sentences[first : final + 1]):
            continue  # the same sentences, word for word, as earlier in the article: quoted once
        a, b = sentences[first].start, sentences[final].end
        # the attribution: the sentences around the quotation, with every quoted stretch blanked out
        # (only the quotations that reach into them: found by binary search, so the cost stays linear)
        near = spans[bisect.bisect_right(span_ends, a - 1) : bisect.bisect_left(span_starts, b + 1)]
        context = list(body[a:b])
        for s0, s1 in near:
            for k in range(max(s0 - 1, a), min(s1 + 1, b)):
                context[k - a] = " "
        outside = "".join(context)
        mentions = [
            m
            for sv in sentences[first : final + 1]
            for m in sv.mentions
            if not any(s0 <= m["start"] < s1 for s0, s1 in near)
        ]
        claimants = find_claimants(outside, a, mentions, view.rules)
        claimant, beside = _nearest(claimants, q0 - a, q1 - a, outside, view.rules.quotes.new_statement)
        speaker, basis = None, "no attribution"
        if claimant is not None:
            speaker = _speaker(view, claimant, first, final, a, mentions)
            pronominal = claimant.kind in ("pronoun", "body pronoun")
            basis = "pronoun" if pronominal else "beside" if beside else "further away"
        elif not outside.strip(" .,;:–—-"):
            speaker, basis = last[0], "continued"  # a paragraph that only goes on quoting
        lowered = lower(outside)
        channel = view.rules.quotes.channels.first(lowered)
        if channel is None and speaker is not None and speaker == last[0]:
            channel = last[1]
        rows.append(
            {
                "quote_id": stable_id(view.article_id, q0),
                "article_id": view.article_id,
                "sentence_idx": sentences[first].idx,
                "start": q0,
                "end": q1,
                "speaker": speaker,
                "text": text,
                "channel": channel,
                "confidence": view.rules.calibration.confidence("quotes", QUOTE_KINDS[basis]),
                "confidence_basis": QUOTE_KINDS[basis],
            }
        )
        last = (speaker or last[0], channel if speaker else last[1])
    return rows


def _nearest(
    claimants: list[Claimant], q0: int, q1: int, outside: str, new_statement: re.Pattern[str]
) -> tuple[Claimant | None, bool]:
    """The attribution of a quotation: right after it (unless the words between open another statement
    and one stands right before it), else right before it, else the nearest; and whether it stands beside
    the quotation."""
    after = [c for c in claimants if q1 <= c.start <= q1 + _NEAR]
    before = [c for c in claimants if q0 - _NEAR - 40 <= c.end <= q0 + 2]
    if after and not (before and new_statement.match(outside[q1 + 1 : after[0].start])):
        return after[0], True
    if before:
        return before[-1], True
    return min(claimants, key=lambda c: min(abs(c.start - q1), abs(c.end - q0)), default=None), False


def _speaker(view: ArticleView, c: Claimant, first: int, final: int, a: int, mentions: list[Row]) -> str | None:
    pronoun = None
    at = a + c.start
    if c.kind in ("pronoun", "body pronoun"):  # resolved in the sentence where the pronoun stands
        sentences = view.sentences[first : final + 1]
        home = next((s for s in sentences if s.start <= at < s.end + 1), view.sentences[first])
        if c.kind == "pronoun":
            persons = [m for m in mentions if m["label"] == "PERSON" and home.start <= m["start"] and m["end"] <= at]
            pronoun = pronoun_person(persons, at - home.start, home.speaker_before)
        else:  # "it said": the body that spoke last where the words stand
            pronoun = home.pronouns.get(at - home.start)
    return resolve(c, view.people, Context(pos=at), view.rules, pronoun=pronoun)
