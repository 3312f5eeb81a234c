"""Who says so: the source of a claim or a quotation, as a canonical person or body.

A sentence's attributions are found at the verbs of saying ("X said", "said X", "X, the head of the
regional administration, wrote") and the claim phrases ("according to X", "citing X"). What they
name resolves to:

- a person: by name, by pronoun (the last person who spoke), or by title ("the mayor", "the governor of
  Belgorod": the person the article introduced with that title, and that place);
- a body, named canonically from ``data/extract/sources.yaml`` ("Ukraine's air force" -> Ukrainian Air
  Force, "regional authorities" about a place in the Kharkiv region -> Kharkiv regional administration,
  "Kyiv said" -> Ukrainian officials);
- nothing, for what is not a source ("according to initial information").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.extract.figures import lower
from pipeline.extract.rules import Rules
from pipeline.gazetteer import short_name

Row = dict[str, Any]
_SENTENCE_OPENING = 5  # characters: a pronoun within them opens its sentence

_SOURCE_ORGS = {"ministry", "military", "agency", "government", "media", "international", "parliament", "alliance"}


@dataclass(frozen=True)
class Claimant:
    """An attribution found in a sentence (offsets within the sentence)."""

    start: int
    end: int
    kind: str  # person, pronoun, body pronoun ("it"), body (a canonical organisation), country, words
    value: str  # the person's or body's name, the country code, or the words used
    places: tuple[Row, ...] = ()  # places named inside the words ("the governor of Belgorod")
    media: bool = False


@dataclass
class _Person:
    pos: int
    name: str
    titles: frozenset[str]
    places: str  # lower-cased words that name the person's places (title words, role)


@dataclass
class People:
    """An article's people and their titles, to resolve "the mayor" and "he"; and the last speaker."""

    body: str = ""
    mentions: list[Row] = field(default_factory=list)
    rules: Rules | None = None
    names: frozenset[str] = frozenset()  # every person the article names
    bodies: dict[str, str] = field(default_factory=dict)  # title -> an unnamed source's canonical body
    last_body: str | None = None  # the body last named as a source ("according to the statement")
    last_speaker: str | None = None
    last_speaking_body: str | None = None  # in sentence order, as the view is built: what "it said" means
    _people: list[_Person] | None = None
    _by_title: dict[str, list[int]] | None = None

    @property
    def people(self) -> list[_Person]:
        """Each person mention with its titles and places (worked out when a title is first resolved)."""
        if self._people is None:
            assert self.rules is not None
            self._people = _index(self.body, self.mentions, self.rules)
        return self._people

    def with_titles(self, titles: set[str]) -> list[_Person]:
        """The person mentions introduced with any of ``titles``, in article order (looked up, not scanned)."""
        if self._by_title is None:
            self._by_title = {}
            for i, person in enumerate(self.people):
                for title in person.titles:
                    self._by_title.setdefault(title, []).append(i)
        found = sorted({i for t in titles for i in self._by_title.get(t, ())})
        return [self.people[i] for i in found]


def index_people(body: str, mentions: list[Row], rules: Rules) -> People:
    """An article's people, to resolve titles ("the mayor") and pronouns."""
    names = frozenset(str(m["name"]) for m in mentions if m["label"] == "PERSON")
    return People(body=body, mentions=mentions, rules=rules, names=names)


def _index(body: str, mentions: list[Row], rules: Rules) -> list[_Person]:
    """The titles each person of an article is introduced with (before the name, in an apposition, or in
    the gazetteer role), and the places named with them."""
    out: list[_Person] = []
    grammar = rules.sources.grammar
    places = sorted((m for m in mentions if m["label"] == "PLACE"), key=lambda m: m["start"])
    starts = [p["start"] for p in places]

    def placed(lo: int, hi: int) -> list[Row]:  # the places starting in [lo, hi), by binary search
        return places[bisect.bisect_left(starts, lo) : bisect.bisect_left(starts, hi)]

    for m in mentions:
        if m["label"] != "PERSON":
            continue
        start, end = m["start"], m["end"]
        before = body[max(0, start - 60) : start]
        before = grammar["title_start"].split(before)[-1]
        after = ""
        if body[end : end + 2].lstrip().startswith(","):  # an apposition: ", the mayor of Kharkiv,"
            tail = body[end : end + 140].lstrip()[1:]
            after = re.split(r"(?<=.),|[.;!?\n]", tail, maxsplit=1)[0]
            if grammar["not_apposition"].match(after) or len(after.split()) > 10:
                after = ""
        role = str(m.get("kind") or "")
        words = lower(" ".join([before, after, role]))
        titles = frozenset(rules.sources.titles.labels(words))
        named = placed(max(0, start - len(before)), start) + placed(end, end + 2 + len(after))
        place_words = " ".join([words, *(_place_keys(p) for p in named)])
        out.append(_Person(start, str(m["name"]), titles, place_words))
    return out


