"""Figures in a sentence and their roles: drones and missiles launched or downed, people killed or injured.

A weapon count takes its role from the verbs around it: a verb of shooting down before it ("air
defences shot down 16 missiles") or after it ("20 UAVs were stopped"), else the nearest launch verb; a
count followed by a verb of hitting ("18 drones struck their targets") counts hits, not launches, and
is left out, as is the remainder in "all but 26 drones were shot down". Subsets ("two of them over the
Ryazan region", "including 11 ballistic missiles") are marked, so that they are not read as totals.
Vague amounts ("hundreds of drones") are returned with no value and their ACLED-coded estimate.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from pipeline.extract.rules import Rules

CASUALTIES = "casualties"  # "20 casualties": the dead and the injured together


@dataclass(frozen=True)
class Figure:
    """A figure found in a sentence: what it counts, its value, the words and hedge, where it is."""

    field: str  # drones, missiles, drones_downed, missiles_downed, killed, injured
    value: int | None  # None for a vague amount
    words: str  # the words as written, hedge included ("more than 370", "hundreds")
    qualifier: str | None  # the hedge: "at least", "more than" ...
    start: int  # span of the number in the sentence
    end: int
    estimate: int | None = None  # a vague amount's ACLED-coded value
    subset: bool = False  # a part of a total ("two of them", "including 11 ballistic")
    each: bool = False  # each place's of a list ("eight apiece"), not a total they share
    place_after: bool = False  # its place is the one named right after it ("two above the Belgorod region")

    @property
    def vague(self) -> bool:
        return self.value is None


def lower(text: str) -> str:
    """``text`` lower-cased with every offset kept (a letter whose lower case is longer stays as it is)."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


class _Found:
    def __init__(self, text: str, rules: Rules) -> None:
        self.text = text
        self.rules = rules
        self.by_span: dict[tuple[int, int], Figure] = {}

    def add(
        self,
        field: str,
        m: re.Match[str],
        subset: bool = False,
        value: int | None = None,
        span: tuple[int, int] | None = None,
        each: bool = False,
        place_after: bool = False,
    ) -> None:
        """Record the figure of match ``m`` (its "num" group, or ``value`` over ``span``) unless one is there."""
        span = span or m.span("num")
        if any(s < span[1] and span[0] < e for s, e in self.by_span):
            return
        estimate = None
        if value is None:
            value, estimate = self.rules.numbers.parse(m.group("num"))
            if value is None and estimate is None:
                return
        qual = m.groupdict().get("qual")
        first = m.start("qual") if qual and m.start("qual") < span[0] else span[0]
        words = self.text[first : span[1]]
        self.by_span[span] = Figure(field, value, words, qual, span[0], span[1], estimate, subset, each, place_after)

    def sum_types(self, typed: list[tuple[re.Match[str], str]]) -> None:
        """Counts of one role listed by type ("nine Iskander-M ballistic missiles, four Kalibr cruise missiles
        and 142 drones", "39 Kh-101 cruise missiles and two Kinzhal missiles were intercepted") are one count:
        each with the words of its own type, nothing but a list's joiners between them."""
        merged: list[tuple[Figure, int, str]] = []  # the figure, where its noun ends, its type words
        for m, kind in typed:
            f = self.by_span.get(m.span("num"))
            if f is None:
                continue
            if merged:
                last, noun_end, last_kind = merged[-1]
                if (
                    f.field == last.field
                    and kind != last_kind
                    and not (f.subset or last.subset or f.each or last.each or f.vague or last.vague)
                    and _TYPE_LIST_GAP.fullmatch(self.text, noun_end, m.start("num")) is not None
                ):
                    del self.by_span[(last.start, last.end)], self.by_span[(f.start, f.end)]
                    words = self.text[last.start : f.end]
                    total = dataclasses.replace(last, value=(last.value or 0) + (f.value or 0), words=words, end=f.end)
                    self.by_span[(total.start, total.end)] = total
                    merged[-1] = (total, m.end(), kind)
                    continue
            merged.append((f, m.end(), kind))

    def weapons(self) -> list[Figure]:
        return sorted((f for f in self.by_span.values() if f.field.startswith(("drones", "missiles"))), key=_pos)


#: Between two counts of a list of types: a comma or "and" ("four Kalibr cruise missiles and two ...").
#: The rest of a count's noun may come first ("nine Iskander-M ballistic missiles, ...").
_TYPE_LIST_GAP = re.compile(
    r"(?:[\w.-]*(?:\s+[\w.-]+){0,3}?\s+(?:missiles?|drones?|rockets?|uavs?))?\s*(?:,\s*(?:and\s+)?|and\s+)"
)


