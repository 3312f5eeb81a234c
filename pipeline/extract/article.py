"""One article prepared for extraction: its sentences with their paragraphs, mentions, places and
attributions, and the speaker each pronoun refers to.

Built once per article and shared by the strike, talks and quote extractors, so that "he said" means
the same person for all three.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pipeline.dates import DateRef, find_dates, strongest
from pipeline.extract.attribution import (
    QUOTATION,
    Claimant,
    Context,
    People,
    canonical_body,
    find_claimants,
    index_people,
    pronoun_person,
    resolve,
)
from pipeline.extract.clauses import split_clauses
from pipeline.extract.figures import lower
from pipeline.extract.places import PlaceMemory, PlaceRef, sentence_places
from pipeline.extract.rules import Rules
from pipeline.gazetteer import Gazetteer

Row = dict[str, Any]
T = TypeVar("T")

_ENDS_SENTENCE = re.compile(r"[.!?…\"“”’')\]]\s*$")
_HEADING_WORDS = 16


def memoised(memo: dict[tuple[Any, ...], Any], key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``memo[key]``, worked out by ``compute`` the first time it is asked for."""
    if key not in memo:
        memo[key] = compute()
    found: T = memo[key]
    return found


@dataclass
class SentenceView:
    row: Row
    paragraph: int
    heading: bool  # a heading, caption or promo line: reports nothing
    repeat: bool  # the same words as an earlier sentence of the article: a claim it repeats is counted once
    caption: bool  # a photo caption: it shows who met whom, but where a picture was taken is no strike
    mentions: list[Row]
    rules: Rules
    gazetteer: Gazetteer
    memory: PlaceMemory  # the places the article had named before this sentence
    claimants: list[Claimant] = field(default_factory=list)
    pronouns: dict[int, str | None] = field(default_factory=dict)  # claimant start -> the person meant
    speaker_before: str | None = None  # the last person who spoke before this sentence
    lower: str = ""  # the text lower-cased (offsets kept), for the patterns
    published: dt.date | None = None
    _places: list[PlaceRef] | None = None
    _clauses: list[tuple[int, int]] | None = None
    _dates: list[DateRef] | None = None
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # results the extractors reuse

    @property
    def dates(self) -> list[DateRef]:
        """Every date expression of the sentence, resolved against publication (offsets in the sentence)."""
        if self._dates is None:
            self._dates = find_dates(self.text, self.published, self.rules.dates)
        return self._dates

    def date_in(self, a: int, b: int) -> DateRef | None:
        """The strongest date expression within ``[a, b)``."""
        return strongest([r for r in self.dates if a <= r.at < b], self.rules.dates, self.lower)

    @property
    def places(self) -> list[PlaceRef]:
        """The sentence's places and their roles (worked out when first asked for)."""
        if self._places is None:
            self._places = sentence_places(
                self.text, self.start, self.mentions, self.memory, self.rules, self.gazetteer
            )
        return self._places

    @property
    def clauses(self) -> list[tuple[int, int]]:
        if self._clauses is None:
            self._clauses = split_clauses(self.text, self.rules)
        return self._clauses

    @property
    def idx(self) -> int:
        return int(self.row["sentence_idx"])

    @property
    def start(self) -> int:
        return int(self.row["start"])

    @property
    def end(self) -> int:
        return int(self.row["end"])

    @property
    def text(self) -> str:
        return str(self.row["text"])


@dataclass
class ArticleView:
    article: Row
    sentences: list[SentenceView]
    people: People
    gazetteer: Gazetteer
    rules: Rules
    memo: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    @property
    def article_id(self) -> str:
        return str(self.article["article_id"])

    @property
    def published(self) -> dt.date | None:
        value = self.article.get("published")
        return value if isinstance(value, dt.date) else None

    def source(self, sv: SentenceView, claimant: Claimant | None, place: Row | None) -> str | None:
        """The canonical source of ``claimant`` in sentence ``sv``, about ``place``."""
        if claimant is None:
            return None
        key = ("source", sv.idx, claimant.start, claimant.kind, place.get("entity_id") if place else None)
        ctx = Context(place=place, default_country=None, pos=sv.start + claimant.start)
        pronoun = sv.pronouns.get(claimant.start)
        return memoised(self.memo, key, lambda: resolve(claimant, self.people, ctx, self.rules, pronoun=pronoun))


