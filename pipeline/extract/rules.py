"""The extraction rules, compiled once from the data files in ``pipeline/data/extract/``.

Every word list and phrase the extractors use lives in those YAML files; this module only checks them
(a missing or malformed key is a :class:`~pipeline.errors.RulesError` naming the file and the key) and
compiles them into the frozen :class:`Rules` that every extraction function takes as an argument.
All patterns are matched on lower-cased text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pipeline import regex
from pipeline.clean import load_data_file
from pipeline.dates import DateRules, load_date_rules
from pipeline.errors import RulesError

T = TypeVar("T")

FILES = ("numbers", "figures", "places", "sources", "sides", "clauses", "talks", "quotes", "codes", "calibration")

#: The largest count the figure columns (int32) hold.
_MAX_COUNT = 2**31 - 1


def alternation(items: Iterable[str]) -> str:
    """A non-capturing alternation of regular expressions, longest first (so "shot down" beats "shot")."""
    parts = sorted({str(i) for i in items}, key=lambda s: (-len(s), s))
    return "(?:" + "|".join(parts) + ")"


def words(items: Iterable[str]) -> re.Pattern[str]:
    """Any of ``items`` (regular expressions) as whole words, on lower-cased text."""
    return regex.compile(r"\b" + alternation(items) + r"(?!\w)")


def literal(items: Iterable[str]) -> str:
    """An alternation of literal words."""
    return alternation(re.escape(str(i)) for i in items)


@dataclass(frozen=True)
class Labels:
    """Labels, each named by word patterns, all looked for in one pass over a lower-cased text."""

    names: tuple[str, ...]
    pattern: re.Pattern[str]  # a lookahead at every word start: every label, even where matches overlap
    any: re.Pattern[str]  # one search: does the text have any label at all

    @classmethod
    def build(cls, spec: dict[str, Any], where: str, whole_words: bool = True) -> Labels:
        names = tuple(str(k) for k in spec)
        groups = "|".join(f"(?P<l{i}>{alternation(spec[n])})" for i, n in enumerate(names))
        end = r"(?!\w)" if whole_words else ""
        union = alternation(p for n in names for p in spec[n])
        try:
            return cls(names, regex.compile(rf"\b(?=(?:{groups}){end})"), regex.compile(rf"\b{union}{end}"))
        except re.error as exc:
            raise RulesError(f"{where}: bad pattern ({exc})") from exc

    def found(self, t: str) -> set[int]:
        """Indices of the labels whose patterns occur in ``t``."""
        out: set[int] = set()
        if not self.any.search(t):
            return out
        for m in self.pattern.finditer(t):
            out.add(int(str(m.lastgroup)[1:]))
        return out

    def labels(self, t: str) -> list[str]:
        return sorted(self.names[i] for i in self.found(t))

    def first(self, t: str) -> str | None:
        """The label listed first among those ``t`` has."""
        found = self.found(t)
        return self.names[min(found)] if found else None

    def in_order(self, t: str) -> list[str]:
        """The labels ``t`` has, in the order they are listed."""
        return [self.names[i] for i in sorted(self.found(t))]


class _Spec:
    """One data file, read with errors that name the file and the key."""

    def __init__(self, name: str) -> None:
        self.name = f"extract/{name}.yaml"
        self.data = load_data_file(self.name)

    def get(self, key: str, kind: type | tuple[type, ...] = object) -> Any:
        if key not in self.data:
            raise RulesError(f"{self.name}: missing key `{key}`")
        value = self.data[key]
        if not isinstance(value, kind):
            raise RulesError(f"{self.name}: `{key}` should be {getattr(kind, '__name__', kind)}")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.get(key, list)
        bad = [v for v in value if not isinstance(v, str)]
        if bad:  # YAML reads a bare no/on/yes as a boolean
            raise RulesError(f"{self.name}: `{key}` has non-text entries {bad!r}; quote them")
        return [str(v) for v in value]

    def mapping(self, key: str, convert: Callable[[Any], T] = str) -> dict[str, T]:  # type: ignore[assignment]
        value = self.get(key, dict)
        try:
            return {str(k): convert(v) for k, v in value.items()}
        except (TypeError, ValueError) as exc:
            raise RulesError(f"{self.name}: `{key}`: {exc}") from exc

    def pattern(self, key: str) -> re.Pattern[str]:
        try:
            return words(self.strings(key))
        except re.error as exc:
            raise RulesError(f"{self.name}: `{key}`: bad pattern ({exc})") from exc

    def compile(self, expr: str, key: str) -> re.Pattern[str]:
        try:
            return regex.compile(expr)
        except re.error as exc:
            raise RulesError(f"{self.name}: `{key}`: bad pattern ({exc})") from exc

    def grammar(self, names: Iterable[str]) -> dict[str, re.Pattern[str]]:
        """The patterns of the file's ``grammar`` mapping (regular expressions used as they are written)."""
        spec = self.get("grammar", dict)
        missing = [n for n in names if not isinstance(spec.get(n), str)]
        if missing:
            raise RulesError(f"{self.name}: `grammar` lacks {missing}")
        return {n: self.compile(spec[n], f"grammar.{n}") for n in names}

    def at_end(self, key: str, the: bool = False) -> re.Pattern[str]:
        """One of ``key``'s words at the end of a text (the text before a place or number), with an
        optional "the" after it when ``the``."""
        tail = r"\s+(?:the\s+)?$" if the else r"\s+$"
        return self.compile(rf"\b{alternation(self.strings(key))}{tail}", key)


