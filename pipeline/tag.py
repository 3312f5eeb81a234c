"""Tagging: sentences, people, organisations, places and topics, with exact character offsets.

Built on the tokenizer of a blank spaCy English pipeline (no trained weights).
Everything after it reads the token arrays of the Doc, not a Python object per
token: sentence breaks (spaCy's sentencizer rule, plus a break at every line
end), gazetteer aliases through a PhraseMatcher, and keyword rules for people
and places no gazetteer lists (title + name, name + verb of saying,
apposition, known given names, "village of X"). Within an article a bare
surname resolves to the full name used elsewhere in it.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import re
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import spacy
from spacy.attrs import IDX, IS_ALPHA, IS_PUNCT, IS_TITLE, LENGTH, LOWER, ORTH
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline.sentencizer import Sentencizer
from spacy.strings import get_string_id
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc

from pipeline import budget
from pipeline.gazetteer import Entity, Gazetteer, load_gazetteer, person_id, short_name, slug
from pipeline.tag_rules import Rules
from pipeline.tag_rules import load_rules as load_tag_rules

_LINE_BREAK = re.compile(r"\n\s*")
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


_TOKENIZER_CACHE = 100_000  # distinct chunks (~200 bytes each, ~20 MB when full): the common words of the news


@functools.cache
def build_nlp() -> Language:
    """The tokenizer: a blank spaCy English pipeline (built once per process).

    Sentences, gazetteer matches and name rules are computed on the token arrays of the Doc rather
    than by pipeline components, which would make a Python object per token (twice as slow here).

    The tokenizer keeps the tokens of each chunk of text between spaces it has split before, but only
    up to ``max_cache_size`` chunks: spaCy's default (10,000) is filled by the gazetteer's aliases
    before the first article, and every word was split afresh (1.5 ms an article, against 0.1 ms with
    room for the words of the news). Cached chunks are split exactly as new ones would be.
    """
    nlp = spacy.blank("en")
    cast(Tokenizer, nlp.tokenizer).max_cache_size = _TOKENIZER_CACHE
    return nlp


def _tokenizer() -> Tokenizer:
    return cast(Tokenizer, build_nlp().tokenizer)


class _Word(enum.IntFlag):
    """What a token is to the name rules, looked up for all the tokens of a text at once."""

    TITLE = enum.auto()  # by lower case: "mayor", "minister"
    ROLE = enum.auto()
    SPEECH = enum.auto()
    NOT_NAME = enum.auto()  # never part of a person's name (titles included)
    CUE = enum.auto()  # "village" (of X)
    REGION = enum.auto()
    AREA_SUFFIX = enum.auto()
    GIVEN = enum.auto()  # by spelling: given names are matched as written
    FINAL_PUNCT = enum.auto()  # ends a sentence
    LIST_JOIN = enum.auto()  # ",", "and", "&"
    NAME_LINK = enum.auto()  # by spelling: inside a name, between its words ("von der", "bin", "D.")


@dataclass(frozen=True, eq=False)  # arrays: compared and hashed by identity
class _FlagTable:
    """``_Word`` flags by string id, as sorted arrays: a whole Doc's ids are looked up in one search."""

    keys: np.ndarray  # string ids (uint64), sorted
    flags: np.ndarray  # their flags (int64), in the same order

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """The flags of every id in ``ids`` (0 for an id the table does not hold)."""
        if not len(self.keys):
            return np.zeros(len(ids), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, ids), len(self.keys) - 1)
        return np.where(self.keys[at] == ids, self.flags[at], 0)


def _flags(groups: Iterable[tuple[Iterable[str], _Word]]) -> _FlagTable:
    out: dict[int, int] = {}
    for words, flag in groups:
        for w in words:
            key = get_string_id(w)
            out[key] = out.get(key, 0) | flag
    keys = sorted(out)
    return _FlagTable(np.array(keys, dtype=np.uint64), np.array([out[k] for k in keys], dtype=np.int64))