def build_view(article: Row, sentences: list[Row], mentions: list[Row], rules: Rules, gaz: Gazetteer) -> ArticleView:
    body = str(article.get("body") or "")
    sentences = sorted(sentences, key=lambda s: s["sentence_idx"])
    mentions = sorted(mentions, key=lambda m: m["start"])
    by_sentence: dict[int, list[Row]] = {}
    for m in mentions:
        by_sentence.setdefault(int(m["sentence_idx"]), []).append(m)
    breaks = [m.start() for m in re.finditer(r"\n\s*\n", body)]
    paragraphs = [bisect.bisect_right(breaks, int(s["start"])) for s in sentences]
    per_paragraph: dict[int, int] = {}
    spans: dict[int, tuple[int, int]] = {}
    for p, s in zip(paragraphs, sentences, strict=True):
        per_paragraph[p] = per_paragraph.get(p, 0) + 1
        spans[p] = (spans.get(p, (int(s["start"]), 0))[0], int(s["end"]))
    # a paragraph that ends with a photo credit is a caption: where a picture was taken, no claim
    credit = rules.places.caption_credit
    captions = {p for p, (a, b) in spans.items() if credit.search(lower(body[max(a, b - 200) : b]))}
    people = index_people(body, mentions, rules)
    view = ArticleView(article, [], people, gaz, rules)
    memory = PlaceMemory()
    seen: set[str] = set()
    for s, para in zip(sentences, paragraphs, strict=True):
        text = str(s["text"])
        heading = per_paragraph[para] == 1 and not _ENDS_SENTENCE.search(text) and len(text.split()) <= _HEADING_WORDS
        words = " ".join(text.split())
        repeat = words in seen
        seen.add(words)
        ments = by_sentence.get(int(s["sentence_idx"]), [])
        sv = SentenceView(
            s,
            para,
            heading,
            repeat,
            para in captions,
            ments,
            rules,
            gaz,
            PlaceMemory(dict(memory.last)),
            lower=lower(text),
            published=view.published,
        )
        for m in ments:
            if m["label"] == "PLACE":
                memory.remember(m, rules)
        sv.claimants = find_claimants(text, sv.start, ments, rules)
        sv.speaker_before = people.last_speaker
        _follow_speakers(view, sv)
        view.sentences.append(sv)
    return view


_QUOTE_MARKS = ('"', "“", "”")


def quotations(view: ArticleView) -> list[tuple[int, int]]:
    """Every quotation of the article: the body offsets of its quoted words (marks left out), in order,
    never overlapping; found once per article, for the quotes and for who speaks."""

    def find() -> list[tuple[int, int]]:
        body = str(view.article.get("body") or "")
        return [(m.span(1) if m.group(1) is not None else m.span(2)) for m in QUOTATION.finditer(body)]

    return memoised(view.memo, ("quotations",), find)


def _quotations_in(view: ArticleView, sv: SentenceView) -> list[tuple[int, int]]:
    """The quotations of the article that reach into sentence ``sv``, in its offsets (found in the whole
    body: a quotation that opened in an earlier sentence closes in this one)."""
    spans = quotations(view)
    ends = memoised(view.memo, ("quotation ends",), lambda: [q1 for _, q1 in spans])
    out = []
    for q0, q1 in spans[bisect.bisect_right(ends, sv.start) :]:
        if q0 >= sv.end:
            break
        out.append((q0 - sv.start, q1 - sv.start))
    return out


def _follow_speakers(view: ArticleView, sv: SentenceView) -> None:
    """Resolve the sentence's pronouns and move ``last_speaker`` on to its last person who speaks."""
    people = view.people
    persons = [m for m in sv.mentions if m["label"] == "PERSON"]
    spoke: str | None = None
    rules = view.rules
    has_quote = bool(sv.claimants) and any(mark in sv.text for mark in _QUOTE_MARKS)
    quoted = _quotations_in(view, sv) if has_quote else []
    for c in sv.claimants:
        if any(q0 <= c.start < q1 for q0, q1 in quoted):
            continue  # '"Vladimir Putin has emphasised ...", Ushakov said': a name speaking inside a quotation
        if c.kind == "pronoun":
            before = [m for m in persons if m["end"] - sv.start <= c.start]
            who = pronoun_person(before, c.start, people.last_speaker)
            sv.pronouns[c.start] = who
            spoke = who or spoke
            continue
        if c.kind == "body pronoun":
            sv.pronouns[c.start] = people.last_speaking_body
            continue
        if c.kind == "person":
            spoke = c.value
        elif c.kind == "body":
            people.last_speaking_body = c.value
        elif c.kind == "words" and rules.sources.titles.found(lower(c.value)):
            name = resolve(c, people, Context(pos=sv.start + c.start), rules)  # "the governor said"
            if name in people.names:
                spoke = name
        elif c.kind == "words":  # "Russia's defence ministry said"
            written = rules.sources.grammar["determiners"].sub("", c.value.strip())
            body = canonical_body(written, c.places, Context(pos=sv.start + c.start), rules)
            if body is not None:
                people.last_speaking_body = body
    if spoke is None and persons and persons[0]["start"] - sv.start <= 60:
        spoke = str(persons[0]["name"])  # the subject of a sentence that reports what someone did
    if spoke is not None:
        people.last_speaker = spoke
