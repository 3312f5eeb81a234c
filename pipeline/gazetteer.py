"""The gazetteers: places, people and organisations with their canonical names and aliases.

Loaded once per process from the data files in ``pipeline/data/gazetteer``.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from pipeline.errors import RulesError


def slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return re.sub(r"[^a-z0-9]+", "-", folded).strip("-")


def person_id(name: str) -> str:
    return f"person:{slug(name)}"


# The administrative word a gazetteer name ends with ("Kharkiv Oblast", "Belgorod Region").
_ADMIN_WORD = re.compile(r"\s+(?:Oblast|Krai|Region|region|oblast|Republic|Governorate|City)$")


def short_name(name: str) -> str:
    """A place's name without its administrative word: "Kharkiv Oblast" -> "Kharkiv"."""
    return _ADMIN_WORD.sub("", name).strip()


@dataclass(frozen=True)
class Entity:
    """One canonical entity; place fields are None for people and organisations."""

    entity_id: str
    label: str  # PERSON, ORG or PLACE
    name: str
    kind: str | None = None  # place kind (city, region ...), org kind, or a person's role
    country: str | None = None
    admin1: str | None = None
    admin1_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    match: str = "always"  # "cue": only after "village of" and the like

    def fields(self) -> dict[str, Any]:
        """The columns a mention or a claim copies from its entity."""
        return {
            "name": self.name,
            "kind": self.kind,
            "country": self.country,
            "admin1": self.admin1,
            "admin1_code": self.admin1_code,
            "lat": self.lat,
            "lon": self.lon,
        }


def geo_precision(kind: str | None) -> str:
    """How precise a place of this kind is, for ``strikes.geo_precision``: ``country``, ``region`` or ``town``."""
    if kind == "country":
        return "country"
    if kind in {"region", "area", "sea", "river", "district"}:
        return "region"
    return "town"


@dataclass(frozen=True)
class Spellings:
    """How one person's name is spelled in other outlets, as rules (``people.yaml``'s ``spelling``): the
    transliterations of a surname's ending ("Syrskyi", "Syrskii", "Syrskiy") and the capitalised form of
    a name's particles ("Ursula Von Der Leyen")."""

    endings: tuple[tuple[str, ...], ...] = ()  # each a group of endings written for one another
    particles: frozenset[str] = frozenset()

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Spellings:
        groups = tuple(tuple(str(e) for e in group) for group in spec.get("endings") or [])
        return cls(groups, frozenset(str(p) for p in spec.get("particles") or []))

    def variants(self, names: list[str]) -> list[str]:
        """``names`` and every other spelling of them, in a stable order (the originals first)."""
        out = list(names)
        for name in names:
            words = name.split()
            if len(words) > 1 and any(w in self.particles for w in words):
                out.append(" ".join(w.capitalize() if w in self.particles else w for w in words))
        for name in list(out):
            for group in self.endings:
                ending = next((e for e in sorted(group, key=len, reverse=True) if name.endswith(e)), None)
                if ending is not None:
                    out += [name[: -len(ending)] + other for other in group if other != ending]
        return list(dict.fromkeys(out))


@dataclass
class Gazetteer:
    entities: dict[str, Entity] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)  # entity_id -> aliases to match
    place_index: dict[str, str] = field(default_factory=dict)  # casefolded alias -> place entity_id
    spelling: Spellings = field(default_factory=lambda: Spellings())  # how names are spelled elsewhere
    _shared: dict[str, list[str]] | None = field(default=None, init=False, repr=False, compare=False)
    _place_names: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def add(self, entity: Entity, aliases: list[str]) -> None:
        if entity.entity_id in self.entities:
            raise RulesError(f"duplicate entity id {entity.entity_id}")
        self._shared = self._place_names = None
        self.entities[entity.entity_id] = entity
        self.aliases[entity.entity_id] = list(dict.fromkeys([entity.name, *aliases]))
        if entity.label == "PLACE":
            for alias in self.aliases[entity.entity_id]:
                self.place_index.setdefault(alias.casefold(), entity.entity_id)

    def phrases(self) -> dict[str, str]:
        """Every alias matched in text, with the one entity it names.

        An alias shared by several entities names the one whose own name it is ("Donetsk" the city, not a
        place that merely lists it as a spelling), then the one listed first (places are listed most
        populous first, so the Ukrainian Donetsk before the Russian town of that name).
        """
        owner: dict[str, str] = {}
        for eid, aliases in self.aliases.items():
            entity = self.entities[eid]
            if entity.match != "always":
                continue
            for alias in aliases:
                current = owner.get(alias)
                if current is None or (alias == entity.name and self.entities[current].name != alias):
                    owner[alias] = eid
        return owner

    def place_named(self, text: str) -> Entity | None:
        """The place a person means by ``text`` (any case): the one whose own name it is, the first listed
        (most populous) of those, else the first listed place that has it as a spelling."""
        key = text.casefold()
        if self._place_names is None:
            names: dict[str, str] = {}
            for eid, entity in self.entities.items():
                if entity.label == "PLACE":
                    names.setdefault(entity.name.casefold(), eid)
            self._place_names = names
        found = self._place_names.get(key) or self.place_index.get(key)
        return self.entities[found] if found else None

    def shared_people(self) -> dict[str, list[str]]:
        """Aliases that several people answer to ("Fedorov"), with every person's entity id, in listed order
        (worked out once per gazetteer)."""
        if self._shared is None:
            owners: dict[str, list[str]] = {}
            for eid, aliases in self.aliases.items():
                if self.entities[eid].label == "PERSON":
                    for alias in aliases:
                        owners.setdefault(alias, []).append(eid)
            self._shared = {alias: eids for alias, eids in owners.items() if len(eids) > 1}
        return self._shared

    def region_of(self, place_name: str) -> Entity | None:
        """The region a city name stands for in "the Kharkiv region" or "the region of Odesa"."""
        for suffix in ("region", "oblast"):
            eid = self.place_index.get(f"{place_name} {suffix}".casefold())
            if eid is not None:
                return self.entities[eid]
        return None


def _data(name: str) -> str:
    return resources.files("pipeline").joinpath("data", "gazetteer", name).read_text(encoding="utf-8")


def _float(value: str) -> float | None:
    return float(value) if value else None


@functools.cache
def load_gazetteer() -> Gazetteer:
    gaz = Gazetteer()
    for row in csv.DictReader(_data("places.csv").splitlines()):
        entity = Entity(
            entity_id=row["entity_id"],
            label="PLACE",
            name=row["name"],
            kind=row["kind"],
            country=row["country"] or None,
            admin1=row["admin1"] or None,
            admin1_code=row["admin1_code"] or None,
            lat=_float(row["lat"]),
            lon=_float(row["lon"]),
            match=row["match"] or "always",
        )
        gaz.add(entity, row["aliases"].split("|") if row["aliases"] else [])
    people: dict[str, Any] = yaml.safe_load(_data("people.yaml"))
    gaz.spelling = Spellings.from_spec(people.get("spelling") or {})
    for p in people["people"]:
        aliases = gaz.spelling.variants([p["name"], *p["aliases"]])
        gaz.add(Entity(person_id(p["name"]), "PERSON", p["name"], p.get("role"), p.get("country")), aliases)
    orgs: dict[str, Any] = yaml.safe_load(_data("orgs.yaml"))
    for o in orgs["orgs"]:
        gaz.add(Entity(f"org:{slug(o['name'])}", "ORG", o["name"], o.get("kind"), o.get("country")), o["aliases"])
    return gaz
