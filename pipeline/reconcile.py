"""Reconciliation: claims from many articles become events with the spread of their figures.

Strike claims about the same place on the same day (one day either way) are one
event; the figures become min, max and the number of articles giving each.
Talks reports with the same venue and overlapping dates are one round; a round only ever announced
joins the round held at its venue a few days after the announced date (it was postponed).
Republished copies (``articles.duplicate_of``) count once: they are left out.
Strike events of the same night and attacker share a ``wave_id``, which links
the nationwide launch and interception figures to the places hit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipeline import schemas
from pipeline.gazetteer import Gazetteer, load_gazetteer
from pipeline.ids import stable_id

Row = dict[str, Any]
#: The columns reconciliation reads (the evidence text stays out of it).
STRIKE_COLUMNS = [
    "strike_id",
    "article_id",
    "place",
    "date",
    "attacker",
    "country",
    "admin1",
    "admin1_code",
    "lat",
    "lon",
    *schemas.FIGURES,
    "confidence",
]
TALK_COLUMNS = [
    "talk_id",
    "article_id",
    "venue",
    "country",
    "start_date",
    "end_date",
    "status",
    "parties",
    "confidence",
]
#: How far along a round is, by status: of two equally recent reports, the further one wins.
STATUS_RANK = {"held": 3, "cancelled": 3, "ongoing": 2, "planned": 1}
#: Statuses of a round that took place (or is taking place): its dates are the round's own.
TOOK_PLACE = ("held", "ongoing")


def _cluster(
    rows: list[Row], key: Callable[[Row], str], start: Callable[[Row], dt.date], end: Callable[[Row], dt.date]
) -> list[list[Row]]:
    """Rows with the same key whose date spans come within a day of each other, chained."""
    out: list[list[Row]] = []
    by_key: dict[str, list[Row]] = {}
    for r in rows:
        by_key.setdefault(key(r), []).append(r)
    for k in sorted(by_key):
        group: list[Row] = []
        group_end = dt.date.min
        for r in sorted(by_key[k], key=lambda r: (start(r), r.get("strike_id") or r.get("talk_id"))):
            if group and (start(r) - group_end).days > 1:
                out.append(group)
                group = []
            group_end = max(group_end, end(r)) if group else end(r)
            group.append(r)
        out.append(group)
    return out


def _figures(group: list[Row]) -> tuple[Row, bool]:
    """min, max and number of sources of each figure; one value per article (its highest)."""
    out: Row = {}
    conflicting = False
    for f in schemas.FIGURES:
        per_article: dict[str, int] = {}
        for r in group:
            if r.get(f) is not None:
                per_article[r["article_id"]] = max(per_article.get(r["article_id"], 0), r[f])
        values = list(per_article.values())
        out[f"{f}_min"] = min(values) if values else None
        out[f"{f}_max"] = max(values) if values else None
        out[f"{f}_sources"] = len(values)
        conflicting |= len(set(values)) > 1
    return out, conflicting


def _provenance(group: list[Row], id_field: str, outlets: dict[str, str | None], confirmed: float) -> Row:
    article_ids = sorted({r["article_id"] for r in group})
    # no more than its best claim shows: how often two sources are both wrong was never measured
    confidence = max(float(r.get("confidence") or 0.0) for r in group)
    return {
        "claim_ids": sorted(r[id_field] for r in group),
        "article_ids": article_ids,
        "outlets": sorted({o for a in article_ids if (o := outlets.get(a))}),
        "sources": len(article_ids),
        "confidence": confidence,
        "confirmed": confidence >= confirmed,
    }


def _most_common(values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    return Counter(values).most_common(1)[0][0] if values else None


def build_events(strikes: list[Row], talks: list[Row], articles: list[Row]) -> pa.Table:
    """The ``events`` table from every article's strike and talks rows."""
    originals = {a["article_id"] for a in articles if a.get("duplicate_of") is None}
    outlets = {a["article_id"]: a.get("outlet") for a in articles}
    published = {a["article_id"]: a.get("published") for a in articles}
    return events_table([strikes], [talks], originals, outlets, published)