@dataclass(frozen=True)
class _Matchers:
    """Everything the tagger looks up per token: gazetteer phrases and word flags by string id."""

    phrases: PhraseMatcher
    owners: dict[int, str]  # phrase matcher key -> entity id
    by_lower: _FlagTable  # LOWER id -> _Word flags
    by_orth: _FlagTable  # ORTH id -> _Word flags
    of: int
    comma: int
    hyphen: int


#: The longest abbreviation that can be a modifier ("U.A.E.").
_ABBREVIATION_CHARS = 6
#: Kinds of place a dateline names, in capitals as often as not.
_DATELINE_KINDS = frozenset({"city", "country"})


@functools.cache
def _matchers() -> _Matchers:
    nlp, gaz, r = build_nlp(), load_gazetteer(), load_tag_rules()
    phrases = PhraseMatcher(nlp.vocab, attr="ORTH")
    owners: dict[int, str] = {}
    by_owner: dict[str, list[str]] = {}
    for alias, eid in gaz.phrases().items():
        by_owner.setdefault(eid, []).append(alias)
        entity = gaz.entities[eid]
        if entity.label == "PLACE" and alias[0].islower():  # "the Emirates" also as "The Emirates"
            by_owner[eid].append(alias[0].upper() + alias[1:])
        if entity.kind in _DATELINE_KINDS and len(alias) >= 4 and alias.upper() != alias:
            by_owner[eid].append(alias.upper())  # a dateline in capitals: "MOSCOW, January 29", "GENEVA --"
    for eid, aliases in by_owner.items():
        key = nlp.vocab.strings.add(eid)
        owners[key] = eid
        phrases.add(eid, list(_tokenizer().pipe(aliases)))
    return _Matchers(
        phrases=phrases,
        owners=owners,
        by_lower=_flags(
            [
                (r.titles, _Word.TITLE),
                (r.roles, _Word.ROLE),
                (r.speech, _Word.SPEECH),
                (r.not_name | r.titles, _Word.NOT_NAME),
                (r.cues, _Word.CUE),
                (r.region_words, _Word.REGION),
                (r.area_suffixes, _Word.AREA_SUFFIX),
            ]
        ),
        by_orth=_flags(
            [
                (r.given, _Word.GIVEN),
                ([*gaz.spelling.particles, *(f"{c}." for c in string.ascii_uppercase)], _Word.NAME_LINK),
                (Sentencizer.default_punct_chars, _Word.FINAL_PUNCT),
                ([",", "and", "&"], _Word.LIST_JOIN),
            ]
        ),
        of=get_string_id("of"),
        comma=get_string_id(","),
        hyphen=get_string_id("-"),
    )


