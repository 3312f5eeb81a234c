"""Tagging: sentences, people, organisations, places and topics, with exact character offsets.

Built on a blank spaCy English pipeline (no trained weights): a sentencizer that
also breaks at paragraph ends, an EntityRuler fed from the gazetteers, and
Matcher rules for people and places no gazetteer lists (title + name, name +
verb of saying, apposition, known given names, "village of X"). Within an
article a bare surname resolves to the full name used elsewhere in it.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import spacy
from spacy.attrs import IDX
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Token

from pipeline import schemas
from pipeline.clean import load_data_file, word_pattern
from pipeline.errors import RulesError
from pipeline.gazetteer import Entity, Gazetteer, load_gazetteer, person_id, slug

_LINE_BREAK = re.compile(r"\n\s*")
_POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


@Language.component("paragraph_breaks")
def _paragraph_breaks(doc: Doc) -> Doc:
    """A new sentence starts after every line break, whatever the punctuation."""
    if "\n" not in doc.text:
        return doc
    starts = doc.to_array([IDX])  # token start offsets, without making a Python object per token
    for m in _LINE_BREAK.finditer(doc.text):
        i = int(np.searchsorted(starts, m.end(), side="left"))
        if 0 < i < len(doc):
            doc[i].is_sent_start = True
    return doc


@dataclass
class _Rules:
    titles: set[str]
    roles: set[str]
    speech: set[str]
    given: set[str]
    not_name: set[str]
    cues: dict[str, str]
    region_words: set[str]
    area_suffixes: set[str]
    topic_any: dict[str, re.Pattern[str]]
    strike_weak: re.Pattern[str]
    strike_weak_with: re.Pattern[str]
    article_rules: dict[str, dict[str, Any]]
    version: str


def _strings(items: Iterable[Any], what: str) -> list[str]:
    out = list(items)
    bad = [x for x in out if not isinstance(x, str)]
    if bad:  # YAML reads a bare no/on/yes as a boolean
        raise RulesError(f"{what}: non-text entries {bad!r}; quote them")
    return out


@functools.cache
def _rules() -> _Rules:
    pat = load_data_file("patterns.yaml")
    top = load_data_file("topics.yaml")
    tags = top["sentence_tags"]
    return _Rules(
        titles={w.casefold() for w in pat["person_titles"]},
        roles={w.casefold() for w in pat["apposition_roles"]},
        speech={w.casefold() for w in pat["speech_verbs"]},
        given=set(pat["given_names"]),
        not_name={w.casefold() for w in _strings(pat["not_name_words"], "not_name_words")},
        cues={k.casefold(): v for k, v in pat["place_cues"].items()},
        region_words={w.casefold() for w in pat["region_words"]},
        area_suffixes={w.casefold() for w in pat["area_suffixes"]},
        topic_any={tag: word_pattern(spec["any"]) for tag, spec in tags.items()},
        strike_weak=word_pattern(tags["strikes"]["weak"]),
        strike_weak_with=word_pattern(tags["strikes"]["weak_with"]),
        article_rules=top["article_rules"],
        version=f"patterns-{pat['version']}/topics-{top['version']}",
    )


@functools.cache
def build_nlp() -> Language:
    """The spaCy pipeline with every gazetteer alias loaded (built once per process)."""
    gaz = load_gazetteer()
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("paragraph_breaks")
    ruler = nlp.add_pipe("entity_ruler", config={"validate": False, "overwrite_ents": True})
    patterns = []
    for eid, aliases in gaz.aliases.items():
        entity = gaz.entities[eid]
        if entity.match != "always":
            continue
        for alias in aliases:
            patterns.append({"label": entity.label, "pattern": alias, "id": eid})
            if entity.label == "PLACE" and alias[0].islower():  # "the Emirates" also as "The Emirates"
                patterns.append({"label": entity.label, "pattern": alias[0].upper() + alias[1:], "id": eid})
    with nlp.select_pipes(enable=[]):
        ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


@functools.cache
def _matcher() -> Matcher:
    """Rules for people and places outside the gazetteers. Every rule starts on a keyword (a title,
    a verb of saying, a given name ...) so matching stays cheap; the name around it is read in Python."""
    r = _rules()
    m = Matcher(build_nlp().vocab)
    role = {"LOWER": {"IN": sorted(r.roles)}}
    m.add("TITLE_NAME", [[{"LOWER": {"IN": sorted(r.titles)}}, {"IS_TITLE": True}]])
    m.add("SPEECH", [[{"LOWER": {"IN": sorted(r.speech)}}]])
    m.add(
        "NAME_APPOS",  # "Mykola Lukashuk, the head of ..."
        [
            [{"ORTH": ","}, role],
            [{"ORTH": ","}, {"IS_ALPHA": True}, role],
            [{"ORTH": ","}, {"IS_ALPHA": True}, {"IS_ALPHA": True}, role],
        ],
    )
    m.add("ROLE_OF_NAME", [[role, {"LOWER": "of"}, {"IS_TITLE": True, "OP": "+"}, {"ORTH": ","}, {"IS_TITLE": True}]])
    m.add("GIVEN_NAME", [[{"ORTH": {"IN": sorted(r.given)}}, {"IS_TITLE": True}]])
    m.add("CUE_PLACE", [[{"LOWER": {"IN": sorted(r.cues)}}, {"LOWER": "of"}, {"IS_TITLE": True}]])
    m.add("PLACE_SUFFIX", [[{"IS_TITLE": True}, {"LOWER": {"IN": sorted(r.area_suffixes)}}]])
    return m


@functools.cache
def _rule_names() -> dict[int, str]:
    """Matcher rule names by their hash (looked up without touching the shared string store)."""
    strings = build_nlp().vocab.strings
    names = ["TITLE_NAME", "SPEECH", "NAME_APPOS", "ROLE_OF_NAME", "GIVEN_NAME", "CUE_PLACE", "PLACE_SUFFIX"]
    return {strings.add(n): n for n in names}


# --------------------------------------------------------------------------- results


@dataclass
class Tagged:
    """Sentences, mentions and topics of one article."""

    sentences: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    topics_by_article: dict[str, list[str]] = field(default_factory=dict)

    def extend(self, other: Tagged) -> None:
        self.sentences += other.sentences
        self.mentions += other.mentions
        self.topics_by_article |= other.topics_by_article


def build_entities(mentions: pa.Table) -> pa.Table:
    """The ``entities`` table: one row per canonical entity, with spellings seen and counts."""
    if mentions.num_rows == 0:
        return schemas.ENTITIES.empty_table()
    df = mentions.to_pandas()
    keys = ["entity_id", "label", "name"]
    first = df.groupby("entity_id", sort=True).first()
    grouped = df.groupby("entity_id", sort=True)
    out = first.reset_index()[[*keys, "kind", "country", "admin1", "admin1_code", "lat", "lon"]]
    out["aliases_seen"] = grouped["text"].agg(lambda s: sorted(set(s))).to_numpy()
    out["mentions"] = grouped.size().to_numpy()
    out["articles"] = grouped["article_id"].nunique().to_numpy()
    return pa.Table.from_pandas(out, schema=schemas.ENTITIES, preserve_index=False)


@dataclass
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


def tag_texts(article_ids: Sequence[str], bodies: Sequence[str], batch_size: int = 64) -> Tagged:
    """Tag many articles (spaCy's ``nlp.pipe`` over the batch); topics are in ``topics_by_article``."""
    nlp = build_nlp()
    out = Tagged()
    with _NLP_LOCK:
        for aid, doc in zip(article_ids, nlp.pipe(bodies, batch_size=batch_size), strict=True):
            one = tag_doc(aid, doc)
            out.sentences += one.sentences
            out.mentions += one.mentions
            out.topics_by_article[aid] = one.topics
    return out


def tag_text(article_id: str, body: str) -> Tagged:
    with _NLP_LOCK:
        return tag_doc(article_id, build_nlp()(body))


def tag_doc(article_id: str, doc: Doc) -> Tagged:
    gaz, rules = load_gazetteer(), _rules()
    out = Tagged()
    sent_starts: list[int] = []
    for sent in doc.sents:
        text = sent.text.strip()
        if not text:
            continue
        start = sent.start_char + (len(sent.text) - len(sent.text.lstrip()))
        sent_starts.append(start)
        out.sentences.append(
            {
                "article_id": article_id,
                "sentence_idx": len(out.sentences),
                "start": start,
                "end": start + len(text),
                "text": text,
                "tags": [],
            }
        )
    cands = _resolve(doc, gaz, rules)
    place_sentences: set[int] = set()
    for c in cands:
        span = doc[c.start : c.end]
        idx = max(0, bisect.bisect_right(sent_starts, span.start_char) - 1)
        e = c.entity or Entity(person_id(c.name), "PERSON", c.name)  # a person found by pattern
        row = {
            "article_id": article_id,
            "sentence_idx": idx,
            "start": span.start_char,
            "end": span.end_char,
            "text": span.text,
            "label": c.label,
            "entity_id": e.entity_id,
            "source": c.source,
            **e.fields(),
        }
        out.mentions.append(row)
        if c.label == "PLACE":
            place_sentences.add(idx)
    for row in out.sentences:
        row["tags"] = sentence_tags(str(row["text"]), rules)
    out.topics = article_topics(out.sentences, place_sentences, rules)
    return out


# --------------------------------------------------------------------------- topics


def sentence_tags(text: str, rules: _Rules | None = None) -> list[str]:
    r = rules or _rules()
    tags = [tag for tag, pattern in r.topic_any.items() if pattern.search(text)]
    if "strikes" not in tags and r.strike_weak.search(text) and r.strike_weak_with.search(text):
        tags.append("strikes")
    return sorted(tags)


def article_topics(
    sentences: list[dict[str, Any]], place_sentences: set[int], rules: _Rules | None = None
) -> list[str]:
    """Article-level topics from its sentences' tags and the rules in topics.yaml."""
    r = rules or _rules()
    topics: list[str] = []
    for tag, rule in r.article_rules.items():  # talks and strikes come first: finer tags depend on them
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


def _is_name_token(t: Token, rules: _Rules) -> bool:
    return t.is_title and t.is_alpha and t.lower_ not in rules.not_name and t.lower_ not in rules.titles


def _name_end(doc: Doc, i: int, rules: _Rules, limit: int = 3) -> int:
    """End of the run of name-like tokens starting at token i (at most ``limit`` tokens)."""
    j = i
    while j < len(doc) and j - i < limit and _is_name_token(doc[j], rules):
        j += 1
    return j


def _name_start(doc: Doc, end: int, rules: _Rules, limit: int = 3) -> int:
    """Start of the run of name-like tokens ending just before token ``end``."""
    i = end
    while i > 0 and end - i < limit and _is_name_token(doc[i - 1], rules):
        i -= 1
    return i


def _person_candidates(doc: Doc, matches: list[tuple[int, int, int]], rules: _Rules) -> list[_Cand]:
    spans: list[tuple[int, int, str]] = []  # (start, end, rule)
    for match_id, start, end in matches:
        rule = _rule_names()[match_id]
        if rule == "TITLE_NAME":
            spans.append((start + 1, _name_end(doc, start + 1, rules), "title_name"))
        elif rule == "SPEECH":  # "said Mykola Lukashuk" / "Mykola Lukashuk wrote"
            spans.append((start + 1, _name_end(doc, start + 1, rules), "said_name"))
            spans.append((_name_start(doc, start, rules), start, "name_said"))
        elif rule == "NAME_APPOS":
            spans.append((_name_start(doc, start, rules), start, "name_appos"))
        elif rule == "ROLE_OF_NAME":
            spans.append((end - 1, _name_end(doc, end - 1, rules), "role_of_name"))
        elif rule == "GIVEN_NAME":
            spans.append((start, _name_end(doc, start, rules), "given_name"))
    out = []
    for s, e, rule in dict.fromkeys(spans):
        if e - s >= (1 if rule == "title_name" else 2):
            out.append(_Cand(s, e, "PERSON", None, f"pattern:{rule}"))
    return out


def _cue_places(doc: Doc, matches: list[tuple[int, int, int]], gaz: Gazetteer, rules: _Rules) -> list[_Cand]:
    """ "the village of Hola Prystan", "the Darnytskyi district": places the gazetteer may not list."""
    out = []
    for match_id, start, end in matches:
        rule = _rule_names()[match_id]
        if rule == "CUE_PLACE":
            s = end - 1
            e = _name_end(doc, s, rules)
            kind = rules.cues[doc[start].lower_]
        elif rule == "PLACE_SUFFIX":
            if not _is_name_token(doc[start], rules):
                continue
            s, e, kind = start, end, "area"
        else:
            continue
        if e <= s:
            continue  # "the village of" with no name after it
        text = doc[s:e].text
        eid = gaz.place_index.get(text.casefold()) or gaz.place_index.get(doc[s : e - 1].text.casefold())
        if eid is not None and rule == "PLACE_SUFFIX" and gaz.entities[eid].kind not in {"area", "district"}:
            continue  # "Kharkiv district" is left to the gazetteer and the region rules
        entity = gaz.entities[eid] if eid else Entity(f"place:unlisted:{slug(text)}", "PLACE", text, kind)
        out.append(_Cand(s, e, "PLACE", entity, "pattern:cue"))
    return out


def _overlaps(a: _Cand, b: _Cand) -> bool:
    return a.start < b.end and b.start < a.end


def _resolve(doc: Doc, gaz: Gazetteer, rules: _Rules) -> list[_Cand]:
    chosen = [
        _Cand(ent.start, ent.end, ent.label_, gaz.entities.get(ent.ent_id_), "gazetteer")
        for ent in doc.ents
        if ent.ent_id_ in gaz.entities
    ]
    # Places after a cue ("village of X") fill gaps the gazetteer left.
    matches = _matcher()(doc)
    for cand in _cue_places(doc, matches, gaz, rules):
        if not any(_overlaps(cand, c) for c in chosen):
            chosen.append(cand)
    # People found by pattern. Where one overlaps a place or organisation, the place wins unless it
    # is a given name leading the person's name ("Vladimir Putin" is not the city of Vladimir);
    # otherwise the person is trimmed to what is left ("Kharkiv Ihor Terekhov" -> "Ihor Terekhov").
    # Over a gazetteer person only when strictly longer ("Wladimir Klitschko" is not "Vitali Klitschko").
    for cand in sorted(_person_candidates(doc, matches, rules), key=lambda c: c.start - c.end):
        others = [c for c in chosen if _overlaps(cand, c) and c.label != "PERSON"]
        for other in others:
            if other.start == cand.start and other.end - other.start == 1 and doc[other.start].text in rules.given:
                continue
            if other.start <= cand.start:
                cand.start = max(cand.start, other.end)
            else:
                cand.end = min(cand.end, other.start)
        if cand.end - cand.start < (1 if cand.source == "pattern:title_name" else 2):
            continue
        clashes = [c for c in chosen if _overlaps(cand, c)]
        if any(not (cand.start <= c.start and c.end <= cand.end) for c in clashes):
            continue
        if any((c.end - c.start) >= (cand.end - cand.start) for c in clashes):
            continue
        chosen = [c for c in chosen if c not in clashes]
        chosen.append(cand)
    _name_pattern_people(doc, chosen)
    _resolve_surnames(doc, chosen, rules)
    _upgrade_regions(doc, chosen, gaz, rules)
    return sorted(chosen, key=lambda c: c.start)


def _name_pattern_people(doc: Doc, chosen: list[_Cand]) -> None:
    for c in chosen:
        if c.entity is None:
            c.name = _POSSESSIVE.sub("", " ".join(t.text for t in doc[c.start : c.end]))


def _resolve_surnames(doc: Doc, chosen: list[_Cand], rules: _Rules) -> None:
    """A bare surname names the person whose full name the article uses elsewhere."""
    full: dict[str, _Cand] = {}
    for c in chosen:
        if c.label == "PERSON" and c.end - c.start >= 2:
            surname = doc[c.end - 1].text
            full.setdefault(surname, c)
    if not full:
        return
    for c in chosen:  # one-word names found by pattern ("Mayor Terekhov")
        if c.label == "PERSON" and c.entity is None and c.end - c.start == 1 and c.name in full:
            _copy_identity(c, full[c.name])
    taken = {i for c in chosen for i in range(c.start, c.end)}
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(name) for name in full) + r")\b")
    for m in pattern.finditer(doc.text):  # look only where a surname is written, not at every token
        span = doc.char_span(m.start(), m.end())
        if span is None or len(span) != 1:
            continue
        token = span[0]
        if token.i in taken or not token.is_title:
            continue
        nxt = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if nxt is not None and nxt.is_title and nxt.lower_ not in rules.not_name:
            continue  # part of a longer name
        cand = _Cand(token.i, token.i + 1, "PERSON", None, "surname")
        _copy_identity(cand, full[token.text])
        chosen.append(cand)


