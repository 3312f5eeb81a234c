"""The places of a sentence and the part each plays: hit, attacker, origin, venue, container.

A place is where an attack happened only in a target role: after a locative word ("strikes on Kyiv",
"over the Bryansk region"), or said to be hit ("Kharkiv came under attack"). It is not when it acts
("Moscow says", "Kiev's forces"), when it locates something else ("southeast of Moscow", "negotiators
from Kyiv"), when it sets a meeting or a speech ("talks in Geneva"), or when it contains a more
specific place named with it ("Lozova, a town in eastern Ukraine", "Russia's Samara region"). A capital
with no locative word stands for its government. "The city", "the capital" and "the Ukrainian capital"
name the place they refer to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.extract.figures import lower
from pipeline.extract.rules import Rules
from pipeline.gazetteer import Gazetteer

Row = dict[str, Any]

FOREIGN = "foreign"  # a place hit in a country outside this war: another theatre
TARGET, AGENT, RELATIVE, VENUE, RESIDUAL, CONTAINER, VAGUE, DETAIL = (
    "target",
    "agent",
    "relative",
    "venue",
    "residual",
    "container",
    "vague",
    "detail",
)


@dataclass(frozen=True)
class PlaceRef:
    """A place named in a sentence (offsets within the sentence) and its role there."""

    place: Row  # name, entity_id, kind, country, admin1, admin1_code, lat, lon
    start: int
    end: int
    role: str
    via: str  # mention, title (before an official's title), anaphor, capital, airspace

    @property
    def name(self) -> str:
        return str(self.place["name"])

    @property
    def listed(self) -> bool:
        """In the gazetteer (with coordinates), not only found by a pattern."""
        return self.place.get("lat") is not None


@dataclass
class PlaceMemory:
    """The places an article has named so far, for "the city", "the region", "the capital"."""

    last: dict[str, Row] = field(default_factory=dict)

    def remember(self, place: Row, rules: Rules) -> None:
        kind = place.get("kind")
        if kind in {"city", "town", "village"}:
            self.last["city"] = place
        elif kind == "region":
            self.last["region"] = place
        if place.get("name") in rules.places.capital_names:
            self.last["capital"] = place


def entity_row(gaz: Gazetteer, name_or_id: str) -> Row | None:
    """The place columns of a gazetteer place, by entity id or by name."""
    eid = name_or_id if name_or_id in gaz.entities else gaz.place_index.get(name_or_id.casefold())
    if eid is None or eid not in gaz.entities:
        return None
    return {"entity_id": eid, **gaz.entities[eid].fields()}


def country_row(gaz: Gazetteer, code: str) -> Row | None:
    return entity_row(gaz, f"place:{code.lower()}")


def _extra_refs(
    text: str, t: str, mentions: list[Row], memory: PlaceMemory, rules: Rules, gaz: Gazetteer
) -> list[tuple[Row, int, int, str]]:
    """Places the gazetteer patterns do not give: anaphors, capital phrases, "<demonym> airspace"."""
    p = rules.places
    out: list[tuple[Row, int, int, str]] = []
    taken = [(m["start"], m["end"]) for m in mentions]

    def free(s: int, e: int) -> bool:
        return not any(s < b and a < e for a, b in taken)

    for m in p.capital_phrase.finditer(t):
        code = rules.sides.demonyms.get(m.group("who"))
        capital = p.capitals.get(code or "")
        row = entity_row(gaz, capital) if capital else None
        if row is not None and free(*m.span()):
            out.append((row, m.start(), m.end(), "capital"))
            taken.append(m.span())
    for m in p.country_noun.finditer(t):
        code = rules.sides.demonyms.get(m.group("who"))
        row = country_row(gaz, code) if code else None
        if row is not None and free(*m.span()):
            out.append((row, m.start(), m.end(), "airspace"))
            taken.append(m.span())
    for kind, pattern in p.anaphors:
        for m in pattern.finditer(t):
            if not free(*m.span()):
                continue
            earlier = [x for x in mentions if x["end"] <= m.start() and _anaphor_kind(x, rules) == kind]
            row = earlier[-1] if earlier else memory.last.get(kind)
            if row is not None:
                out.append((row, m.start(), m.end(), "anaphor"))
                taken.append(m.span())
    return out


def _anaphor_kind(place: Row, rules: Rules) -> str | None:
    if place.get("name") in rules.places.capital_names:
        return "capital"
    kind = place.get("kind")
    return "city" if kind in {"city", "town", "village"} else "region" if kind == "region" else None


def sentence_places(
    text: str, sentence_start: int, mentions: list[Row], memory: PlaceMemory, rules: Rules, gaz: Gazetteer
) -> list[PlaceRef]:
    """Every place of a sentence, with its role (offsets relative to the sentence); a place hit outside the
    countries of this war has the role ``foreign``."""
    p = rules.places
    t = lower(text)
    local = [
        {**m, "start": m["start"] - sentence_start, "end": m["end"] - sentence_start}
        for m in mentions
        if m["label"] == "PLACE"
    ]
    raw = [(m, m["start"], m["end"], "mention") for m in local]
    if p.extra_words.search(t):
        raw += _extra_refs(text, t, local, memory, rules, gaz)
    raw.sort(key=lambda r: r[1])
    refs: list[PlaceRef] = []
    for place, s, e, via in raw:
        if via == "mention" and p.title_after.match(t, e):
            via = "title"  # "Kyiv Mayor Vitali Klitschko": the jurisdiction of the official named
        role = _role(t, s, e, place, via, rules)
        if place.get("country") not in p.strike_countries:
            if not place.get("country") or role not in {TARGET, VAGUE}:
                continue  # seas and continents; foreign places that are not hit
            role = FOREIGN
        refs.append(PlaceRef(place, s, e, role, via))
    return _containers(text, t, _lists(t, _districts(t, refs, rules), rules), rules)


def _districts(t: str, refs: list[PlaceRef], rules: Rules) -> list[PlaceRef]:
    """ "Drones hit a block in the Kyivskyi district" in a sentence that names Kharkiv: a town named as a
    district in a sentence naming a city of its country, or a region other than its own, is a district of
    that place (the town of that name was not hit)."""
    out = []
    for r in refs:
        if r.place.get("kind") in {"city", "town"} and rules.places.district_after.match(t, r.end):
            # a city's district ("struck Chernihiv ... in the Desnianskyi district"), or a town of another
            # region than the one named (the region's own towns are its districts' seats: "the Kharkiv
            # region's Chuhuiv district")
            others = [
                o
                for o in refs
                if o is not r
                and o.place.get("country") == r.place.get("country")
                and (
                    o.place.get("kind") == "city"
                    or (o.place.get("kind") == "region" and o.name != r.place.get("admin1"))
                )
            ]
            if others:
                r = PlaceRef(r.place, r.start, r.end, DETAIL, r.via)
        out.append(r)
    return out


def _lists(t: str, refs: list[PlaceRef], rules: Rules) -> list[PlaceRef]:
    """Places named in one list after "from", "talks in" or "elsewhere in" take that role too ("from the
    United States, Russia and Ukraine")."""
    out: list[PlaceRef] = []
    for r in refs:
        prev = out[-1] if out else None
        spread = prev is not None and prev.role in {RELATIVE, VENUE, RESIDUAL} and r.role == TARGET
        if prev is not None and spread and rules.clauses.list_gap_or.fullmatch(t, prev.end, r.start):
            r = PlaceRef(r.place, r.start, r.end, prev.role, r.via)
        out.append(r)
    return out


def _role(t: str, s: int, e: int, place: Row, via: str, rules: Rules) -> str:
    p = rules.places
    before, after = t[max(0, s - 60) : s], t[e : e + 80]
    if p.residual_before.search(before):
        return RESIDUAL
    if p.relative_before.search(before):
        return RELATIVE
    if p.not_target_before.search(before):
        return VENUE
    if via in {"mention", "title"} and (p.agent_noun_after.match(after) or p.agent_before.search(before)):
        return AGENT
    directed = place.get("kind") == "country" and bool(p.direction_before.search(before))
    if directed:  # "in western Ukraine": the locative word comes before the direction
        before = before[: p.direction_before.search(before).start()]  # type: ignore[union-attr]
    locative = bool(p.locative_before.search(before)) or via in {"anaphor", "capital", "airspace", "title"}
    hit = bool(p.hit_after.match(after))
    if p.agent_verb_after.match(after) and not locative and not hit:
        return AGENT
    government = place.get("name") in p.capital_names or place.get("kind") == "country"
    if via in {"mention", "title"} and not (locative or hit) and government:
        return AGENT  # a capital or a country standing for its government ("Russia and Ukraine held talks")
    if directed:
        return VAGUE
    return TARGET


def _inside(inner: PlaceRef, outer: PlaceRef) -> bool:
    """Whether ``outer`` contains ``inner`` (a place found only by pattern may sit in anything named)."""
    if inner.name == outer.name:
        return False
    if not inner.listed:
        return True
    if outer.place.get("kind") == "country":
        return inner.place.get("country") == outer.place.get("country")
    if outer.place.get("kind") == "region":
        return inner.place.get("admin1") == outer.name
    return False


def _containers(text: str, t: str, refs: list[PlaceRef], rules: Rules) -> list[PlaceRef]:
    """Mark a place named only to locate a more specific one ("Lozova, a town in eastern Ukraine")."""
    roles = [r.role for r in refs]
    for i, inner in enumerate(refs):
        for j, outer in enumerate(refs):
            if i == j or not _inside(inner, outer) or inner.role not in {TARGET, VAGUE} or roles[j] == AGENT:
                continue
            if abs(inner.start - outer.start) > 150 or (inner.start < outer.end and outer.start < inner.end):
                continue
            first, second = sorted([(inner, "\x01"), (outer, "\x02")], key=lambda x: x[0].start)
            span = first[1] + t[first[0].end : second[0].start] + second[1]  # the two places as markers
            if any(template.fullmatch(span) for template in rules.places.containers):
                if inner.listed:
                    roles[j] = CONTAINER
                else:  # "the Kyivsky district of Kharkiv": the listed city, not the unlisted district
                    roles[i] = DETAIL
    return [PlaceRef(r.place, r.start, r.end, role, r.via) for r, role in zip(refs, roles, strict=True)]