def _place_keys(place: Row) -> str:
    names = [str(place.get("name") or ""), str(place.get("admin1") or "")]
    return " ".join(short_name(n).lower() for n in names if n)


# --------------------------------------------------------------------------- finding attributions


def find_claimants(text: str, sentence_start: int, mentions: list[Row], rules: Rules) -> list[Claimant]:
    """Every attribution in a sentence (mentions with body offsets; results with sentence offsets)."""
    src = rules.sources
    t = lower(text)
    phrases, verbs = list(src.claim_phrases.finditer(t)), list(src.speech.finditer(t))
    if not phrases and not verbs:
        return []
    local = sorted(
        ({**m, "start": m["start"] - sentence_start, "end": m["end"] - sentence_start} for m in mentions),
        key=lambda m: m["start"],
    )
    out: list[Claimant] = []
    for m in phrases:
        end_m = src.grammar["phrase_end"].search(t, m.end())
        stop = min(end_m.start() if end_m else len(t), m.end() + 90)
        named = [x for x in local if m.end() <= x["start"] < stop]
        first = named[0] if named else None
        if first is not None and first["label"] == "PLACE" and t[first["end"] : stop].strip():
            first = next((x for x in named[1:] if x["label"] != "PLACE"), None)  # "Ukraine's air force"
        if first is not None and first["start"] - m.end() <= 45:
            found = _from_mention(first, m.start(), first["end"])
            if found is not None:
                out.append(found)
                continue
        words = text[m.end() : stop].strip()
        if src.grammar["object_pronoun"].fullmatch(words.lower()):
            out.append(Claimant(m.start(), stop, "pronoun", words.lower()))
        elif words:
            out.append(Claimant(m.start(), stop, "words", words, tuple(x for x in named if x["label"] == "PLACE")))
    for v in verbs:
        found = _before_verb(text, t, v, local, rules) or _after_verb(text, t, v, local, rules)
        if found is not None:
            out.append(found)
    return sorted(out, key=lambda c: c.start)


def _from_mention(m: Row, start: int, end: int) -> Claimant | None:
    if m["label"] == "PERSON":
        return Claimant(start, end, "person", str(m["name"]))
    if m["label"] == "ORG" and m.get("kind") in _SOURCE_ORGS:
        return Claimant(start, end, "body", str(m["name"]), media=m.get("kind") == "media")
    if m["label"] == "PLACE" and m.get("country") and (m.get("kind") == "country" or m.get("kind") == "city"):
        return Claimant(start, end, "country", str(m["country"]))
    return None


def _before_verb(text: str, t: str, v: re.Match[str], local: list[Row], rules: Rules) -> Claimant | None:
    vs = v.start()
    grammar = rules.sources.grammar
    before = [x for x in local if x["end"] <= vs]
    near = before[-1] if before and grammar["between_name_and_verb"].match(t[before[-1]["end"] : vs]) else None
    if near is not None and near["label"] != "PLACE":
        found = _from_mention(near, near["start"], v.end())
        if found is not None:
            return found
    # "Mykola Lukashuk, the head of the regional administration, wrote"
    for m in reversed(before):
        gap = t[m["end"] : vs]
        if len(gap) > 130:
            break
        if (
            m["label"] == "PERSON"
            and gap.startswith(",")
            and gap.rstrip().endswith(",")
            and not rules.sources.speech.search(gap)
        ):
            return Claimant(m["start"], v.end(), "person", str(m["name"]))
    government = near is not None and (near.get("kind") == "country" or near.get("name") in rules.places.capital_names)
    # "Kyiv said": the government; not "the Defence Ministry in Moscow said", a body named with its seat
    if (
        near is not None
        and government
        and not grammar["seat_before"].search(t, max(0, near["start"] - 4), near["start"])
    ):
        found = _from_mention(near, near["start"], v.end())
        if found is not None:
            return found
    pron = grammar["pronoun_before"].search(t, max(0, vs - 30), vs)
    if pron is not None:
        return Claimant(pron.start(), v.end(), "pronoun", pron.group("p"))
    pron = grammar["body_pronoun_before"].search(t, max(0, vs - 30), vs)
    if pron is not None:
        return Claimant(pron.start(), v.end(), "body pronoun", pron.group("p"))
    if v.group(0) in rules.sources.participles and grammar["participle_before"].search(t, max(0, vs - 6), vs):
        return _subject(t, v, local, rules)  # "He spelled out his plan, telling his audience that ..."
    starts = list(grammar["phrase_start"].finditer(t, max(0, vs - 80), vs))
    begin = starts[-1].end() if starts else max(0, vs - 80)
    words = text[begin:vs].strip()
    if words and _is_source(lower(words), rules):
        places = tuple(x for x in local if x["label"] == "PLACE" and begin <= x["start"] < vs)
        return Claimant(begin, v.end(), "words", words, places)
    return None