# --------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class Numbers:
    """The number grammar: counts in digits or words, vague amounts and hedges."""

    values: dict[str, int]  # units, teens, tens
    hundred: str
    singular: frozenset[str]  # words that count one only before a person or weapon noun
    vague: dict[str, int]  # vague amount -> its ACLED value
    dozen: tuple[str, int]
    num: str  # a count: digits, words or a vague amount (no singular words)
    hedge: str  # alternation of hedges
    singular_rx: str

    def parse(self, text: str) -> tuple[int | None, int | None]:
        """(value, None) for a count, (None, ACLED value) for a vague amount, (None, None) otherwise."""
        t = " ".join(text.lower().replace("-", " ").split())
        if t in self.vague:
            return None, self.vague[t]
        if t in self.singular:
            return 1, None
        digits = t.replace(",", "")
        if digits.isdigit():
            value = int(digits)  # a figure the int32 columns cannot hold is a serial number or a typo, not a count
            return (value, None) if value <= _MAX_COUNT else (None, None)
        parts = t.split()
        if len(parts) == 2 and parts[1] == self.dozen[0] and parts[0] in self.values:
            return None, self.values[parts[0]] * self.dozen[1]
        total, current = 0, 0
        for p in parts:
            if p == "and":
                continue
            if p == self.hundred:
                current = max(current, 1) * 100
            elif p in self.values:
                current += self.values[p]
            else:
                return None, None
        total += current
        return (total, None) if parts else (None, None)


def _numbers(spec: _Spec) -> Numbers:
    units = spec.mapping("units", int)
    teens = spec.mapping("teens", int)
    tens = spec.mapping("tens", int)
    hundred = str(spec.get("hundred", str))
    vague = spec.mapping("vague", int)
    dozen = spec.get("dozen", dict)
    singular = spec.strings("singular")
    u, te, tn = literal(units), literal(teens), literal(tens)
    word = rf"(?:{tn}(?:[- ]{u})?|{te}|{u})"
    wordnum = rf"(?:{word}(?:\s+{hundred}(?:\s+(?:and\s+)?{word})?)?)"
    not_counts = alternation(spec.strings("not_counts"))
    vague_rx = literal(vague)
    num = (
        rf"(?:{vague_rx}|(?:{te}|{u})\s+{re.escape(str(dozen['word']))}|\d{{1,3}}(?:,\d{{3}})+|\d+|{wordnum})"
        rf"(?![\w-]*year)(?![:.]\d)(?!\s*{not_counts}(?!\w))"
    )
    return Numbers(
        values={**units, **teens, **tens},
        hundred=hundred,
        singular=frozenset(singular),
        vague=vague,
        dozen=(str(dozen["word"]), int(dozen["value"])),
        num=num,
        hedge=literal(spec.strings("hedges")),
        singular_rx=literal(singular),
    )


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    """Figure patterns (compiled from figures.yaml with the number grammar)."""

    weapon: re.Pattern[str]  # "<hedge> <number> <modifiers> <weapon>"
    weapon_kind: tuple[tuple[str, re.Pattern[str]], ...]  # drones / missiles by noun
    of_them: re.Pattern[str]  # "<number> of them" after a weapon figure
    of_which_downed: re.Pattern[str]  # "97 drones, of which 74 were shot down"
    downed_then_of_them: re.Pattern[str]  # "shot down 71 of them"
    downed_bare: re.Pattern[str]  # "of which Ukraine neutralised 30"
    part_of: re.Pattern[str]  # "40 of" in "shot down 40 of 52 drones", at the end of the text before
    list_item: re.Pattern[str]  # "six over the Ryazan region and six more over the Rostov region"
    downed_lead: re.Pattern[str]  # a sentence opening with a bare count downed somewhere: "Six were destroyed above X"
    role_verbs: re.Pattern[str]  # downed and launched verbs, group "downed" when downed
    downed_after: re.Pattern[str]
    hit_after: re.Pattern[str]
    hit_before: re.Pattern[str]
    remainder_before: re.Pattern[str]
    remainder: re.Pattern[str]  # anywhere: a count after it in its clause is what was left over
    subset_before: re.Pattern[str]
    subset_after: re.Pattern[str]
    each_after: re.Pattern[str]  # right after a count: "apiece", "each"
    # a count listed with another ("one Kinzhal missile and 54 drones", "54 drones and one missile"), for "one"
    listed_after: re.Pattern[str]  # used with match(t, pos) after the weapon noun
    listed_before: re.Pattern[str]  # searched in the text just before the count
    list_continues: re.Pattern[str]  # right before a count: "and" (", and") that adds it to a list
    listed_singular: frozenset[str]  # the words of one that count so ("one", not "a")
    each_bare: re.Pattern[str]  # a count with no noun, given to each place: "eight apiece"
    verb_after: re.Pattern[str]  # "two people were killed"
    verb_first: re.Pattern[str]  # "killing one person"
    noun_after: re.Pattern[str]  # "25 dead", "four deaths"
    tolls: tuple[tuple[str, re.Pattern[str]], ...]
    deaths_of: re.Pattern[str]
    listed_people: re.Pattern[str]
    one_person: re.Pattern[str]  # one item of a listed_people list
    killed: re.Pattern[str]
    killed_nouns: re.Pattern[str]
    casualty_nouns: re.Pattern[str]
    person_noun: re.Pattern[str]
    cumulative: re.Pattern[str]
    background: re.Pattern[str]
    hypothetical: re.Pattern[str]
    trigger: re.Pattern[str]  # a sentence with none of these words has no figure
    weapon_words: re.Pattern[str]  # ... and none of these no weapon figure
    casualty_words: re.Pattern[str]  # ... and none of these no casualty figure