def events_table(
    strike_parts: Iterable[list[Row]],
    talk_parts: Iterable[list[Row]],
    originals: set[str],
    outlets: dict[str, str | None],
    published: dict[str, dt.date | None],
    apart: Sequence[tuple[str, str]] = (),
    confirmed: float | None = None,
) -> pa.Table:
    """The ``events`` table, with the claims given in parts (every row of one place, or of one venue, in the
    same part) so that a large corpus's claims need not all be in memory at once. ``originals`` are the
    articles that are not republished copies. Of each pair of claim ids in ``apart`` (an analyst's
    ``different_event``), the second is taken out of an event that holds both. An event is ``confirmed``
    when its best claim's confidence reaches ``confirmed`` (default: the calibration's level)."""
    gaz = load_gazetteer()
    if confirmed is None:
        from pipeline.extract import load_rules

        confirmed = load_rules().calibration.confirmed
    tables = [schemas.EVENTS.empty_table()]  # each part's events become Arrow as they come: few are Python at once
    for part in strike_parts:
        dated = [r for r in part if r["article_id"] in originals and r.get("place") and r.get("date")]
        tables.append(pa.Table.from_pylist(_strike_events(dated, outlets, apart, confirmed), schema=schemas.EVENTS))
    for part in talk_parts:
        events = _talk_events(part, originals, outlets, published, gaz, apart, confirmed)
        tables.append(pa.Table.from_pylist(events, schema=schemas.EVENTS))
    table = pa.concat_tables(tables)
    # By kind, date (undated first) and place; a stable sort, so events that tie keep the order they came in.
    order = pc.sort_indices(table, sort_keys=[(k, "ascending", "at_start") for k in ("kind", "date", "place")])
    return table.take(order).combine_chunks()


def _claim_id(row: Row) -> str:
    return str(row.get("strike_id") or row.get("talk_id"))


def _keep_apart(groups: list[list[Row]], apart: Sequence[tuple[str, str]]) -> list[list[Row]]:
    """``groups`` with the second claim of each pair in ``apart`` moved out of a group holding both, into a
    group of its own (marked, so that its event gets an id of its own: never the id of the event it left)."""
    for first, second in apart:
        for group in groups:
            ids = [_claim_id(r) for r in group]
            if first in ids and second in ids:
                moved = group.pop(ids.index(second))
                groups.append([{**moved, _APART: True}])
                break
    return groups


_APART = "_kept_apart"  # on a claim moved out of its event by ``different_event``


def _apart_salt(group: list[Row]) -> tuple[str, ...]:
    """What makes the id of a moved claim's event its own."""
    return ("apart", _claim_id(group[0])) if group[0].get(_APART) else ()


def _strike_events(
    dated: list[Row], outlets: dict[str, str | None], apart: Sequence[tuple[str, str]], confirmed: float
) -> list[Row]:
    events: list[Row] = []
    groups = _keep_apart(_cluster(dated, lambda r: r["place"], lambda r: r["date"], lambda r: r["date"]), apart)
    for group in groups:
        date = _most_common([r["date"] for r in group])
        attacker = _most_common([r.get("attacker") for r in group])
        figures, conflicting = _figures(group)
        first = group[0]
        event_id = stable_id("strike", first["place"], min(r["date"] for r in group), *_apart_salt(group))
        events.append(
            {
                "event_id": event_id,
                "kind": "strike",
                "date": date,
                "end_date": None,
                "place": first["place"],
                **{k: first.get(k) for k in ("country", "admin1", "admin1_code", "lat", "lon")},
                "attacker": attacker,
                "wave_id": f"wave:{attacker or 'unknown'}:{date.isoformat()}",
                "status": None,
                "parties": [],
                **figures,
                **_provenance(group, "strike_id", outlets, confirmed),
                "conflicting": conflicting,
                "corrected": False,
                "correction_ids": [],
            }
        )
    return events


