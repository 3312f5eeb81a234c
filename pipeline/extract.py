"""Event extraction: strike claims, negotiating rounds and quotes, each tied to its sentence.

Works on one article at a time from its cleaned body, its sentences and the
mentions the tagger found. Word lists and patterns live in ``data/extract.yaml``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.clean import load_data_file, lower_word_pattern, word_pattern
from pipeline.dates import DateRef, find_date
from pipeline.gazetteer import load_gazetteer
from pipeline.ids import stable_id
from pipeline.schemas import FIGURES

Row = dict[str, Any]

_NUMBER_WORD_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_NUMBER_WORD_UNITS = "one|two|three|four|five|six|seven|eight|nine"


def _rx(words: Iterable[str]) -> str:
    return "(?:" + "|".join(words) + ")"


@dataclass(frozen=True)
class _Conf:
    raw: dict[str, Any]
    number_words: dict[str, int]
    vague: dict[str, int]
    num: str  # regex of a number, with group "num"
    qual: str  # regex of an optional qualifier, with group "qual"
    killed: re.Pattern[str]
    injured: re.Pattern[str]
    drone: str
    missile: str
    downed: str
    person_nouns: set[str]
    weapons: dict[str, re.Pattern[str]]  # on lower-cased text, as all of find_labels' patterns
    targets: dict[str, re.Pattern[str]]
    attacker: dict[str, re.Pattern[str]]
    claim_verbs: re.Pattern[str]
    claim_phrases: re.Pattern[str]
    agent_verbs: set[str]
    talk_words: re.Pattern[str]
    negotiate_words: re.Pattern[str]
    status: dict[str, re.Pattern[str]]
    talk_topics: dict[str, re.Pattern[str]]
    channels: dict[str, re.Pattern[str]]
    version: str


@functools.cache
def _conf() -> _Conf:
    c = load_data_file("extract.yaml")
    numbers = c["numbers"]
    words = {str(k): int(v) for k, v in numbers["words"].items()}
    vague = {str(k): int(v) for k, v in numbers["vague"].items()}
    word_alt = "|".join(sorted((re.escape(w) for w in [*words, *vague]), key=len, reverse=True))
    num = (
        rf"(?P<num>\d{{1,3}}(?:,\d{{3}})+|\d+|(?:{_NUMBER_WORD_TENS})-(?:{_NUMBER_WORD_UNITS})|{word_alt})"
        r"(?![\w-]*year)(?!\s*(?:%|per ?cent|km|kilomet|mile|metre|meter|hour|minute|day|week|month|year))"
    )
    qual = r"(?:(?P<qual>" + "|".join(sorted(numbers["qualifiers"], key=len, reverse=True)) + r")\s+)?"
    status = {k: word_pattern(v) for k, v in c["talks"]["status"].items()}
    return _Conf(
        raw=c,
        number_words=words,
        vague=vague,
        num=num,
        qual=qual,
        killed=word_pattern(c["killed"]),
        injured=word_pattern(c["injured"]),
        drone=_rx(c["drones"]),
        missile=_rx(c["missiles"]),
        downed=_rx(c["downed"]),
        person_nouns={w.lower() for w in c["person_nouns"]},
        weapons={k: lower_word_pattern(v) for k, v in c["weapons"].items()},
        targets={k: lower_word_pattern(v) for k, v in c["targets"].items()},
        attacker={k: re.compile(_rx(v), re.IGNORECASE) for k, v in c["attacker"].items()},
        claim_verbs=word_pattern(c["claim_verbs"]),
        claim_phrases=word_pattern(c["claim_phrases"]),
        agent_verbs={w.lower() for w in c["agent_verbs"]},
        talk_words=word_pattern(c["talks"]["words"]),
        negotiate_words=word_pattern(c["talks"]["negotiate_words"]),
        status=status,
        talk_topics={k: lower_word_pattern(v) for k, v in c["talks"]["topics"].items()},
        channels={k: word_pattern(v) for k, v in c["quotes"]["channels"].items()},
        version=f"extract-{c['version']}",
    )


# --------------------------------------------------------------------------- numbers


def parse_number(text: str) -> tuple[int | None, str | None]:
    """A count written in digits or words: ("1,200", None) -> 1200; "dozens" -> (12, "dozens")."""
    conf = _conf()
    t = text.strip().lower()
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d+", t):
        return int(t.replace(",", "")), None
    if t in conf.vague:
        return conf.vague[t], t
    if t in conf.number_words:
        return conf.number_words[t], None
    if "-" in t:
        tens, _, unit = t.partition("-")
        if tens in conf.number_words and unit in conf.number_words:
            return conf.number_words[tens] + conf.number_words[unit], None
    return None, None


@dataclass(frozen=True)
class Count:
    """A figure found in a sentence: what it counts, its value, the hedge around it, where it is."""

    field: str  # drones, missiles, drones_downed, missiles_downed, killed, injured
    value: int
    qualifier: str | None
    start: int
    end: int


@dataclass(frozen=True)
class _CountPatterns:
    weapons: tuple[tuple[str, re.Pattern[str]], ...]  # (field, "<qualifier> <number> <modifiers> drones")
    downed_before: re.Pattern[str]
    downed_after: re.Pattern[str]
    of_them: tuple[re.Pattern[str], ...]
    verb_first: tuple[tuple[str, re.Pattern[str]], ...]
    people: re.Pattern[str]
    listed_people: re.Pattern[str]
    verb_after: re.Pattern[str]
    toll: re.Pattern[str]


@functools.cache
def _count_patterns(flags: int = 0) -> _CountPatterns:
    """The figure patterns of :func:`find_counts`, compiled once; without flags they expect lower-cased text
    (2-3x faster than matching case-insensitively)."""
    conf = _conf()
    q, n = conf.qual, conf.num
    of = r"(?:\s+of)?"
    mods = r"(?:\s+(?!(?:and|or|of|to|at|on|in)\b)[A-Za-z][\w-]*){0,3}?"
    nouns = _rx(sorted(conf.person_nouns, key=len, reverse=True))
    people = rf"(?:an?|one)\s+(?:\d+-year-old\s+)?{nouns}"
    aux = r"(?:\s+(?:were|was|had|have|has|been|are|is|reportedly|also|later|then|all|inside|there|of them))*"
    verb_rx = rf"(?P<verb>{conf.killed.pattern[2:-2]}|{conf.injured.pattern[2:-2]})"
    toll = (  # "the death toll rose to 23", "brought the death toll to 23"
        r"\bdeath toll\b(?:[^.;]{0,80}?\b(?:rose|risen|climbed|jumped|reached|stands|stood|is|was|of|at))?"
        r"\s+(?:to\s+|at\s+)?"
    )
    return _CountPatterns(
        weapons=tuple(
            (kind, re.compile(rf"\b{q}{n}{of}{mods}\s+{weapon}\b", flags))
            for kind, weapon in (("drones", conf.drone), ("missiles", conf.missile))
        ),
        downed_before=re.compile(rf"\b{conf.downed}\b(?!.*\b(?:launched|fired)\b)[^.;]{{0,60}}$", flags),
        downed_after=re.compile(  # "180 drones were shot down", "180 drones and 7 missiles were shot down"
            rf"^\s+(?:[\w-]+\s+){{0,5}}?(?:were|was|had been|have been)\s+{conf.downed}", flags
        ),
        of_them=(  # "shot down 71 of them", "71 of them were shot down"
            re.compile(rf"\b{conf.downed}\s+{q}{n}\s+of\s+(?:them|these|those)\b", flags),
            re.compile(
                rf"\b{q}{n}\s+of\s+(?:them|these|those)\s+(?:were|was|had been|have been)\s+{conf.downed}", flags
            ),
        ),
        verb_first=tuple(
            (field, re.compile(rf"\b{verbs.pattern[2:-2]}\s+{q}{n}\b", flags))
            for field, verbs in (("killed", conf.killed), ("injured", conf.injured))
        ),
        people=re.compile(people, flags),
        listed_people=re.compile(
            rf"\b(?P<list>{people}(?:\s*,\s*{people})*\s+and\s+{people})\s+(?:were|had been|have been)\s+", flags
        ),
        verb_after=re.compile(rf"\b{q}{n}(?P<between>(?:\s+[\w-]+){{0,3}}?){aux}\s+{verb_rx}\b", flags),
        toll=re.compile(rf"{toll}{q}{n}\b", flags),
    )


def find_counts(sentence: str) -> list[Count]:
    """Every drone, missile, interception and casualty figure in one sentence."""
    conf, pat, text = _conf(), _count_patterns(), sentence.lower()
    if len(text) != len(sentence):  # a letter whose lower case is longer: match the original text, ignoring case
        pat, text = _count_patterns(re.IGNORECASE), sentence
    found: dict[tuple[int, int], Count] = {}

    def add(field: str, m: re.Match[str], value_group: str = "num") -> None:
        value, vague = parse_number(m.group(value_group))
        if value is None:
            return
        quals = [x.lower() for x in (m.groupdict().get("qual"), vague) if x]
        span = m.span(value_group)
        if span not in found:
            found[span] = Count(field, value, ", ".join(quals) or None, *span)

    for kind, weapon in pat.weapons:
        for m in weapon.finditer(text):
            if m.group("num").lower() in {"a", "an"}:
                continue  # "a drone attack" is not a count
            downed = pat.downed_before.search(text[: m.start()]) or pat.downed_after.match(text[m.end() :])
            add(f"{kind}_downed" if downed else kind, m)
    # "shot down 71 of them", "71 of them were shot down": of the weapon counted last
    for pattern in pat.of_them:
        for m in pattern.finditer(text):
            before = [c for c in found.values() if c.field in {"drones", "missiles"} and c.start < m.start()]
            add(f"{before[-1].field if before else 'drones'}_downed", m)
    # casualties: verb before ("killing one person", "wounded 18") ...
    for field, verb_first in pat.verb_first:
        for m in verb_first.finditer(text):
            if m.group("num").lower() not in {"a", "an"} or _person_follows(sentence, m.end()):
                add(field, m)
    # ... "a 68-year-old woman and a 38-year-old man were killed": count the people listed
    for m in pat.listed_people.finditer(text):
        after = text[m.end() : m.end() + 20]
        what = "killed" if conf.killed.match(after) else "injured" if conf.injured.match(after) else None
        if what:
            count = len(pat.people.findall(m.group("list")))
            span = m.span("list")
            found.setdefault(span, Count(what, count, None, *span))
    # ... and verb after ("two people were killed", "31 people had been hurt", "four others wounded")
    for m in pat.verb_after.finditer(text):
        if any(c.start <= m.start("num") < c.end for c in found.values()):
            continue
        between = m.group("between").split()
        if any(w.lower() not in conf.person_nouns | {"of"} and not w.lower().endswith("-year-old") for w in between):
            continue
        if m.group("num").lower() in {"a", "an", "one"} and not between:
            continue
        add("killed" if conf.killed.fullmatch(m.group("verb")) else "injured", m)
    for m in pat.toll.finditer(text):
        add("killed", m)
    return sorted(found.values(), key=lambda c: c.start)


def _person_follows(sentence: str, pos: int) -> bool:
    nxt = re.match(r"\s+(?:\d+-year-old\s+)?(\w+)", sentence[pos:])
    return bool(nxt and nxt.group(1).lower() in _conf().person_nouns)


# --------------------------------------------------------------------------- small readers


def find_attacker(text: str) -> str | None:
    """The side a sentence says carried out an attack, where it says so."""
    hits = [(m.start(), side) for side, p in _conf().attacker.items() for m in [p.search(text)] if m]
    return min(hits)[1] if hits else None


def find_labels(text: str, patterns: dict[str, re.Pattern[str]]) -> list[str]:
    """The labels whose pattern (made by :func:`lower_word_pattern`) occurs in ``text``."""
    lowered = text.lower()
    return sorted(label for label, p in patterns.items() if p.search(lowered))


_BODY_NOUN = re.compile(
    r"((?:[\w’'-]+\s+){0,2}(?:officials|authorities|administration|officers|military|army|air force|ministry|"
    r"governor|mayor|police|service|council|spokesperson|spokesman))\s*$",
    re.I,
)


def find_claimant(
    sentence: str, sentence_start: int, mentions: list[Row], last_speaker: str | None, verbs_first: bool = False
) -> str | None:
    """Who a figure is attributed to: "according to Kyiv Mayor Vitali Klitschko", "the Ukrainian Air Force reported"."""
    conf = _conf()
    people = [m for m in mentions if m["label"] == "PERSON" or (m["label"] == "ORG" and m.get("kind") != "platform")]
    m = conf.claim_phrases.search(sentence)
    if verbs_first and conf.claim_verbs.search(sentence):
        m = None
    if m:
        after = [p for p in people if p["start"] - sentence_start >= m.end()]
        if after and after[0]["start"] - sentence_start - m.end() <= 40:
            return str(after[0]["name"])
        phrase = re.match(r"\s*((?:the\s+)?[\w’'\s-]{2,60}?)(?=[,.;]|$)", sentence[m.end() :])
        if phrase:
            return phrase.group(1).strip()
    for v in conf.claim_verbs.finditer(sentence):
        before = [p for p in people if 0 <= v.start() - (p["end"] - sentence_start) <= 12]
        if before:
            return str(before[-1]["name"])
        appositive = [p for p in people if 0 <= v.start() - (p["end"] - sentence_start) <= 90]
        if appositive and re.match(r"\s*,", sentence[appositive[-1]["end"] - sentence_start :]):
            return str(appositive[-1]["name"])  # "Mykola Lukashuk, the head of the regional administration, wrote"
        after = [p for p in people if 0 <= (p["start"] - sentence_start) - v.end() <= 2]
        if after:
            return str(after[0]["name"])
        pron = re.search(r"\b(?:he|she)\s*$", sentence[: v.start()], re.I)
        if pron and last_speaker:
            return last_speaker
        noun = _BODY_NOUN.search(sentence[: v.start()])
        if noun:
            return noun.group(1).strip()
    return None


_BODY_NOUN = re.compile(
    r"((?:[\w’'-]+\s+){0,2}(?:officials|authorities|administration|officers|military|army|air force|ministry|"
    r"governor|mayor|police|service|council|spokesperson|spokesman))\s*$",
    re.I,
)


# --------------------------------------------------------------------------- strikes


@dataclass
class _Ctx:
    """What extraction of one article carries from sentence to sentence."""

    published: dt.date | None
    last_date: DateRef | None = None
    last_place: Row | None = None
    last_attacker: str | None = None
    last_speaker: str | None = None


_FROM_LIST = re.compile(r"\bfrom\s+(?:the\s+)?(?:[A-Z][\w’'-]*,?\s+(?:and\s+)?){0,4}$")


def _strike_places(sentence: Row, mentions: list[Row]) -> list[Row]:
    """Places in a sentence where something happened (not agents like "Moscow launched", not venues)."""
    conf = _conf()
    allowed = set(conf.raw["strike_countries"])
    text, s0 = sentence["text"], sentence["start"]
    out = []
    for m in mentions:
        if m["label"] != "PLACE" or (m["country"] not in allowed):
            continue
        after = text[m["end"] - s0 :].split()
        nxt = after[0].lower().strip(",.") if after else ""
        raw_before = text[max(0, m["start"] - s0 - 40) : m["start"] - s0]
        before = raw_before.lower()
        if nxt in conf.agent_verbs and not re.search(r"\bof\s+(?:the\s+)?(?:city\s+of\s+)?$", before):
            continue
        if re.search(
            r"\b(?:talks|negotiations|meeting|summit|delegation|negotiators)\b[\w\s]{0,15}\b(?:in|at)\s+(?:the\s+)?$",
            before,
        ):
            continue
        # "negotiators from Kyiv, Moscow and Washington": where people come from, not where an attack was
        if _FROM_LIST.search(raw_before) and not re.search(r"\b(?:launched|fired)\b", before):
            continue
        out.append(m)
    return out


@functools.cache
def _capitals() -> list[tuple[re.Pattern[str], str]]:
    return [(re.compile(rf"\b{re.escape(p)}\b", re.I), city) for p, city in _conf().raw["capitals"].items()]


def _capital_mentions(sentence: Row, article_id: str) -> list[Row]:
    """ "the Ukrainian capital", "the capital": a place mention the gazetteer pattern does not give."""
    gaz = load_gazetteer()
    out = []
    for phrase, city in _capitals():
        for m in phrase.finditer(sentence["text"]):
            eid = gaz.place_index.get(city.casefold())
            if eid is None:
                continue
            start = sentence["start"] + m.start()
            out.append(
                {
                    "article_id": article_id,
                    "sentence_idx": sentence["sentence_idx"],
                    "start": start,
                    "end": start + len(m.group(0)),
                    "label": "PLACE",
                    **gaz.entities[eid].fields(),
                }
            )
    return out


def _geo_precision(kind: str | None) -> str:
    if kind == "country":
        return "country"
    if kind in {"region", "area", "sea", "river"}:
        return "region"
    return "town"


def _country_place(code: str) -> Row:
    return load_gazetteer().entities[f"place:{code.lower()}"].fields()


def _event_type(weapons: list[str]) -> tuple[str, str]:
    if any(w in weapons for w in ("drone", "airstrike", "glide bomb")):
        return "Air/drone strike", "195"
    if any(w in weapons for w in ("missile", "ballistic missile", "cruise missile")):
        return "Shelling/artillery/missile attack", "195"
    if any(w in weapons for w in ("artillery", "rocket")):
        return "Shelling/artillery/missile attack", "194"
    return "Air/drone strike", "195"


_ATTACK_CUE = re.compile(
    r"\b(?:hit|hits|struck|strikes?|targeted|targeting|attack(?:ed|s)?|damag(?:ed|ing)|shell(?:ed|ing)|"
    r"explosions?|bombard\w*|pounded|came under)\b",
    re.I,
)


def extract_strikes(article: Row, sentences: list[Row], mentions: list[Row]) -> list[Row]:
    """One row per attack claim: place, date, figures, weapons, targets, attacker, who says so."""
    ctx = _Ctx(article.get("published"))
    by_sentence: dict[int, list[Row]] = {}
    for m in mentions:
        by_sentence.setdefault(m["sentence_idx"], []).append(m)
    rows: list[Row] = []
    for sent in sentences:
        ments = by_sentence.get(sent["sentence_idx"], [])
        if "strikes" in sent["tags"] or "casualties" in sent["tags"]:
            rows += _sentence_claims(article, sent, ments, ctx)
        people = [m for m in ments if m["label"] == "PERSON"]
        if people:  # "he said" in a later sentence refers to the last person named
            ctx.last_speaker = people[-1]["name"]
    return rows


def _sentence_claims(article: Row, sent: Row, ments: list[Row], ctx: _Ctx) -> list[Row]:
    """The attack claims of one sentence: one row per place its figures (or its attack words) point to."""
    conf = _conf()
    text = sent["text"]
    counts = find_counts(text)
    places = _strike_places(
        sent, sorted([*ments, *_capital_mentions(sent, article["article_id"])], key=lambda m: m["start"])
    )
    attacker = find_attacker(text)
    if attacker is not None:  # the attacking country is not where the attack happened
        own = {"Russia": "RU", "Ukraine": "UA"}[attacker]
        places = [p for p in places if not (p["kind"] == "country" and p["country"] == own)]
    if not counts and not (places and _ATTACK_CUE.search(text) and "strikes" in sent["tags"]):
        return []
    date = find_date(text, ctx.published) or ctx.last_date
    if date is None and ctx.published is not None:  # undated: the report's day, as event datasets do
        date = DateRef(ctx.published, None, "day", "")
    weapons = find_labels(text, conf.weapons)
    targets = find_labels(text, conf.targets)
    claimant = find_claimant(text, sent["start"], ments, ctx.last_speaker)
    # each figure goes to the nearest place (preceding places count a little closer)
    groups: dict[str, tuple[Row | None, list[Count]]] = {}
    specific = [p for p in places if p["kind"] != "country"]
    for c in counts:
        pos = sent["start"] + c.start
        if c.field in {"drones", "missiles", "drones_downed", "missiles_downed"} and not specific:
            target = places[0] if places else None
            if target is None:  # launch figures with no place are nationwide
                side = attacker or ctx.last_attacker or "Russia"
                target = _country_place("UA" if side == "Russia" else "RU")
        elif places:
            target = min(places, key=lambda p: (pos - p["end"]) if p["end"] <= pos else 1.5 * (p["start"] - pos))
        else:  # "At least 11 people were wounded." after a sentence about Kharkiv
            carried = ctx.last_place is not None and attacker in (None, ctx.last_attacker)
            target = ctx.last_place if carried else None
            if carried:
                attacker = attacker or ctx.last_attacker
        key = target["name"] if target else ""
        groups.setdefault(key, (target, []))[1].append(c)
    if not counts:  # "Ukraine's second city, Kharkiv, came under attack": the city, not the country
        for p in specific or places:
            groups.setdefault(p["name"], (p, []))
    event_type, cameo = _event_type(weapons)
    rows: list[Row] = []
    for key, (place, cs) in groups.items():
        country = place["country"] if place else None
        who = attacker or ({"UA": "Russia", "RU": "Ukraine"}.get(country or "") if country else ctx.last_attacker)
        row: Row = {
            "strike_id": stable_id(article["article_id"], sent["sentence_idx"], key),
            "article_id": article["article_id"],
            "sentence_idx": sent["sentence_idx"],
            "start": sent["start"],
            "end": sent["end"],
            "evidence": text,
            "date": date.start if date else None,
            "date_precision": date.precision if date else None,
            "place": place["name"] if place else None,
            "country": country,
            "admin1": place["admin1"] if place else None,
            "admin1_code": place["admin1_code"] if place else None,
            "lat": place["lat"] if place else None,
            "lon": place["lon"] if place else None,
            "geo_precision": _geo_precision(place["kind"]) if place else None,
            "attacker": who,
            "weapons": weapons,
            "targets": targets,
            "claimed_by": claimant,
            "event_type": event_type,
            "cameo_code": cameo,
            "qualifiers": sorted({c.qualifier for c in cs if c.qualifier}),
        }
        for f in FIGURES:
            values = [c.value for c in cs if c.field == f]
            row[f] = max(values) if values else None
        rows.append(row)
        if place is not None and place["kind"] != "country":
            ctx.last_place = place
    ctx.last_date = date or ctx.last_date
    ctx.last_attacker = attacker or ctx.last_attacker
    return rows


# --------------------------------------------------------------------------- talks

_STATUS_ORDER = ("cancelled", "planned", "ongoing", "held")


def talk_status(text: str, start: dt.date | None, end: dt.date | None, published: dt.date | None) -> str:
    """Status as of publication: from the dates where they decide it, else from the words."""
    if published is not None and start is not None:
        if (end or start) < published:
            return "cancelled" if _conf().status["cancelled"].search(text) else "held"
        if start > published:
            return "cancelled" if _conf().status["cancelled"].search(text) else "planned"
    for status in _STATUS_ORDER:
        if _conf().status[status].search(text):
            return status
    return "held"


def _clause(text: str, pos: int) -> tuple[int, int]:
    """The comma/semicolon-delimited stretch of ``text`` around ``pos``."""
    left = max(text.rfind(",", 0, pos), text.rfind(";", 0, pos))
    right_candidates = [i for i in (text.find(",", pos), text.find(";", pos)) if i != -1]
    return left + 1, min(right_candidates) if right_candidates else len(text)


def _parties(text: str, mentions: list[Row], exclude: str | None) -> set[str]:
    """Countries at the table: those of the people named, and countries named or implied by their people.

    ``exclude`` (the host country of the venue) counts only through its own people: the UAE hosts talks in
    Abu Dhabi without being a party, Russia is one when Putin meets envoys in Moscow.
    """
    gaz = load_gazetteer()
    conf = _conf()
    demonyms: dict[str, str] = conf.raw["demonyms"]
    by_people: set[str] = set()
    named: set[str] = set()
    for m in mentions:
        e = gaz.entities.get(m["entity_id"])
        if m["label"] == "PERSON" and e is not None and e.country:
            by_people.add(e.country)
        elif m["label"] == "PLACE" and m["kind"] == "country" and m["country"]:
            named.add(m["country"])
        elif m["label"] == "PLACE" and m["name"] in {"Kyiv", "Moscow", "Washington"}:
            named.add(m["country"])  # capitals standing for their governments
    if any(phrase in text.lower() for phrase in conf.raw["pair_phrases"]):
        named |= {"UA", "RU"}
    for word in re.findall(r"\b[A-Za-z.]+\b", text):
        code = demonyms.get(word.lower())
        if code and (word.lower() != "us" or word == "US"):
            named.add(code)
    named.discard(exclude or "")
    return (by_people | named) - {"EU"}


def _country_names(codes: Iterable[str]) -> list[str]:
    gaz = load_gazetteer()
    return sorted(gaz.entities[f"place:{c.lower()}"].name for c in codes if f"place:{c.lower()}" in gaz.entities)


_MEETING_NOUNS = {"talks", "meeting", "meetings", "summit", "negotiations", "round", "format", "process"}


def _venues(sent: Row, mentions: list[Row], article_cities: dict[str, Row]) -> list[tuple[Row, int]]:
    """(venue, position) for each place a meeting is said to happen at: "in Abu Dhabi", "at the Kremlin"."""
    conf = _conf()
    gaz = load_gazetteer()
    text, s0 = sent["text"], sent["start"]
    preps = set(conf.raw["talks"]["venue_prepositions"])
    seats: dict[str, str] = conf.raw["talks"]["seats"]
    out: list[tuple[Row, int]] = []
    for m in mentions:
        before_words = [w.lower() for w in text[: m["start"] - s0].split()[-2:]]
        after = text[m["end"] - s0 :].split()[:1]
        introduced = bool(before_words) and (
            before_words[-1] in preps
            or (before_words[-1] == "the" and len(before_words) > 1 and before_words[0] in preps)
        )
        named_meeting = bool(after) and after[0].lower().strip(",.;") in _MEETING_NOUNS  # "the Geneva talks"
        if not (introduced or named_meeting):
            continue
        if m["label"] == "ORG" and m["name"] in seats:
            eid = gaz.place_index.get(seats[m["name"]].casefold())
            if eid:
                e = gaz.entities[eid]
                out.append(({"name": e.name, "country": e.country, "entity_id": eid}, m["start"]))
            continue
        if m["label"] != "PLACE":
            continue
        if m["kind"] == "country":
            if m["country"] in {"UA", "RU"}:
                continue
            city = article_cities.get(m["country"] or "")
            if city is None:
                continue
            out.append((city, m["start"]))
        elif m["kind"] in {"city", "town"}:
            out.append((m, m["start"]))
    return out


def extract_talks(article: Row, sentences: list[Row], mentions: list[Row]) -> list[Row]:
    """One row per meeting reported: venue, dates, parties, delegates, status as of publication."""
    conf = _conf()
    published = article.get("published")
    by_sentence: dict[int, list[Row]] = {}
    for m in mentions:
        by_sentence.setdefault(m["sentence_idx"], []).append(m)
    article_cities: dict[str, Row] = {}
    for m in mentions:
        if m["label"] == "PLACE" and m["kind"] == "city" and m["country"]:
            article_cities.setdefault(m["country"], m)
    rows: list[Row] = []
    known: dict[str, tuple[dt.date, str]] = {}  # earliest date (and precision) given for each venue
    last_parties: dict[str, set[str]] = {}
    for sent in sentences:
        text = sent["text"]
        if not conf.talk_words.search(text):
            continue
        ments = by_sentence.get(sent["sentence_idx"], [])
        venues = _venues(sent, ments, article_cities)
        if not venues:
            continue
        ref = find_date(text, published)
        before = re.search(r"\b(?:the|a) day before\b[^,.;]*", text, re.I)
        multi = next((n for w, n in conf.raw["talks"]["multi_day"].items() if w in text.lower()), None)
        distinct = dict((v["name"], (v, p)) for v, p in venues)
        for venue, pos in distinct.values():
            c0, c1 = _clause(text, pos - sent["start"])
            # several venues in one sentence: each takes the date and tense words of its own clause
            own = len(distinct) > 1 and before is None
            venue_ref = find_date(text[c0:c1], published) if own else ref
            if venue_ref is not None and venue_ref.precision == "month" and before is None:
                # a bare month far from the venue dates something else ("a plan first presented in November")
                at = venue_ref.at + (c0 if own else 0)
                if abs(at - (pos - sent["start"])) > 60:
                    venue_ref = None
            status_text = text[c0:c1] if own and any(p.search(text[c0:c1]) for p in conf.status.values()) else text
            start = venue_ref.start if venue_ref else None
            end = venue_ref.end if venue_ref else None
            precision = venue_ref.precision if venue_ref else None
            inside = before is not None and before.start() <= pos - sent["start"] < before.end()
            if before is not None:
                if ref is not None and inside:
                    start, end = ref.start + dt.timedelta(days=1), None
                elif ref is None:
                    anchor = known.get(venue["name"]) if inside else None
                    base = anchor[0] if anchor else published
                    start = base if inside else (base - dt.timedelta(days=1) if base else None)
                    precision = "day" if start else None
            if start is None and venue["name"] in known:  # undated here, dated elsewhere in the article
                start, precision = known[venue["name"]]
            if start is None and published is not None:  # undated: a past meeting took place about when reported
                status = talk_status(status_text, None, None, published)
                if status in {"held", "ongoing"}:
                    start, precision = published, "day"
            ended = re.search(r"\b(?:ended|concluded|wrapped up|finished)\b", text, re.I)
            if multi and start is not None and end is None and ended:
                start, end = start - dt.timedelta(days=multi - 1), start
            status = talk_status(status_text, start, end, published)
            clause_ments = [m for m in ments if c0 <= m["start"] - sent["start"] < c1]
            # one venue: the whole sentence names the parties; several: each venue's own clause first
            parties = _parties(text[c0:c1], clause_ments, venue.get("country")) if own else set()
            if len(parties) < 2:
                parties |= _parties(text, ments, venue.get("country"))
            if len(parties) < 2:
                parties |= last_parties.get(venue["name"], set()) or next(iter(last_parties.values()), set())
            if re.search(r"\b(?:trilateral|three-way)\b", text, re.I) and len(parties) < 3:
                parties |= {"UA", "RU", "US"}
            delegates = sorted({m["name"] for m in (clause_ments if own else ments) if m["label"] == "PERSON"})
            negotiate = bool(conf.negotiate_words.search(text))
            rows.append(
                {
                    "talk_id": stable_id(article["article_id"], sent["sentence_idx"], venue["name"]),
                    "article_id": article["article_id"],
                    "sentence_idx": sent["sentence_idx"],
                    "start": sent["start"],
                    "end": sent["end"],
                    "evidence": text,
                    "venue": venue["name"],
                    "country": venue.get("country"),
                    "start_date": start,
                    "end_date": end,
                    "date_precision": precision,
                    "parties": _country_names(parties),
                    "delegates": delegates,
                    "format": {2: "bilateral", 3: "trilateral"}.get(
                        len(parties), "multilateral" if len(parties) > 3 else None
                    ),
                    "status": status,
                    "topics": find_labels(text, conf.talk_topics),
                    "cameo_code": "046" if negotiate else "040",
                }
            )
            if start is not None and precision is not None:
                known[venue["name"]] = min(known.get(venue["name"], (start, precision)), (start, precision))
            if parties:
                last_parties[venue["name"]] = parties
    return rows


# --------------------------------------------------------------------------- quotes

_QUOTE = re.compile(r"“([^”]{3,}?)”|\"([^\"]{3,}?)\"")


def extract_quotes(article: Row, sentences: list[Row], mentions: list[Row]) -> list[Row]:
    """Quoted words with their speaker (a bare "he said" goes to the last named speaker) and channel."""
    conf = _conf()
    body: str = article["body"]
    starts = [s["start"] for s in sentences]
    rows: list[Row] = []
    last_speaker: str | None = None  # speaker of the previous quote
    quotes = [(m.span(1) if m.group(1) is not None else m.span(2)) for m in _QUOTE.finditer(body)]
    named = [x for x in mentions if x["label"] == "PERSON" and not any(a <= x["start"] < b for a, b in quotes)]
    for q0, q1 in quotes:
        text = body[q0:q1]
        if len(text.split()) < 3:
            continue  # scare quotes: "outstanding elements"
        idx = max(0, _bisect(starts, q0))
        sent: Row = sentences[idx] if sentences else {"start": 0, "end": len(body), "text": body}
        # attribution: the sentence with the quoted words blanked out
        s0 = sent["start"]
        outside = sent["text"][: max(0, q0 - 1 - s0)] + " " * (q1 - q0 + 2) + sent["text"][q1 + 1 - s0 :]
        people = [
            x
            for x in mentions
            if x["sentence_idx"] == idx and x["label"] in {"PERSON", "ORG"} and not q0 <= x["start"] < q1
        ]
        earlier = [x["name"] for x in named if x["start"] < q0]
        pronoun_ref = earlier[-1] if earlier else last_speaker  # "he said": the last person named before
        speaker = find_claimant(outside, s0, people, pronoun_ref, verbs_first=True)
        if speaker is None and last_speaker and not outside.strip(' .,"“”'):
            speaker = last_speaker  # a paragraph that only continues the previous quote
        if speaker is None:
            speaker = next((x["name"] for x in reversed(people) if x["label"] == "PERSON"), None)
        channel = next((name for name, p in conf.channels.items() if p.search(outside)), None)
        rows.append(
            {
                "quote_id": stable_id(article["article_id"], q0),
                "article_id": article["article_id"],
                "sentence_idx": sent.get("sentence_idx", 0),
                "start": q0,
                "end": q1,
                "speaker": speaker,
                "text": text,
                "channel": channel,
            }
        )
        last_speaker = speaker or last_speaker
    return rows


def _bisect(starts: list[int], pos: int) -> int:
    return bisect.bisect_right(starts, pos) - 1


def extract_article(article: Row, sentences: list[Row], mentions: list[Row]) -> tuple[list[Row], list[Row], list[Row]]:
    """Strikes, talks and quotes of one article."""
    sentences = sorted(sentences, key=lambda s: s["sentence_idx"])
    mentions = sorted(mentions, key=lambda m: m["start"])
    return (
        extract_strikes(article, sentences, mentions),
        extract_talks(article, sentences, mentions),
        extract_quotes(article, sentences, mentions),
    )


def extract_batch(
    articles: list[Row], sentences: list[Row], mentions: list[Row]
) -> tuple[list[Row], list[Row], list[Row]]:
    """Strikes, talks and quotes of a batch of articles, from their sentences and mentions."""
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
        found = extract_article(a, sents.get(a["article_id"], []), ments.get(a["article_id"], []))
        strikes += found[0]
        talks += found[1]
        quotes += found[2]
    return strikes, talks, quotes