def _figures(spec: _Spec, n: Numbers) -> Figures:
    weapons = spec.get("weapons", dict)
    weapon_alt = alternation([w for ws in weapons.values() for w in ws])
    stop = alternation(spec.strings("weapon_modifier_stop"))
    q = rf"(?:(?P<qual>{n.hedge})\s+)?"
    lead = r"(?<![\w.,:$€£/-])"
    num, sing = n.num, n.singular_rx
    joiner = r"\s*(?:,\s*(?:and\s+)?|\s+(?:and|as well as|plus)\s+)"
    word = rf"\s+(?!{stop}\b)(?!(?:{num})\b)[a-z][\w’'-]*"
    # "21 Iskander-type ballistic missiles"; two kinds joined: "14 cruise and ballistic missiles"
    mods = rf"(?P<mods>(?:{word}){{0,3}}?|{word}(?:{word})?\s+(?:and|or|and/or)(?:{word}){{1,2}}?)"
    downed = alternation(spec.strings("downed"))
    launched = alternation(spec.strings("launched"))
    coordinated = rf"(?:\s+and\s+(?:{n.hedge}\s+)?{num}(?:\s+[\w’'-]+){{0,3}}?\s+{weapon_alt})?"
    persons = alternation(spec.strings("person_nouns"))
    modifiers = alternation([*spec.strings("person_modifiers"), r"\d+-year-old", r"\d+-year-olds"])
    nouns = rf"(?P<noun>(?:\s+(?:{persons}|{modifiers})(?!\w))*)"
    aux = alternation(spec.strings("auxiliaries"))
    killed_v = alternation(spec.strings("killed_verbs"))
    injured_v = alternation(spec.strings("injured_verbs"))
    verbs = rf"(?:{killed_v}|{injured_v})"
    one = rf"(?:an?|one)\s+(?:\d+-year-old\s+)?{persons}"
    toll_verbs = alternation(spec.strings("toll_verbs"))
    tolls = []
    for field, key in (("killed", "toll_killed"), ("injured", "toll_injured"), ("casualties", "toll_casualties")):
        what = alternation(spec.strings(key))
        tolls.append(
            (
                field,
                spec.compile(
                    rf"\b{what}\b(?P<gap>[^.;:]{{0,80}}?)\b{toll_verbs}\s+(?:to\s+|at\s+)?{q}(?P<num>{num})(?!\w)", key
                ),
            )
        )
    first = spec.get("first_verbs", dict)
    try:
        first_verbs = rf"(?P<killing>{alternation(first['killed'])})|{alternation(first['injured'])}"
    except KeyError as exc:
        raise RulesError(f"{spec.name}: `first_verbs` lacks {exc}") from exc
    noun_words = alternation(
        [*spec.strings("killed_nouns"), *spec.strings("injured_nouns"), *spec.strings("casualty_nouns")]
    )
    return Figures(
        weapon=spec.compile(
            rf"{lead}{q}(?P<num>{num}|{sing})(?:\s+of(?:\s+(?:the|these|those))?)?{mods}\s+(?P<noun>{weapon_alt})(?!\w)",
            "weapons",
        ),
        weapon_kind=tuple((kind, words(items)) for kind, items in weapons.items()),
        of_them=spec.compile(rf"{lead}{q}(?P<num>{num})\s+of\s+(?:them|these|those|which)(?!\w)", "subset_after"),
        of_which_downed=spec.compile(
            rf"\bof\s+(?:which|them|these|those)\s*,?\s+{q}(?P<num>{num})\s+(?:were|was|had been|have been|are)"
            rf"\s+(?:\w+\s+)?{downed}(?!\w)",
            "downed",
        ),
        downed_then_of_them=spec.compile(
            rf"\b{downed}\s+{q}(?P<num>{num})\s+of\s+(?:them|these|those)(?!\w)", "downed"
        ),
        part_of=spec.compile(rf"{lead}{q}(?P<num>{num})\s+(?:out\s+)?of\s+(?:the\s+)?$", "weapons"),
        downed_bare=spec.compile(
            rf"\b{downed}\s+{q}(?P<num>{num})(?=\s*(?:[,.;:)]|$|\s+(?:over|in|on|above|near|overnight|during|by|and)\b))",
            "downed",
        ),
        list_item=spec.compile(
            rf"(?:[:,;]\s*|\band\s+|\bwhile\s+|\bincluding\s+)(?P<num>{num})(?:\s+more|\s+others?)?"
            rf"(?=\s+(?:(?:were|was|had been)\s+(?:\w+\s+)?{downed}\s+)?(?:over|above|in|near)\b)",
            "downed",
        ),
        downed_lead=spec.compile(
            rf"^\W*(?P<num>{num})(?:\s+more)?\s+(?:were|was|had been|have been)\s+(?:\w+\s+)?{downed}"
            rf"\s+(?:over|above|in|near)\b",
            "downed",
        ),
        role_verbs=spec.compile(rf"\b(?:(?P<downed>{downed})|{launched})(?!\w)", "downed"),
        downed_after=spec.compile(
            # (no other count between them: "70 drones overnight and 61 of them were downed")
            rf"^{coordinated}(?:(?:\s+(?!\d|of\s+(?:them|which|these|those)\b)[\w’'-]+){{0,6}}?"
            rf"\s+(?:were|was|had been|have been|has been|are|is|being|got)"
            rf"(?:\s+\w+){{0,2}}?|(?:\s+[\w’'-]+){{0,2}}?)\s+{downed}(?!\w)",
            "downed",
        ),
        hit_after=spec.compile(
            rf"^{coordinated}(?:\s+[\w’'-]+){{0,3}}?\s+{alternation(spec.strings('hit'))}(?!\w)", "hit"
        ),
        hit_before=spec.at_end("hit_before"),
        remainder_before=spec.at_end("remainder"),
        remainder=spec.pattern("remainder"),
        subset_before=spec.compile(
            rf"\b{alternation(spec.strings('subset_before'))}(?:\s+[\w’'-]+){{0,3}}?\s+$", "subset_before"
        ),
        subset_after=spec.compile(rf"^\s+{alternation(spec.strings('subset_after'))}(?!\w)", "subset_after"),
        each_after=spec.compile(rf"\s+{alternation(spec.strings('each'))}(?!\w)", "each"),  # used with match(t, pos)
        listed_singular=frozenset(spec.strings("listed_singular")),
        list_continues=re.compile(rf"(?:,\s*|\s+)(?:and|as well as|plus)\s+(?:{n.hedge}\s+)?$"),
        listed_after=spec.compile(
            rf"[\w’'-]*(?:\s+[\w’'-]+){{0,8}}?{joiner}(?:{n.hedge}\s+)?(?:{num})(?:\s+[\w’'-]+){{0,3}}?\s+(?:{weapon_alt})(?!\w)",
            "weapons",
        ),
        listed_before=spec.compile(
            rf"(?<![\w.,])(?:{num})(?:\s+[\w’'-]+){{0,3}}?\s+(?:{weapon_alt}){joiner}$", "weapons"
        ),
        each_bare=spec.compile(rf"\b(?P<num>{num})\s+{alternation(spec.strings('each'))}(?!\w)", "each"),
        verb_after=spec.compile(
            rf"{lead}{q}(?P<num>{num}|{sing})(?:\s+of)?{nouns}"
            rf"(?P<loc>\s+(?:in|on|at|near|inside|across|from)\s+(?:the\s+)?[\w’'-]+(?:\s+[\w’'-]+)?)?"
            rf"(?P<paren>\s*,[^,.;]{{1,60}},)?(?P<aux>(?:\s+{aux})*)\s+(?P<verb>{verbs})(?!\w)",
            "killed_verbs",
        ),
        verb_first=spec.compile(
            rf"\b(?P<verb>{first_verbs})\s+{q}(?P<num>{num}|{sing})(?:\s+of)?{nouns}", "first_verbs"
        ),
        noun_after=spec.compile(
            rf"{lead}{q}(?P<num>{num})(?:\s+(?:people|persons|civilians))?\s+(?P<word>{noun_words})(?!\w)",
            "killed_nouns",
        ),
        tolls=tuple(tolls),
        deaths_of=spec.compile(rf"\b(?:deaths?|killing|bodies)\s+of\s+{q}(?P<num>{num}|{sing}){nouns}", "killed_nouns"),
        listed_people=spec.compile(
            rf"\b(?P<list>{one}(?:\s*,\s*{one})*\s+and\s+{one})[”\"]?(?:\s+{aux})*\s+(?P<verb>{verbs})(?!\w)",
            "person_nouns",
        ),
        one_person=spec.compile(one, "person_nouns"),
        killed=spec.compile(rf"^{killed_v}$", "killed_verbs"),
        killed_nouns=spec.compile(rf"^{alternation(spec.strings('killed_nouns'))}$", "killed_nouns"),
        casualty_nouns=spec.compile(rf"^{alternation(spec.strings('casualty_nouns'))}$", "casualty_nouns"),
        person_noun=spec.compile(rf"\b{persons}(?!\w)", "person_nouns"),
        cumulative=spec.pattern("cumulative"),
        background=spec.pattern("background"),
        hypothetical=spec.pattern("hypothetical"),
        # a weapon noun, or a count of weapons told before ("58 of them were brought down over Bryansk",
        # "Six were destroyed above the Ryazan region")
        weapon_words=regex.compile(rf"\b(?:{weapon_alt}|of (?:them|these|those)\b|{downed})"),
        casualty_words=regex.compile(rf"\b(?:{killed_v}|{injured_v}|{noun_words})"),
        trigger=regex.compile(
            r"\b"
            + alternation(
                [
                    weapon_alt,
                    r"of (?:them|these|those)\b",
                    downed,
                    killed_v,
                    injured_v,
                    noun_words,
                    *spec.strings("toll_killed"),
                    *spec.strings("toll_injured"),
                    *spec.strings("toll_casualties"),
                ]
            )
        ),
    )


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Places:
    strike_countries: frozenset[str]
    capitals: dict[str, str]  # country code -> capital name
    capital_names: frozenset[str]
    locative_before: re.Pattern[str]  # matched at the end of the text before a place
    hit_after: re.Pattern[str]  # matched at the start of the text after a place
    agent_noun_after: re.Pattern[str]  # "'s forces"
    agent_verb_after: re.Pattern[str]
    agent_before: re.Pattern[str]
    title_after: re.Pattern[str]
    relative_before: re.Pattern[str]
    not_target_before: re.Pattern[str]
    direction_before: re.Pattern[str]
    residual_before: re.Pattern[str]
    containers: tuple[re.Pattern[str], ...]  # "\x01" stands for the inner place, "\x02" for the outer
    district_after: re.Pattern[str]  # after a town's name: it names a district ("the Kyivskyi district")
    country_noun: re.Pattern[str]  # "<demonym> airspace"
    anaphors: tuple[tuple[str, re.Pattern[str]], ...]  # (kind, pattern)
    capital_phrase: re.Pattern[str]
    city_phrase: re.Pattern[str]  # "the Saudi port city": a city of that country
    extra_words: re.Pattern[str]  # a sentence with none of these has no anaphor, capital phrase or airspace
    attack: re.Pattern[str]
    continuation: re.Pattern[str]
    whole_attack: re.Pattern[str]  # a toll of the whole attack ("the barrage killed five")
    across_country: re.Pattern[str]  # an attack on the whole country ("strikes on Ukrainian cities")
    new_incident: re.Pattern[str]  # at the start of a sentence
    caption_credit: re.Pattern[str]  # at the end of a paragraph: a photo caption's credit