class _Tokens:
    """A Doc as numpy arrays: one ``to_array`` call instead of a Python object per token."""

    def __init__(self, doc: Doc, text: str, m: _Matchers) -> None:
        self.doc = doc
        self.text = text
        arr = doc.to_array([IDX, LENGTH, LOWER, ORTH, IS_TITLE, IS_ALPHA, IS_PUNCT])
        self.n = len(doc)
        self.idx = arr[:, 0].astype(np.int64)
        self.length = arr[:, 1].astype(np.int64)
        self.lower = arr[:, 2]
        self.orth = arr[:, 3]
        self.is_title = arr[:, 4].astype(bool)
        alpha = arr[:, 5].astype(bool)
        self.is_punct = arr[:, 6].astype(bool)
        self.flags = m.by_lower.lookup(self.lower) | m.by_orth.lookup(self.orth) if self.n else np.zeros(0, np.int64)
        # a token that can be part of a person's name, and one that can only stand between two such
        self.name_ok = self.is_title & alpha & ~self.has(_Word.NOT_NAME)
        self.name_link = self.has(_Word.NAME_LINK) & ~self.name_ok
        if self.n > 2:  # a hyphen inside a name, after a particle or a given name: "al-Nunu", "Jean-Noel"
            glued = (self.idx[1:-1] == self.idx[:-2] + self.length[:-2]) & (self.idx[2:] == self.idx[1:-1] + 1)
            leads = (self.name_link | self.has(_Word.GIVEN))[:-2]
            self.name_link[1:-1] |= (self.orth[1:-1] == m.hyphen) & glued & leads & self.name_ok[2:]

    def start_char(self, i: int) -> int:
        return int(self.idx[i])

    def end_char(self, i: int) -> int:
        """End offset of token ``i`` (exclusive)."""
        return int(self.idx[i] + self.length[i])

    def span_text(self, start: int, end: int) -> str:
        return self.text[self.start_char(start) : self.end_char(end - 1)]

    def token(self, i: int) -> str:
        return self.text[self.start_char(i) : self.end_char(i)]

    def sentence_starts(self, m: _Matchers) -> np.ndarray:
        """Token indices where sentences start: after sentence-final punctuation (spaCy's sentencizer
        rule: the first token that is not punctuation after a '.', '!', '?' ...) and after every line
        break, whatever the punctuation."""
        if self.n == 0:
            return np.zeros(0, dtype=np.int64)
        final = self.has(_Word.FINAL_PUNCT)
        plain = ~(self.is_punct | final)
        positions = np.arange(self.n)
        # the last final-punctuation token and the last plain token strictly before each token
        last_final = np.maximum.accumulate(np.where(final, positions, -1))
        last_plain = np.maximum.accumulate(np.where(plain, positions, -1))
        before_final = np.concatenate(([-1], last_final[:-1]))
        before_plain = np.concatenate(([-1], last_plain[:-1]))
        starts = plain & (before_final > before_plain)
        starts[0] = True
        if "\n" in self.text:
            for match in _LINE_BREAK.finditer(self.text):
                i = int(np.searchsorted(self.idx, match.end(), side="left"))
                if 0 < i < self.n:
                    starts[i] = True
        return np.flatnonzero(starts)

    def name_end(self, i: int, limit: int = 3) -> int:
        """End of the run of name-like tokens starting at token i (at most ``limit`` of them, one more
        past a particle, with the particles and initials between them: "Ursula von der Leyen", "Franklin
        D. Roosevelt", "Mohammed bin Abdulrahman Al Thani")."""
        j, end, names, linked = i, i, 0, False
        while j < self.n and names < limit + linked:  # a name with particles has a word more
            if self.name_ok[j]:
                names += 1
                end = j = j + 1
            elif names and self.name_link[j]:
                j, linked = j + 1, True
            else:
                break
        return end

    def name_start(self, end: int, limit: int = 3) -> int:
        """Start of the run of name-like tokens ending just before token ``end`` (as :meth:`name_end`)."""
        i, start, names, linked = end, end, 0, False
        while i > 0 and names < limit + linked:
            if self.name_ok[i - 1]:
                names += 1
                start = i = i - 1
            elif names and self.name_link[i - 1]:
                i, linked = i - 1, True
            else:
                break
        return start

    def has(self, flag: _Word) -> np.ndarray:
        found: np.ndarray = (self.flags & int(flag)) != 0
        return found

    def where(self, flag: _Word) -> list[int]:
        return list(np.flatnonzero(self.has(flag)).tolist())


# --------------------------------------------------------------------------- results


@dataclass
class Tagged:
    """Sentences, mentions and topics of one article."""

    sentences: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    topics_by_article: dict[str, list[str]] = field(default_factory=dict)


@dataclass(eq=False)  # compared by identity: a candidate is one place in the text
class _Cand:
    start: int  # token offsets
    end: int
    label: str
    entity: Entity | None  # None: a person found by pattern, named by its text
    source: str
    name: str = ""


# One pipeline per process, shared by the task threads: its string store is not safe to grow from two
# threads at once, and the work holds the GIL anyway. Parallelism comes from processes (the Dask runner).
_NLP_LOCK = threading.Lock()


def tag_text(article_id: str, body: str) -> Tagged:
    """Tag one article's cleaned body (the length limit is the caller's: no parser or NER model runs here)."""
    with _NLP_LOCK:
        return tag_doc(article_id, _tokenizer()(body), body)