#: A quotation: the words between typographic or straight double quotes.
QUOTATION = re.compile(r"“([^”]{2,}?)”|\"([^\"\n]{2,}?)\"")

_POSSESSIVE = re.compile(r"[’']s?\b")
#: How far into its sentence a subject named first may start ("On Tuesday, Zelensky ...").
_SUBJECT_REACH = 40


def _subject(t: str, v: re.Match[str], local: list[Row], rules: Rules) -> Claimant | None:
    """The subject a sentence opens with, as the speaker of a participle of saying later in it: "he" or
    "she" at its start, or the person or body it names first (within its first words)."""
    pron = rules.sources.grammar["subject_pronoun"].match(t)
    if pron is not None:
        return Claimant(pron.start("p"), v.end(), "pronoun", pron.group("p"))
    # not a possessor: "Putin's aide Yuri Ushakov told reporters ..., adding" is Ushakov speaking
    named = [x for x in local if x["label"] != "PLACE" and not _POSSESSIVE.match(t, x["end"])]
    first = named[0] if named else None
    if first is None or first["start"] > min(_SUBJECT_REACH, v.start()):
        return None
    return _from_mention(first, first["start"], v.end())


def _after_verb(text: str, t: str, v: re.Match[str], local: list[Row], rules: Rules) -> Claimant | None:
    if v.group(0) in rules.sources.object_verbs:
        return None  # "warned Putin of ...": Putin is spoken to, not the source
    ve = v.end()
    nxt = [x for x in local if 0 <= x["start"] - ve <= 2]
    if nxt:
        return _from_mention(nxt[0], v.start(), nxt[0]["end"])
    m = rules.sources.grammar["after_verb"].match(text[ve:])
    if m and _is_source(lower(m.group(1)), rules):
        return Claimant(v.start(), ve + m.end(), "words", m.group(1).strip())
    return None


def _is_source(words: str, rules: Rules) -> bool:
    if len(words.split()) > 8 or rules.sources.not_sources.match(rules.sources.grammar["determiners"].sub("", words)):
        return False
    return bool(rules.sources.source_noun.search(words) or rules.sources.titles.found(words))


def pronoun_person(persons_before: list[Row], offset: int, last_speaker: str | None) -> str | None:
    """The person "he" or "she" at ``offset`` in its sentence means: past the sentence's first words, the
    person the sentence named before it (``persons_before``, in order); at its start, the last speaker."""
    return str(persons_before[-1]["name"]) if persons_before and offset > _SENTENCE_OPENING else last_speaker


def pick(claimants: list[Claimant], start: int, end: int) -> Claimant | None:
    """The attribution of the clause ``[start, end)``: its own, else the sentence's (one after it first)."""
    inside = [c for c in claimants if start <= c.start < end]
    if inside:
        named = [c for c in inside if not c.media]
        return (named or inside)[0]
    after = [c for c in claimants if c.start >= end]
    if after:
        return after[0]
    before = [c for c in claimants if c.end <= start]
    return before[-1] if before else None


# --------------------------------------------------------------------------- resolving


@dataclass(frozen=True)
class Context:
    """What a resolution needs beyond the words: the place the claim is about, the article's default country."""

    place: Row | None = None
    default_country: str | None = None
    pos: int = 0  # where the claim is, in the body