def _places(spec: _Spec, demonyms: dict[str, str]) -> Places:
    capitals: dict[str, str] = spec.mapping("capitals")
    dem = literal(demonyms)
    anaphors = []
    for kind, items in spec.get("anaphors", dict).items():
        anaphors.append((str(kind), spec.compile(r"\b" + alternation(items), "anaphors")))
    return Places(
        strike_countries=frozenset(spec.strings("strike_countries")),
        capitals=capitals,
        capital_names=frozenset(capitals.values()),
        locative_before=spec.at_end("locative", the=True),
        hit_after=spec.compile(rf"^\s*(?:{alternation(spec.strings('hit_after'))})", "hit_after"),
        agent_noun_after=spec.compile(
            rf"^[’']s?\s+(?:[\w-]+\s+)?{alternation(spec.strings('agent_nouns'))}\b", "agent_nouns"
        ),
        title_after=spec.compile(rf"^\s+{alternation(spec.strings('title_after'))}\b", "title_after"),
        agent_before=spec.at_end("agent_before", the=True),
        agent_verb_after=spec.compile(rf"^\s+{alternation(spec.strings('agent_verbs'))}\b", "agent_verbs"),
        relative_before=spec.at_end("relative_before", the=True),
        not_target_before=spec.compile(rf"{alternation(spec.strings('not_target_before'))}\s*$", "not_target_before"),
        direction_before=spec.at_end("directions"),
        residual_before=spec.at_end("residual_before", the=True),
        district_after=spec.compile(str(spec.get("district_after", str)), "district_after"),
        containers=tuple(
            spec.compile(c.replace("{inner}", "\x01").replace("{outer}", "\x02"), "containers")
            for c in spec.strings("containers")
        ),
        country_noun=spec.compile(
            rf"\b(?P<who>{dem})\s+{alternation(spec.strings('country_nouns'))}\b", "country_nouns"
        ),
        anaphors=tuple(anaphors),
        capital_phrase=spec.compile(
            r"\b(?:the\s+)?" + alternation(spec.strings("capital_phrases")).replace("{who}", f"(?P<who>{dem})"),
            "capital_phrases",
        ),
        city_phrase=spec.compile(
            r"\bthe\s+" + alternation(spec.strings("city_phrases")).replace("{who}", f"(?P<who>{dem})") + r"\b",
            "city_phrases",
        ),
        extra_words=regex.compile(
            r"\b(?:capital|" + alternation(spec.strings("country_nouns")) + r"|city|region|oblast)\b"
        ),
        attack=spec.pattern("attack_cues"),
        continuation=spec.pattern("continuation"),
        whole_attack=spec.pattern("whole_attack"),
        across_country=spec.pattern("across_country"),
        new_incident=spec.compile(rf"^\W*{alternation(spec.strings('new_incident'))}\b", "new_incident"),
        caption_credit=spec.compile(str(spec.get("caption_credit", str)), "caption_credit"),
    )


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class Sources:
    speech: re.Pattern[str]
    claim_phrases: re.Pattern[str]
    not_sources: re.Pattern[str]  # the whole phrase
    source_noun: re.Pattern[str]
    anaphoric: re.Pattern[str]  # nouns that refer back to a body named before ("the ministry")
    back_reference: re.Pattern[str]  # what a body said, named again ("the statement")
    object_verbs: frozenset[str]  # speech verbs followed by whom they address, not by a source
    participles: frozenset[str]  # "..., saying that": the speaker is the sentence's subject
    bodies: Labels  # each body's name template, in the order they are tried
    nations: dict[str, dict[str, str]]
    titles: Labels
    grammar: dict[str, re.Pattern[str]]  # the patterns of sources.yaml's `grammar`, by name