def tag_doc(article_id: str, doc: Doc, text: str) -> Tagged:
    """Tag one tokenized article; ``text`` is the text it was made from (``doc.text`` rebuilds it)."""
    gaz, rules, m = load_gazetteer(), load_tag_rules(), _matchers()
    toks = _Tokens(doc, text, m)
    out = Tagged()
    sent_starts: list[int] = []
    bounds = [*toks.sentence_starts(m).tolist(), toks.n]
    for first, stop in itertools.pairwise(bounds):
        budget.check()
        raw = toks.text[toks.start_char(first) : toks.end_char(stop - 1)]
        text = raw.strip()
        if not text:
            continue
        start = toks.start_char(first) + (len(raw) - len(raw.lstrip()))
        sent_starts.append(start)
        out.sentences.append(
            {
                "article_id": article_id,
                "sentence_idx": len(out.sentences),
                "start": start,
                "end": start + len(text),
                "text": text,
                "tags": sentence_tags(text, rules),
            }
        )
    place_sentences: set[int] = set()
    credits = [x.span() for x in rules.photo_credit.finditer(toks.text)] if "/" in toks.text else []
    for c in _resolve(toks, gaz, rules, m):
        start, end = toks.start_char(c.start), toks.end_char(c.end - 1)
        if c.label == "PERSON" and any(a <= start and end <= b for a, b in credits):
            continue  # the photographer of a picture
        idx = max(0, bisect.bisect_right(sent_starts, start) - 1)
        e = c.entity or Entity(person_id(c.name), "PERSON", c.name)  # a person found by pattern
        out.mentions.append(
            {
                "article_id": article_id,
                "sentence_idx": idx,
                "start": start,
                "end": end,
                "text": toks.text[start:end],
                "label": c.label,
                "entity_id": e.entity_id,
                "source": c.source,
                **e.fields(),
            }
        )
        if c.label == "PLACE":
            place_sentences.add(idx)
    names_side = any(m.get("country") in rules.war_sides for m in out.mentions) or bool(
        rules.war_side_words.search(toks.text.lower())
    )
    out.topics = article_topics(out.sentences, place_sentences, rules, names_side)
    return out


# --------------------------------------------------------------------------- topics


def sentence_tags(text: str, rules: Rules | None = None) -> list[str]:
    r = rules or load_tag_rules()
    lowered = text.lower()
    tags = [tag for tag, pattern in r.topic_any.items() if pattern.search(lowered)]
    if "strikes" not in tags and r.strike_weak.search(lowered) and r.strike_weak_with.search(lowered):
        tags.append("strikes")
    return sorted(tags)


def article_topics(
    sentences: list[dict[str, Any]], place_sentences: set[int], rules: Rules | None = None, names_side: bool = True
) -> list[str]:
    """Article-level topics from its sentences' tags and the rules in topics.yaml; ``names_side``: whether
    the article names anyone or anything of a side of this war."""
    r = rules or load_tag_rules()
    topics: list[str] = []
    for tag, rule in r.article_rules.items():  # talks and strikes come first: finer tags depend on them
        if rule.get("need_side") and not names_side:
            continue
        hits = [s["sentence_idx"] for s in sentences if tag in s["tags"]]
        if rule.get("need_place") and not any(i in place_sentences for i in hits):
            continue
        lead = any(i < rule.get("lead_sentences", 0) for i in hits)
        if not (len(hits) >= rule.get("min_sentences", 1) or lead):
            continue
        if "within" in rule and not set(rule["within"]) & set(topics):
            continue
        topics.append(tag)
    return sorted(topics)


# --------------------------------------------------------------------------- entities


def _gazetteer_candidates(toks: _Tokens, gaz: Gazetteer, m: _Matchers) -> list[_Cand]:
    """Gazetteer aliases in the text: the longest match wins, then the leftmost."""
    matches = sorted({(end - start, -start, key) for key, start, end in m.phrases(toks.doc)}, reverse=True)
    out, taken = [], np.zeros(toks.n + 1, dtype=bool)
    for length, neg_start, key in matches:
        start, end = -neg_start, -neg_start + length
        if taken[start] or taken[end - 1]:
            continue
        taken[start:end] = True
        entity = gaz.entities[m.owners[key]]
        out.append(_Cand(start, end, entity.label, entity, "gazetteer"))
    return sorted(out, key=lambda c: c.start)