def _copy_identity(target: _Cand, source: _Cand) -> None:
    target.entity, target.name = source.entity, source.name
    if target.source != "surname":
        target.source += "+surname"


def _upgrade_regions(doc: Doc, chosen: list[_Cand], gaz: Gazetteer, rules: _Rules) -> None:
    """ "the Sumy, Kharkiv and Chernihiv regions", "the region of Odesa": these name regions, not cities."""
    places = sorted((c for c in chosen if c.label == "PLACE" and c.entity is not None), key=lambda c: c.start)
    by_start = {c.start: c for c in places}
    for c in places:
        if c.entity is None or c.entity.kind not in {"city", "town", "village"}:
            continue
        # walk right over a coordinated list to a region word
        group, j = [c], c.end
        while j < len(doc):
            if doc[j].text in {",", "and", "&"}:
                j += 1
            elif j in by_start and by_start[j].entity is not None and by_start[j].end > j:
                group.append(by_start[j])
                j = by_start[j].end
            else:
                break
        right = j < len(doc) and doc[j].lower_ in rules.region_words and group[-1].end <= j
        left = c.start >= 2 and doc[c.start - 1].lower_ == "of" and doc[c.start - 2].lower_ in rules.region_words
        if not (right or left):
            continue
        for member in group if right else [c]:
            if member.entity is None or member.entity.kind not in {"city", "town", "village"}:
                continue
            region = gaz.region_of(doc[member.start : member.end].text)
            if region is not None:
                member.entity = region
                member.source += "+region"