def _sources(spec: _Spec) -> Sources:
    bodies: dict[str, list[str]] = {}
    for i, b in enumerate(spec.get("bodies", list)):
        if not isinstance(b, dict) or "pattern" not in b or "name" not in b:
            raise RulesError(f"{spec.name}: `bodies` entry {i} needs `pattern` and `name`")
        bodies.setdefault(str(b["name"]), []).append(f"(?:{b['pattern']})")
    nations = {}
    for code, entry in spec.get("nations", dict).items():
        missing = {"nat", "short", "country", "emergency", "armed_forces"} - set(entry)
        if missing:
            raise RulesError(f"{spec.name}: `nations.{code}` lacks {sorted(missing)}")
        nations[str(code)] = {k: str(v) for k, v in entry.items()}
    titles = Labels.build(spec.get("titles", dict), f"{spec.name}: `titles`")
    return Sources(
        speech=spec.pattern("speech_verbs"),
        claim_phrases=spec.pattern("claim_phrases"),
        not_sources=spec.compile(rf"^(?:the\s+|an?\s+)?{alternation(spec.strings('not_sources'))}$", "not_sources"),
        source_noun=spec.pattern("source_nouns"),
        anaphoric=spec.pattern("anaphoric_nouns"),
        back_reference=spec.pattern("back_references"),
        object_verbs=frozenset(spec.strings("object_verbs")),
        participles=frozenset(spec.strings("participle_verbs")),
        bodies=Labels.build(bodies, f"{spec.name}: `bodies`", whole_words=False),
        nations=nations,
        titles=titles,
        grammar=spec.grammar(
            [
                "between_name_and_verb",
                "seat_before",
                "pronoun_before",
                "body_pronoun_before",
                "participle_before",
                "subject_pronoun",
                "phrase_end",
                "phrase_start",
                "not_apposition",
                "determiners",
                "object_pronoun",
                "after_verb",
                "title_start",
            ]
        ),
    )


# --------------------------------------------------------------------------- sides


@dataclass(frozen=True)
class Sides:
    attacker_of_country: dict[str, str]
    defender: dict[str, str]  # side -> the country its launch figures fall on
    side_country: dict[str, str]
    attacker: re.Pattern[str]  # group "t<tier>_<side index>" names the tier and side
    side_names: tuple[str, ...]
    demonyms: dict[str, str]
    demonym: re.Pattern[str]
    pair: re.Pattern[str]


def _sides(spec: _Spec) -> Sides:
    groups: list[str] = []
    side_names: list[str] = []
    for i, tier in enumerate(spec.get("attacker", list)):
        if not isinstance(tier, dict):
            raise RulesError(f"{spec.name}: `attacker` tier {i} should map a side to its phrases")
        for side, items in tier.items():
            if str(side) not in side_names:
                side_names.append(str(side))
            groups.append(f"(?P<t{i}_{side_names.index(str(side))}>{alternation(items)})")
    demonyms: dict[str, str] = spec.mapping("demonyms")
    return Sides(
        attacker_of_country=spec.mapping("attacker_of_country"),
        defender=spec.mapping("defender"),
        side_country=spec.mapping("side_country"),
        attacker=spec.compile(r"\b(?:" + "|".join(groups) + r")(?!\w)", "attacker"),
        side_names=tuple(side_names),
        demonyms=demonyms,
        demonym=regex.compile(r"(?<![\w.])" + literal(demonyms) + r"(?![\w-]|\.\w)"),
        pair=spec.pattern("pair_phrases"),
    )


# --------------------------------------------------------------------------- talks, quotes, codes