def _person_candidates(toks: _Tokens, rules: Rules, m: _Matchers) -> list[_Cand]:
    """People no gazetteer lists, found by rules that each start on a keyword."""
    n, lower = toks.n, toks.lower
    spans: list[tuple[int, int, int, str]] = []  # (match start, start, end, rule), ordered by match start

    for i in toks.where(_Word.TITLE):  # "Mayor Ihor Terekhov"
        if i + 1 < n and toks.is_title[i + 1]:
            spans.append((i, i + 1, toks.name_end(i + 1), "title_name"))
    for i in toks.where(_Word.SPEECH):  # "said Mykola Lukashuk" / "Mykola Lukashuk wrote"
        spans.append((i, i + 1, toks.name_end(i + 1), "said_name"))
        spans.append((i, toks.name_start(i), i, "name_said"))
    roles = toks.has(_Word.ROLE)
    for i in np.flatnonzero(toks.orth == m.comma).tolist():  # "Mykola Lukashuk, the head of ..."
        if any(i + k < n and roles[i + k] for k in (1, 2, 3)):
            spans.append((i, toks.name_start(i), i, "name_appos"))
    for i in np.flatnonzero(roles).tolist():  # "the governor of Kharkiv, Oleh Syniehubov"
        j = i + 2
        if not (j < n and lower[i + 1] == m.of and toks.is_title[j]):
            continue
        while j < n and toks.is_title[j]:
            j += 1
        if j + 1 < n and toks.orth[j] == m.comma and toks.is_title[j + 1]:
            spans.append((i, j + 1, toks.name_end(j + 1), "role_of_name"))
    for i in toks.where(_Word.GIVEN):  # "Tymur Tkachenko", "Mahmoud el-Baz"
        if i + 1 < n and (toks.is_title[i + 1] or toks.name_link[i + 1]):
            spans.append((i, i, toks.name_end(i), "given_name"))
    spans.sort(key=lambda s: s[0])
    out = []
    for s, e, rule in dict.fromkeys((s, e, rule) for _, s, e, rule in spans):
        if e - s >= (1 if rule == "title_name" else 2):
            out.append(_Cand(s, e, "PERSON", None, f"pattern:{rule}"))
    return out


def _cue_places(toks: _Tokens, gaz: Gazetteer, rules: Rules, m: _Matchers) -> list[_Cand]:
    """ "the village of Hola Prystan", "the Darnytskyi district": places the gazetteer may not list."""
    n = toks.n
    found: list[tuple[int, int, str, str]] = []  # (start, end, kind, rule)
    for i in toks.where(_Word.CUE):
        if i + 2 < n and toks.lower[i + 1] == m.of and toks.is_title[i + 2]:
            found.append((i + 2, toks.name_end(i + 2), rules.cues[toks.token(i).lower()], "cue"))
    for i in toks.where(_Word.AREA_SUFFIX):
        if i > 0 and toks.name_ok[i - 1]:
            found.append((i - 1, i + 1, "area", "suffix"))
    out = []
    for s, e, kind, rule in sorted(found, key=lambda f: f[0]):
        if e <= s:
            continue  # "the village of" with no name after it
        text = toks.span_text(s, e)
        eid = gaz.place_index.get(text.casefold())
        if eid is None and e - s > 1:
            eid = gaz.place_index.get(toks.span_text(s, e - 1).casefold())
        if eid is not None and rule == "suffix" and gaz.entities[eid].kind not in {"area", "district"}:
            continue  # "Kharkiv district" is left to the gazetteer and the region rules
        entity = gaz.entities[eid] if eid else Entity(f"place:unlisted:{slug(text)}", "PLACE", text, kind)
        out.append(_Cand(s, e, "PLACE", entity, "pattern:cue"))
    return out