#: A round announced for a day and then reported as under way or held at the same venue this many days
#: later is the same round, postponed ("talks will resume on 1 February", then "talks began on 4 February").
POSTPONED_DAYS = 7


def _join_postponed(groups: list[list[Row]]) -> list[list[Row]]:
    """Groups of talks reports (one venue each, in date order per venue) with every round that was only
    ever announced joined to the next round at its venue, when that one was held or under way within
    :data:`POSTPONED_DAYS` of the announced date."""
    out: list[list[Row]] = []
    for group in groups:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev[0]["venue"] == group[0]["venue"]
            and all(r["status"] == "planned" for r in prev)
            and any(r["status"] in TOOK_PLACE for r in group)
        ):
            announced = max(r.get("end_date") or r["start_date"] for r in prev)
            if 0 < (min(r["start_date"] for r in group) - announced).days <= POSTPONED_DAYS:
                prev.extend(group)
                continue
        out.append(group)
    return out


def _talk_events(
    talks: list[Row],
    originals: set[str],
    outlets: dict[str, str | None],
    published: dict[str, dt.date | None],
    gaz: Gazetteer,
    apart: Sequence[tuple[str, str]],
    confirmed: float,
) -> list[Row]:
    events: list[Row] = []
    meetings = [r for r in talks if r["article_id"] in originals and r.get("venue")]
    undated = [r for r in meetings if r.get("start_date") is None]
    dated_talks = [r for r in meetings if r.get("start_date") is not None]
    groups = _cluster(
        dated_talks, lambda r: r["venue"], lambda r: r["start_date"], lambda r: r.get("end_date") or r["start_date"]
    )
    groups = _join_postponed(groups)
    at_venue: dict[str, list[list[Row]]] = {}  # looked up once per report: a scan of every group was quadratic
    for g in groups:
        at_venue.setdefault(g[0]["venue"], []).append(g)
    for r in undated:  # an undated report joins its venue's only round, or stands alone
        same = at_venue.setdefault(r["venue"], [])
        if len(same) == 1:
            same[0].append(r)
        else:
            groups.append([r])
            same.append(groups[-1])
    for group in _keep_apart(groups, apart):
        # the dates of the round as it took place: an announced date it did not keep gives way; its last
        # day is what the reports that it was held say, over the guesses of reports written while it went
        # on ("talks may run over the weekend")
        dated = [r for r in group if r.get("start_date")]
        dated = [r for r in dated if r["status"] in TOOK_PLACE] or dated
        held = [r for r in dated if r["status"] == "held"] or dated
        starts = [r["start_date"] for r in dated]
        ends = [r.get("end_date") or r["start_date"] for r in held]
        latest = max(
            group, key=lambda r: (published.get(r["article_id"]) or dt.date.min, STATUS_RANK.get(r["status"], 0))
        )
        first = group[0]
        venue_id = gaz.place_index.get(first["venue"].casefold())
        venue = gaz.entities[venue_id] if venue_id else None
        figures, _ = _figures([])
        events.append(
            {
                "event_id": stable_id(
                    "talks", first["venue"], min(starts) if starts else "undated", first["talk_id"], *_apart_salt(group)
                ),
                "kind": "talks",
                "date": min(starts) if starts else None,
                "end_date": max(ends) if ends and max(ends) > min(starts) else None,
                "place": first["venue"],
                "country": first.get("country"),
                "admin1": venue.admin1 if venue else None,
                "admin1_code": venue.admin1_code if venue else None,
                "lat": venue.lat if venue else None,
                "lon": venue.lon if venue else None,
                "attacker": None,
                "wave_id": None,
                "status": latest["status"],
                "parties": sorted({p for r in group for p in r.get("parties") or []}),
                **figures,
                **_provenance(group, "talk_id", outlets, confirmed),
                "conflicting": False,
                "corrected": False,
                "correction_ids": [],
            }
        )
    return events