def resolve(
    claimant: Claimant | None, people: People, ctx: Context, rules: Rules, pronoun: str | None = None
) -> str | None:
    """The canonical name of a claimant (None when it names no source); ``pronoun`` is the person a
    pronoun was resolved to where it stands (else the last speaker)."""
    if claimant is None:
        return None
    if claimant.kind == "person":
        return claimant.value
    if claimant.kind == "body":  # a listed organisation: "the ministry" may name it again later
        for m in rules.sources.anaphoric.finditer(lower(claimant.value)):
            people.bodies[m.group(0)] = claimant.value
        people.last_body = claimant.value
        return claimant.value
    if claimant.kind == "pronoun":
        return pronoun if pronoun is not None else people.last_speaker
    if claimant.kind == "body pronoun":  # "it said": the body that spoke last where it stands
        return pronoun
    if claimant.kind == "country":
        nation = rules.sources.nations.get(claimant.value)
        return f"{nation['short']} officials" if nation else None
    written = rules.sources.grammar["determiners"].sub("", claimant.value.strip())
    words = lower(written)
    if not words or rules.sources.not_sources.match(words):
        return None
    person = _by_title(words, claimant.places, people, ctx, rules)
    if person is not None:
        return person
    body = canonical_body(written, claimant.places, ctx, rules)
    nouns = [m.group(0) for m in rules.sources.anaphoric.finditer(words)]
    if body is not None:  # "a UAE government spokesperson": "the spokesperson" later; "the ministry" too
        for key in [*rules.sources.titles.labels(words), *nouns]:
            people.bodies[key] = body
        people.last_body = body
        return body
    # "the ministry said", "the ministry's press office": the body last named with that noun, if any, as a
    # source or else anywhere before ("Russian Defence Ministry weekly briefing. ... the ministry said")
    named = next((people.bodies[n] for n in reversed(nouns) if n in people.bodies), None)
    if named is None and nouns:
        named = _named_before(people, nouns[-1], ctx, rules)
    if named is None and not nouns and rules.sources.back_reference.search(words):
        return people.last_body  # "according to the statement": the body whose statement it is
    return named


def _named_before(people: People, noun: str, ctx: Context, rules: Rules) -> str | None:
    """The listed body the article names last before ``ctx.pos`` with ``noun`` in its name."""
    for m in reversed(people.mentions):
        if (
            m["label"] != "ORG"
            or m["start"] >= ctx.pos
            or not re.search(rf"\b{re.escape(noun)}\b", lower(str(m["name"])))
        ):
            continue
        body = canonical_body(str(m["name"]), (), ctx, rules)
        if body is not None:
            return body
    return None


def _by_title(words: str, places: tuple[Row, ...], people: People, ctx: Context, rules: Rules) -> str | None:
    titles = set(rules.sources.titles.labels(words))
    if not titles:
        return None
    named = people.with_titles(titles)
    wanted = [short_name(str(p.get("name") or "")).lower() for p in places]
    if wanted:
        named = [p for p in named if any(w and w in p.places for w in wanted)]
    elif ctx.place is not None and len({p.name for p in named}) > 1:
        here = _place_keys(ctx.place).split()
        near = [p for p in named if any(w in p.places for w in here)]
        named = near or named
    if named:
        if len({p.name for p in named}) == 1:
            return named[0].name
        earlier = [p for p in named if p.pos <= ctx.pos]
        return (earlier[-1] if earlier else named[0]).name
    if not wanted:
        for title in titles:
            if title in people.bodies:
                return people.bodies[title]
    return None


def canonical_body(written: str, places: tuple[Row, ...], ctx: Context, rules: Rules) -> str | None:
    """The canonical name of a body from the words that name it (no determiners); None when they name no
    listed body (or one whose template lacks a part: no region known for "the regional administration")."""
    src = rules.sources
    words = lower(written)
    dem = rules.sides.demonym.search(words)
    code = rules.sides.demonyms[dem.group(0)] if dem else None
    place = next(iter(places), None) or ctx.place
    if code is None and place is not None:
        code = place.get("country")
    code = code or ctx.default_country
    nation = src.nations.get(code or "")
    region = _region_of(next(iter(places), None)) or _region_of(ctx.place)
    city = next((str(p["name"]) for p in [*places, ctx.place] if p and p.get("kind") in {"city", "town"}), None)
    slots = {"region": region, "city": city, **(nation or {})}
    for name in src.bodies.in_order(words):
        needed = re.findall(r"\{(\w+)\}", name)
        if any(slots.get(s) is None for s in needed):
            continue
        return name.format(**{s: slots[s] for s in needed})
    return None


def _region_of(place: Row | None) -> str | None:
    if place is None:
        return None
    if place.get("kind") == "region":
        return short_name(str(place["name"]))
    if place.get("admin1"):
        return short_name(str(place["admin1"]))
    if place.get("kind") in {"city", "town"}:
        return str(place["name"])
    return None