class _Chosen:
    """The candidates kept so far, indexed by the tokens they cover: finding those that overlap a span
    costs the span's length, not the article's (an article of 10,000 names stays linear)."""

    def __init__(self, cands: list[_Cand]) -> None:
        self._order: dict[int, tuple[int, _Cand]] = {}  # id -> (insertion number, candidate)
        self._at: dict[int, list[_Cand]] = {}
        self._added = 0
        for c in cands:
            self.add(c)

    def add(self, c: _Cand) -> None:
        self._order[id(c)] = (self._added, c)
        self._added += 1
        for t in range(c.start, c.end):
            self._at.setdefault(t, []).append(c)

    def remove(self, c: _Cand) -> None:
        del self._order[id(c)]
        for t in range(c.start, c.end):
            self._at[t].remove(c)

    def overlapping(self, start: int, end: int) -> list[_Cand]:
        """Candidates sharing a token with ``[start, end)``, in the order they were kept."""
        found = {id(c): c for t in range(start, end) for c in self._at.get(t, ())}
        return sorted(found.values(), key=lambda c: self._order[id(c)][0])

    def in_order(self) -> list[_Cand]:
        return [c for _, c in sorted(self._order.values(), key=lambda pair: pair[0])]


def _modifier(toks: _Tokens, c: _Cand, rules: Rules) -> bool:
    """A country abbreviation used as a modifier: "US President Donald Trump", "talks with US envoys".
    It is the country after "the" ("the US said") unless a title, role or listed noun follows ("the U.S.
    Secretary of State", "the US delegation"), and after a preposition when no noun follows it ("talks in
    UAE on Friday", "travelled to US.")."""
    if c.label != "PLACE" or toks.end_char(c.end - 1) - toks.start_char(c.start) > _ABBREVIATION_CHARS:
        return False
    if toks.span_text(c.start, c.end) not in rules.adjectival:
        return False
    before = toks.token(c.start - 1).casefold() if c.start > 0 else ""
    after = toks.token(c.end).casefold() if c.end < toks.n else ""
    if before == "the":  # "the US said", but "the U.S. Secretary of State", "the US delegation"
        titled = c.end < toks.n and bool(toks.flags[c.end] & int(_Word.TITLE | _Word.ROLE))
        return titled or after in rules.modifier_nouns
    ends = not after or toks.is_punct[c.end] or after in rules.noun_after
    return not (before in rules.noun_after and ends)


def _resolve(toks: _Tokens, gaz: Gazetteer, rules: Rules, m: _Matchers) -> list[_Cand]:
    # "US President Donald Trump": an abbreviation with no "the" or preposition before it is a modifier
    chosen = _Chosen([c for c in _gazetteer_candidates(toks, gaz, m) if not _modifier(toks, c, rules)])
    # Places after a cue ("village of X") fill gaps the gazetteer left.
    for cand in _cue_places(toks, gaz, rules, m):
        if not chosen.overlapping(cand.start, cand.end):
            chosen.add(cand)
    # People found by pattern. Where one overlaps a place or organisation, the place wins unless it
    # is a given name leading the person's name ("Vladimir Putin" is not the city of Vladimir);
    # otherwise the person is trimmed to what is left ("Kharkiv Ihor Terekhov" -> "Ihor Terekhov").
    # Over a gazetteer person only when strictly longer ("Wladimir Klitschko" is not "Vitali Klitschko").
    for cand in sorted(_person_candidates(toks, rules, m), key=lambda c: c.start - c.end):
        others = [c for c in chosen.overlapping(cand.start, cand.end) if c.label != "PERSON"]
        given_first = toks.token(cand.start) in rules.given
        for other in others:
            if other.start == cand.start and other.end - other.start == 1 and toks.token(other.start) in rules.given:
                continue
            if given_first and other.start > cand.start and other.end <= cand.end and other.label == "PLACE":
                chosen.remove(other)  # "Governor Alexander Gusev": a surname spelled like a town
                continue
            if other.start <= cand.start:
                cand.start = max(cand.start, other.end)
            else:
                cand.end = min(cand.end, other.start)
        if cand.end - cand.start < (1 if cand.source == "pattern:title_name" else 2):
            continue
        clashes = chosen.overlapping(cand.start, cand.end)
        if any(not (cand.start <= c.start and c.end <= cand.end) for c in clashes):
            continue
        if any((c.end - c.start) >= (cand.end - cand.start) for c in clashes):
            continue
        for c in clashes:
            chosen.remove(c)
        chosen.add(cand)
    kept = chosen.in_order()
    for c in kept:
        if c.entity is None:  # a person named by the text of the match
            c.name = _POSSESSIVE.sub("", " ".join(toks.span_text(c.start, c.end).split()))
    _resolve_shared(toks, kept, gaz)
    _resolve_surnames(toks, kept, rules)
    _upgrade_regions(toks, kept, gaz, m)
    return sorted(kept, key=lambda c: c.start)