@dataclass(frozen=True)
class Talks:
    meeting: re.Pattern[str]  # nouns and verbs
    not_meeting: re.Pattern[str]
    forum: re.Pattern[str]  # the summit of an alliance or forum ("the NATO summit"): no round of its own
    travel: re.Pattern[str]  # going somewhere ("arrived in"): with a forum, no meeting words
    venue_before: frozenset[str]
    not_parties: frozenset[str]  # codes that are never a party at the table (a bloc, not a country)
    three_way: re.Pattern[str]  # "trilateral talks": the format names the third side
    proposal: re.Pattern[str]  # "floated a meeting with Zelensky": a meeting only proposed
    receive: re.Pattern[str]  # "Putin received Witkoff": a meeting when a person or delegation is received
    receive_object: re.Pattern[str]  # "... the two American envoys": a delegation received
    leader_role: re.Pattern[str]  # roles of heads of state or government ("Trump's team" is not Trump at the table)
    three_way_sides: frozenset[str]  # the three sides of this war's three-way format
    venue_after: re.Pattern[str]
    building_after: re.Pattern[str]  # matched on the text as written, right after a place's name
    country_modifier_after: re.Pattern[str]  # after a country: a noun it qualifies ("the U.S. mission")
    venue_host: re.Pattern[str]
    not_venue_before: re.Pattern[str]
    seats: dict[str, str]
    seat_kinds: frozenset[str]  # the org kinds of a seat of government (the rest only lend the room)
    status: tuple[tuple[str, re.Pattern[str]], ...]
    ended: re.Pattern[str]
    multi_day: Labels  # names are the numbers of days
    nth_day: Labels
    resume: re.Pattern[str]
    resume_within_days: int  # talks that resume later than this after a round's last day are another round
    day_before: re.Pattern[str]
    day_after: re.Pattern[str]
    same_day: re.Pattern[str]
    just_held: re.Pattern[str]
    series: re.Pattern[str]
    mediator: tuple[re.Pattern[str], ...]
    host: tuple[re.Pattern[str], ...]
    participant_before: re.Pattern[str]
    participant_after: re.Pattern[str]
    relational_before: re.Pattern[str]
    relational_after: re.Pattern[str]
    qualifier: re.Pattern[str]  # a role noun after a name that qualifies it ("Trump envoy")
    delegation: re.Pattern[str]  # a sentence that lists a delegation
    attendance: re.Pattern[str]  # "would be there on Wednesday": at the meeting just spoken of
    subject_gap: re.Pattern[str]  # what may stand between a name and its verb ("Rubio is expected to attend")
    negotiator: re.Pattern[str]
    topics: Labels
    negotiate: re.Pattern[str]
    # since_before, continues, gerund, talks_with, definite, new_round, venue_of, statement_*, cleft, city_of, opened,
    # people_list_gap, name_pair_gap, pair_named, as_then, own_team, own_people, hosting_after, side_before,
    # venue_building, where_after, moved_to, side_pair
    grammar: dict[str, re.Pattern[str]]


def _numbered(spec: _Spec, key: str) -> Labels:
    """Phrases that each give a number ("two-day": 2), as labels named by the number."""
    by_number: dict[str, list[str]] = {}
    for phrase, n in spec.mapping(key, int).items():
        by_number.setdefault(str(n), []).append(phrase)
    return Labels.build(by_number, f"{spec.name}: `{key}`")


def _forums(spec: _Spec) -> re.Pattern[str]:
    """The gathering of an alliance or forum: "the NATO summit", "a summit of the Bucharest Nine", "NATO
    leaders gathered"."""
    names, nouns = alternation(spec.strings("forum_names")), alternation(spec.strings("forum_gatherings"))
    return spec.compile(
        rf"\b(?:{names})(?:[’']s)?\s+(?:\w+\s+)?{nouns}\b"
        rf"|\b{nouns}\s+of\s+(?:the\s+)?(?:\w+\s+)?(?:{names})\b"
        rf"|\b(?:{names})\s+leaders\s+gathered\b",
        "forum_names",
    )