def _pos(f: Figure) -> int:
    return f.start


def _downed(t: str, start: int, end: int, rules: Rules, bound: int = 0) -> bool | None:
    """True for a downed count, False for a launch, None for hits (from the words around ``t[start:end]``;
    a verb before ``bound``, the start of the clause, does not count)."""
    fig = rules.figures
    after = t[end:]
    if fig.hit_after.match(after) or fig.hit_before.search(t, max(0, start - 20), start):
        return None
    if fig.downed_after.match(after):
        return True
    return bool(_verb_role(t, start, rules, bound))


def _verb_role(t: str, start: int, rules: Rules, bound: int = 0) -> bool | None:
    """The role the nearest verb before ``start`` in its clause gives a count: True downed, False launched,
    None when the clause has no such verb."""
    bound = max(bound, t.rfind(";", 0, start), start - 100)
    # the nearest verb of a role before the count decides (a verb may look ahead at it: "knocked out three drones")
    found = rules.figures.role_verbs.finditer(t, max(0, bound), min(len(t), start + 40))
    verbs = [v for v in found if v.end() <= start]
    return verbs[-1].group("downed") is not None if verbs else None


def find_figures(text: str, rules: Rules) -> list[Figure]:
    """Every drone, missile, interception and casualty figure in one sentence, in text order."""
    t = lower(text)
    fig, n = rules.figures, rules.numbers
    if not fig.trigger.search(t):
        return []
    found = _Found(text, rules)
    cuts = [m.start() for m in rules.clauses.boundaries.finditer(t)]

    def clause_start(pos: int) -> int:
        return max((c for c in cuts if c <= pos), default=0)

    if fig.weapon_words.search(t):
        typed: list[tuple[re.Match[str], str]] = []  # each weapon count and the words naming its type
        for m in fig.weapon.finditer(t):
            typed.append((m, t[m.end("num") : m.end()].strip()))
            each = bool(fig.each_after.match(t, m.end()))
            if m.group("num") in n.singular and not (each or _listed(t, m, rules)):
                continue  # "a drone attack" is not a count ("one drone apiece", "one missile and 54 drones" are)
            if fig.remainder_before.search(t, 0, m.start()) or _left_over(t, m, clause_start(m.start()), rules):
                continue  # "all but 26 drones were shot down", "all of them except 26 drones and 31 missiles"
            downed = _downed(t, m.start(), m.end(), rules, clause_start(m.start()))
            if downed is None:
                continue  # hits are not launches
            if not downed and _verb_role(t, m.start(), rules, clause_start(m.start())) is None:
                # "shot down four missiles, which Ukraine received from Britain, and 105 drones": a count that
                # goes on the list of one before, with no verb of its own, takes that one's role
                listed = fig.list_continues.search(t, max(0, m.start() - 12), m.start())
                before = found.weapons()
                downed = bool(listed and before and before[-1].field.endswith("_downed"))
            kind = next((k for k, p in fig.weapon_kind if p.fullmatch(m.group("noun"))), "drones")
            part = fig.part_of.search(t, max(0, m.start() - 40), m.start()) if downed else None
            if part is not None and fig.remainder_before.search(t, 0, part.start()):
                found.add(kind, m)  # "all but 26 of the 300 drones were shot down": 300 launched, no downed count
                continue
            if part is not None:  # "shot down 40 of 52 drones": 52 launched, 40 downed
                found.add(f"{kind}_downed", part)
                found.add(kind, m)
                continue
            subset = bool(fig.subset_before.search(t, max(0, m.start() - 40), m.start()))
            if subset and downed:
                total = [f for f in found.weapons() if f.start < m.start() and f.field.split("_")[0] == kind]
                # "310 drones ..., of which 280 drones were downed": the downed count of the total, not a part
                subset = not total or total[-1].field.endswith("_downed")
            found.add(f"{kind}_downed" if downed else kind, m, subset, each=each)
        found.sum_types(typed)
        # "two of them over the Ryazan region", "71 of them were shot down", "shot down 71 of them", "of which
        # Ukraine neutralised 30", "six over the Ryazan region and six more over ...": of the weapon counted last
        for pattern in (
            fig.downed_lead,
            fig.of_which_downed,
            fig.of_them,
            fig.downed_then_of_them,
            fig.downed_bare,
            fig.list_item,
        ):
            for m in pattern.finditer(t):
                before = [f for f in found.weapons() if f.start < m.start("num")]
                parent = before[-1] if before else None
                if parent is None and pattern not in (
                    fig.of_them,
                    fig.downed_then_of_them,
                    fig.downed_lead,
                    fig.of_which_downed,
                ):
                    continue
                kind = parent.field.split("_")[0] if parent else "drones"  # "64 of them": the drones told before
                if pattern is fig.list_item:  # a breakdown by place, in the role of its total unless a verb says
                    downed = bool(fig.downed_after.match(t, m.end("num"))) or (
                        parent is not None and parent.field.endswith("_downed")
                    )
                elif pattern in (fig.downed_then_of_them, fig.downed_bare, fig.downed_lead, fig.of_which_downed):
                    downed = True
                else:
                    downed = _downed(t, m.start(), m.end(), rules)
                if downed is None or (parent is None and not downed):
                    continue  # hits; "two of them children" with no weapon counted before
                field = f"{kind}_downed" if downed else kind
                after = pattern in (fig.list_item, fig.downed_lead)  # "six more over the Rostov region"
                found.add(field, m, subset=parent is not None and field == parent.field, place_after=after)
        for m in fig.each_bare.finditer(t):  # "the Voronezh and Saratov regions accounted for eight apiece"
            before = [f for f in found.weapons() if f.start < m.start("num")]
            if before:
                found.add(before[-1].field, m, each=True)

    if fig.casualty_words.search(t):
        # casualties; people listed one by one first: "a 68-year-old woman and a 38-year-old man were killed"
        for m in fig.listed_people.finditer(t):
            count = len(fig.one_person.findall(m.group("list")))
            field = "killed" if fig.killed.match(m.group("verb")) else "injured"
            found.add(field, m, value=count, span=m.span("list"))
        for m in fig.verb_after.finditer(t):
            if not _counts_people(m, rules):
                continue
            field = "killed" if fig.killed.match(m.group("verb")) else "injured"
            found.add(field, m, subset=bool(fig.subset_after.match(t, m.end("num"))))
        for m in fig.verb_first.finditer(t):
            if not _counts_people(m, rules):
                continue
            found.add("killed" if m.group("killing") else "injured", m)
        for m in fig.noun_after.finditer(t):
            word = m.group("word")
            field = (
                "killed"
                if fig.killed_nouns.match(word)
                else CASUALTIES
                if fig.casualty_nouns.match(word)
                else "injured"
            )
            found.add(field, m)
        for field, pattern in fig.tolls:
            for m in pattern.finditer(t):
                found.add(field, m)
        for m in fig.deaths_of.finditer(t):
            if _counts_people(m, rules):
                found.add("killed", m)
    figures = sorted(found.by_span.values(), key=_pos)
    # "20 casualties" counts the injured when the sentence gives no death toll, else nothing certain
    has_killed = any(f.field == "killed" for f in figures)
    out = []
    for f in figures:
        if f.field == CASUALTIES:
            if has_killed:
                continue
            qual = ", ".join(x for x in (f.qualifier, CASUALTIES) if x)
            f = Figure("injured", f.value, f.words, qual, f.start, f.end, f.estimate, f.subset)
        out.append(f)
    return out