def _resolve_shared(toks: _Tokens, chosen: list[_Cand], gaz: Gazetteer) -> None:
    """A surname several listed people share names the one the article points to: whose full name it
    uses, else whose role names a place the article names ("Fedorov" in a report on Zaporizhzhia is the
    region's governor, not the minister)."""
    shared = gaz.shared_people()
    if not shared:
        return
    text = toks.text
    places = {c.entity.name for c in chosen if c.label == "PLACE" and c.entity is not None}
    places |= {short_name(p) for p in places}
    for c in chosen:
        if c.label != "PERSON" or c.entity is None:
            continue
        eids = shared.get(toks.span_text(c.start, c.end))
        if not eids:
            continue
        people = [gaz.entities[e] for e in eids]
        named = [p for p in people if p.name in text]
        placed = [p for p in people if any(pl and pl in (p.kind or "") for pl in places)]
        pick = named[0] if len(named) == 1 else placed[0] if len(placed) == 1 else None
        if pick is not None:
            c.entity = pick


def _resolve_surnames(toks: _Tokens, chosen: list[_Cand], rules: Rules) -> None:
    """A bare surname names the person whose full name the article uses elsewhere."""
    full: dict[str, _Cand] = {}
    for c in chosen:
        if c.label == "PERSON" and c.end - c.start >= 2:
            full.setdefault(toks.token(c.end - 1), c)
    if not full:
        return
    for c in chosen:  # one-word names found by pattern ("Mayor Terekhov")
        if c.label == "PERSON" and c.entity is None and c.end - c.start == 1 and c.name in full:
            _copy_identity(c, full[c.name])
    taken = np.zeros(toks.n, dtype=bool)
    for c in chosen:
        taken[c.start : c.end] = True
    surnames = {get_string_id(name): name for name in full}
    for i in np.flatnonzero(np.isin(toks.orth, list(surnames))).tolist():  # tokens spelled as a surname
        if taken[i] or not toks.is_title[i]:
            continue
        if i + 1 < toks.n and toks.is_title[i + 1] and toks.token(i + 1).lower() not in rules.not_name:
            continue  # part of a longer name
        cand = _Cand(i, i + 1, "PERSON", None, "surname")
        _copy_identity(cand, full[surnames[int(toks.orth[i])]])
        chosen.append(cand)


def _copy_identity(target: _Cand, source: _Cand) -> None:
    target.entity, target.name = source.entity, source.name
    if target.source != "surname":
        target.source += "+surname"


def _upgrade_regions(toks: _Tokens, chosen: list[_Cand], gaz: Gazetteer, m: _Matchers) -> None:
    """ "the Sumy, Kharkiv and Chernihiv regions", "the region of Odesa": these name regions, not cities."""
    places = sorted((c for c in chosen if c.label == "PLACE" and c.entity is not None), key=lambda c: c.start)
    if not places:
        return
    by_start = {c.start: c for c in places}
    joins = toks.has(_Word.LIST_JOIN)
    region_word = toks.has(_Word.REGION)
    n = toks.n
    for c in places:
        if c.entity is None or c.entity.kind not in {"city", "town", "village"}:
            continue
        # walk right over a coordinated list to a region word
        group, j = [c], c.end
        while j < n:
            if joins[j]:
                j += 1
            elif j in by_start and by_start[j].entity is not None and by_start[j].end > j:
                group.append(by_start[j])
                j = by_start[j].end
            else:
                break
        right = j < n and region_word[j] and group[-1].end <= j
        left = c.start >= 2 and toks.lower[c.start - 1] == m.of and region_word[c.start - 2]
        if not (right or left):
            continue
        for member in group if right else [c]:
            if member.entity is None or member.entity.kind not in {"city", "town", "village"}:
                continue
            region = gaz.region_of(toks.span_text(member.start, member.end))
            if region is not None:
                member.entity = region
                member.source += "+region"