def _talks(spec: _Spec) -> Talks:
    status = spec.get("status", dict)
    order = ("cancelled", "ongoing", "planned", "held")
    if set(status) != set(order):
        raise RulesError(f"{spec.name}: `status` needs exactly {list(order)}")
    return Talks(
        meeting=words([*spec.strings("meeting_nouns"), *spec.strings("meeting_verbs")]),
        not_meeting=spec.pattern("not_meetings"),
        forum=_forums(spec),
        travel=spec.pattern("travel_words"),
        venue_before=frozenset(spec.strings("venue_before")),
        not_parties=frozenset(spec.strings("not_parties")),
        three_way=spec.pattern("three_way_words"),
        proposal=spec.pattern("proposal"),
        receive=spec.pattern("receive_verbs"),
        leader_role=spec.pattern("leader_roles"),
        receive_object=spec.compile(
            # used with match() at the verb's end, so no "^"
            rf"\s+(?:the\s+|a\s+)?(?:(?!(?:from|by|of|to|for)\b)[\w.’'-]+\s+){{0,4}}?"
            rf"{alternation(spec.strings('receive_objects'))}\b",
            "receive_objects",
        ),
        three_way_sides=frozenset(spec.strings("three_way_sides")),
        venue_after=spec.compile(rf"^\s*(?:{alternation(spec.strings('venue_after'))})\b", "venue_after"),
        country_modifier_after=spec.compile(str(spec.get("country_modifier_after", str)), "country_modifier_after"),
        building_after=re.compile(rf"\s+(?:{alternation(spec.strings('building_after'))})\b"),
        venue_host=spec.at_end("venue_host", the=True),
        not_venue_before=spec.at_end("not_venue_before", the=True),
        seats=spec.mapping("seats"),
        seat_kinds=frozenset(spec.strings("seat_kinds")),
        status=tuple((s, words(status[s])) for s in order),
        ended=spec.pattern("ended"),
        multi_day=_numbered(spec, "multi_day"),
        nth_day=_numbered(spec, "nth_day"),
        resume=spec.pattern("resume"),
        resume_within_days=spec.get("resume_within_days", int),
        day_before=spec.pattern("day_before"),
        day_after=spec.pattern("day_after"),
        same_day=spec.pattern("same_day"),
        just_held=spec.pattern("just_held"),
        series=spec.pattern("series"),
        mediator=tuple(spec.compile(p, "mediator_phrases") for p in spec.strings("mediator_phrases")),
        host=tuple(spec.compile(p, "host_phrases") for p in spec.strings("host_phrases")),
        participant_before=spec.compile(
            # at most four words between: "met senior Ukrainian officials", not "met Witkoff in Miami on
            # Saturday to discuss the Russian position"
            rf"\b{alternation(spec.strings('participant_before'))}\s+(?:the\s+)?(?:[\w.’'-]+\s+){{0,4}}?$",
            "participant_before",
        ),
        participant_after=spec.compile(
            # "Umerov, the defence minister, who led ...", "Kalin, the intelligence chief, would take part":
            # an apposition may stand between the name and the clause that says the person takes part
            # (none of the words between them a "not": "did not attend")
            rf"^(?:[’']s)?(?:\s*,\s*[^,;()]{{3,90}},(?=\s*{alternation(spec.strings('apposition_then'))}\b))?\s*,?\s*"
            rf"(?:(?!{alternation(spec.strings('participant_not'))}\b)[\w.’'-]+\s+){{0,2}}?"
            rf"{alternation(spec.strings('participant_after'))}\b",
            "participant_after",
        ),
        relational_before=spec.compile(
            rf"\b{alternation(spec.strings('relational_before'))}\s+(?:the\s+)?(?:[\w.’'-]+\s+){{0,3}}?$",
            "relational_before",
        ),
        relational_after=spec.compile(rf"^{alternation(spec.strings('relational_after'))}", "relational_after"),
        qualifier=spec.compile(str(spec.get("qualifier", str)), "qualifier"),
        delegation=spec.compile(
            rf"\b{alternation(spec.strings('delegation_list'))}\b[^.;]{{0,60}}?\b{alternation(spec.strings('delegation_verbs'))}\b"
            # "heads the Russian delegation", "led Kyiv's team"
            rf"|\b{alternation(spec.strings('delegation_heads'))}\s+(?:the|[\w.-]+[’']s)\s+(?:[\w.’'-]+\s+){{0,2}}?"
            rf"{alternation(spec.strings('delegation_list'))}\b(?:\s+(?:are|is|was|were)\b)?"
            # the people brought, then beside whom: no clause or "of" between ("has the backing of ...")
            rf"|\b{alternation(spec.strings('delegation_bring'))}\s+"
            rf"(?:(?!\b(?:{alternation(spec.strings('delegation_bring_not'))})\b)[^.;]){{3,90}}?\b"
            rf"{alternation(spec.strings('delegation_beside'))}\b"
            rf"|\b{alternation(spec.strings('delegation_seated'))}\b",
            "delegation_list",
        ),
        attendance=spec.compile(
            rf"\b{alternation(spec.strings('attendance'))}{spec.get('attendance_end', str)}", "attendance"
        ),
        # between a name and its verb: an apposition, then at most four words, none a "not" ("Rubio is
        # expected to attend", "Witkoff and Kushner, the American envoys, would be there")
        subject_gap=spec.compile(
            rf"^(?:[’']s)?(?:\s*,\s*[^,;()]{{3,90}},)?"
            rf"(?:\s+(?!{alternation(spec.strings('participant_not'))}\b)[\w.’'-]+){{0,4}}\s*$",
            "participant_not",
        ),
        negotiator=spec.pattern("negotiator_words"),
        topics=Labels.build(spec.get("topics", dict), f"{spec.name}: `topics`"),
        negotiate=spec.pattern("negotiate_words"),
        grammar=spec.grammar(
            [
                "since_before",
                "continues",
                "gerund",
                "talks_with",
                "definite",
                "new_round",
                "venue_of",
                "people_list_gap",
                "name_pair_gap",
                "as_then",
                "own_team",
                "own_people",
                "hosting_after",
                "side_before",
                "venue_building",
                "where_after",
                "moved_to",
                "side_pair",
                "pair_named",
                "statement_date",
                "statement_verb",
                "city_of",
                "opened",
                "cleft",
            ]
        ),
    )


@dataclass(frozen=True)
class Quotes:
    min_words: int
    channels: Labels
    pronouns: frozenset[str]
    new_statement: re.Pattern[str]  # between a quotation and a later attribution: another statement


def _quotes(spec: _Spec) -> Quotes:
    return Quotes(
        min_words=int(spec.get("min_words", int)),
        channels=Labels.build(spec.get("channels", dict), f"{spec.name}: `channels`"),
        pronouns=frozenset(spec.strings("pronouns")),
        new_statement=spec.compile(spec.get("new_statement", str), "new_statement"),
    )


@dataclass(frozen=True)
class Codes:
    weapons: Labels
    targets: Labels
    events: tuple[tuple[frozenset[str], str, str], ...]
    default_event: tuple[str, str]


def _codes(spec: _Spec) -> Codes:
    events = []
    for i, e in enumerate(spec.get("events", list)):
        if not isinstance(e, dict) or not {"weapons", "acled", "cameo"} <= set(e):
            raise RulesError(f"{spec.name}: `events` entry {i} needs `weapons`, `acled` and `cameo`")
        events.append((frozenset(e["weapons"]), str(e["acled"]), str(e["cameo"])))
    default = spec.get("default_event", dict)
    return Codes(
        weapons=Labels.build(spec.get("weapons", dict), f"{spec.name}: `weapons`"),
        targets=Labels.build(spec.get("targets", dict), f"{spec.name}: `targets`"),
        events=tuple(events),
        default_event=(str(default["acled"]), str(default["cameo"])),
    )


@dataclass(frozen=True)
class Clauses:
    boundaries: re.Pattern[str]
    leading: re.Pattern[str]  # a sentence opening with a subordinate clause, up to its first comma
    list_gap: re.Pattern[str]  # the whole text between two items of a list ("the UK, France and Germany")
    list_gap_or: re.Pattern[str]  # ... or of alternatives ("Kharkiv or Sumy"), for places