def _listed(t: str, m: re.Match[str], rules: Rules) -> bool:
    """Whether the weapon count ``m`` stands in a list with another count ("one Kinzhal missile and 54
    drones", "54 drones and one missile")."""
    fig = rules.figures
    if m.group("num") not in fig.listed_singular:
        return False
    return bool(fig.listed_after.match(t, m.end()) or fig.listed_before.search(t, max(0, m.start() - 80), m.start()))


_JOINERS = re.compile(r"(?:[\s,]|\band\b|\bor\b)*")


def _left_over(t: str, m: re.Match[str], start: int, rules: Rules) -> bool:
    """Whether the weapon count ``m`` is what was left over: it follows a remainder word of its clause
    ("except") with nothing between but other counts joined to it ("except 26 drones and 31 missiles")."""
    fig = rules.figures
    words = list(fig.remainder.finditer(t, start, m.start()))
    if not words:
        return False
    gap_start = words[-1].end()
    counts = [c.span() for c in fig.weapon.finditer(t, gap_start, m.start())]
    pos = gap_start
    for a, b in [*counts, (m.start(), m.start())]:
        if not _JOINERS.fullmatch(t, pos, a):
            return False
        pos = b
    return True


def _counts_people(m: re.Match[str], rules: Rules) -> bool:
    """A count of people: a word like "a" or "another" only counts one when a person noun follows."""
    num = m.group("num")
    if num not in rules.numbers.singular:
        return True
    return bool(rules.figures.person_noun.search(m.groupdict().get("noun") or ""))