def _clauses(spec: _Spec) -> Clauses:
    joiners = spec.strings("list_joiners")
    either = [*joiners, *spec.strings("list_alternatives")]
    return Clauses(
        spec.compile("|".join(f"(?:{b})" for b in spec.strings("boundaries")), "boundaries"),
        spec.compile(rf"^\W*{alternation(spec.strings('leading'))}\b[^,;]{{3,150}}(?=,)", "leading"),
        spec.compile(rf"\s*{alternation(joiners)}(?:the\s+)?", "list_joiners"),
        spec.compile(rf"\s*{alternation(either)}(?:the\s+)?", "list_alternatives"),
    )


@dataclass(frozen=True)
class Calibration:
    """What a row's confidence means: the measured share of right rows of its family and evidence kind
    (``data/extract/calibration.yaml``), shrunk towards the family's share where the kind was seen little."""

    counts: dict[str, dict[str, tuple[int, int]]]  # family -> kind -> (right, of)
    prior_weight: float
    kind_of_place_source: dict[str, str]
    confirmed: float
    min_measured: int  # answers of a kind it takes to reach `confirmed`

    def confidence(self, family: str, kind: str) -> float:
        """The measured probability that a row of ``family`` and evidence ``kind`` is right.

        A kind seen a few times is pulled towards its family's share; one never seen in its family takes
        its rate in the other strike family where that one has seen it ("place in neighbouring sentence"
        of a row without figures as of one with figures), else the family's share. A kind seen fewer than
        ``min_measured`` times stays below ``confirmed``: it is not known well enough to be confirmed."""
        counts = self.counts[family]
        right, of = counts[kind]
        total_right, total = sum(r for r, _ in counts.values()), sum(n for _, n in counts.values())
        share = total_right / total if total else 0.5
        p = (right + self.prior_weight * share) / (of + self.prior_weight)
        sibling = _SIBLING.get(family)
        if of == 0 and sibling is not None and self.counts[sibling][kind][1] > 0:
            p = min(p, self.confidence(sibling, kind))
        if of < self.min_measured:
            p = min(p, self.confirmed - 0.05)
        return round(p, 3)


#: A family whose unseen kinds borrow the rate of the other's (both judge strike rows by their place).
_SIBLING = {"strike_places": "strike_figures", "strike_figures": "strike_places"}
#: How a strike row's place was found (strikes.place_source; ``none``: no place), each needing a kind.
PLACE_SOURCES = (
    "sentence",
    "clause",
    "previous_sentence",
    "next_sentence",
    "article",
    "nationwide",
    "attack",
    "none",
)


#: The rule families a confidence is measured for, and the evidence kinds each must list.
CALIBRATED = {"strike_figures": "strike", "strike_places": "strike", "talks": "talks", "quotes": "quotes"}
TALK_KINDS = ("dated", "undated", "no party named")
#: The evidence kind of a quote's speaker (quotes.confidence_basis): how its attribution was found.
QUOTE_KINDS = {
    "beside": "attribution beside the quote",  # "..., Ushakov said." / "Umerov said: ..."
    "pronoun": "attribution by pronoun",  # "..., he said": the last person who spoke
    "further away": "attribution further away",  # a speaker named in the sentence, not next to the quote
    "continued": "continued quotation",  # a paragraph that only goes on quoting
    "no attribution": "no attribution",  # nobody is named: the speaker is left empty
}


def _calibration(spec: _Spec) -> Calibration:
    kinds: dict[str, str] = spec.mapping("kind_of_place_source")
    if set(kinds) != set(PLACE_SOURCES):
        raise RulesError(f"{spec.name}: `kind_of_place_source` must map each of {', '.join(PLACE_SOURCES)}")
    strike_kinds = set(kinds.values())
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    for family, what in CALIBRATED.items():
        table = spec.get(family, dict)
        wanted = {"strike": strike_kinds, "talks": set(TALK_KINDS), "quotes": set(QUOTE_KINDS.values())}[what]
        if set(table) != wanted:
            raise RulesError(f"{spec.name}: `{family}` must list the kinds {', '.join(sorted(wanted))}")
        try:
            counts[family] = {str(k): (int(v["right"]), int(v["of"])) for k, v in table.items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise RulesError(f"{spec.name}: `{family}`: each kind needs `right` and `of` ({exc})") from exc
        if any(not 0 <= r <= n for r, n in counts[family].values()):
            raise RulesError(f"{spec.name}: `{family}`: `right` must be between 0 and `of`")
    confirmed = float(spec.get("confirmed", (int, float)))
    weight = float(spec.get("prior_weight", (int, float)))
    least = spec.get("min_measured", int)
    if not (0 < confirmed <= 1 and weight >= 0 and least >= 0):
        raise RulesError(f"{spec.name}: `confirmed` must be in (0, 1], `prior_weight` and `min_measured` 0 or more")
    return Calibration(counts, weight, kinds, confirmed, least)


@dataclass(frozen=True)
class Rules:
    """Everything extraction knows about wording, compiled; pass it to every extraction function."""

    numbers: Numbers
    figures: Figures
    places: Places
    sources: Sources
    sides: Sides
    clauses: Clauses
    talks: Talks
    quotes: Quotes
    codes: Codes
    dates: DateRules
    calibration: Calibration


@functools.cache
def load_rules() -> Rules:
    """The rules from the package's data files (compiled once per process)."""
    specs = {name: _Spec(name) for name in FILES}
    sides = _sides(specs["sides"])
    numbers = _numbers(specs["numbers"])
    dates = load_date_rules()
    return Rules(
        numbers=numbers,
        figures=_figures(specs["figures"], numbers),
        places=_places(specs["places"], sides.demonyms),
        sources=_sources(specs["sources"]),
        sides=sides,
        clauses=_clauses(specs["clauses"]),
        talks=_talks(specs["talks"]),
        quotes=_quotes(specs["quotes"]),
        codes=_codes(specs["codes"]),
        dates=dates,
        calibration=_calibration(specs["calibration"]),
    )
