"""Helpers for the report notebooks: select rows, format figures, draw charts, build escaped tables.

The notebooks in ``notebooks/`` only read the datasets through :func:`load_tables`
and call these functions, so every rule lives here and is tested here. All text
from articles is untrusted: tables and notes are built with :func:`html.escape`,
so a quote containing ``<script>`` shows as text.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow.compute as pc

from pipeline import corrections, io, schemas
from pipeline.gazetteer import load_gazetteer
from pipeline.reconcile import STATUS_RANK

if TYPE_CHECKING:
    from matplotlib.figure import Figure

STATUS_COLOURS = {"held": "#1b7837", "ongoing": "#e08214", "planned": "#2166ac", "cancelled": "#888888"}
ATTACKER_COLOURS = {"Russia": "#b2182b", "Ukraine": "#2166ac"}
CSS = """
<style>
.rp-table {border-collapse: collapse; font-size: 13px; margin: 8px 0 18px 0; table-layout: auto !important;
  width: auto; max-width: 100%;}
.rp-table th, .rp-table td {border: 1px solid #ccc; padding: 4px 6px; text-align: left !important; vertical-align: top;
  overflow-wrap: break-word;}
.rp-table td.rp-source {overflow-wrap: anywhere; min-width: 6em;}
.rp-table th {background: #f0f0f0; overflow-wrap: normal;}
.rp-table td.rp-nowrap {white-space: nowrap;}
.rp-table td.rp-num {text-align: right !important; min-width: 3em;}
.rp-flag {color: #b2182b; font-weight: bold;}
.rp-note {color: #555; font-style: italic;}
.rp-evidence {color: #333; font-size: 12px; min-width: 200px; max-width: 520px;}
.rp-headline {border: 2px solid #444; background: #fafaf5; padding: 6px 14px; margin: 10px 0 16px 0;
  display: inline-block;}
.rp-headline table {border-collapse: collapse; font-size: 14px;}
.rp-headline th, .rp-headline td {padding: 3px 12px 3px 0; text-align: left !important;}
.rp-headline td.rp-num {font-weight: bold; white-space: nowrap;}
.rp-meta {color: #555; font-size: 12px;}
</style>
"""

# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    """What a report covers: a date range (inclusive, either end open) and places (None: all)."""

    start: dt.date | None = None
    end: dt.date | None = None
    places: tuple[str, ...] | None = None

    def describe(self) -> str:
        period = f"{self.start or 'start'} to {self.end or 'latest'}"
        where = ", ".join(self.places) if self.places else "all places"
        return f"{period}; {where}"


def selection(start: Any = None, end: Any = None, places: Any = None) -> Selection:
    """A Selection from notebook parameters: ISO date strings or None; places as a list or "Kyiv,Kharkiv"."""

    def day(value: Any) -> dt.date | None:
        if value in (None, "", "all"):
            return None
        if isinstance(value, dt.date):
            return value
        return dt.date.fromisoformat(str(value))

    if isinstance(places, str):
        places = places.split(",")
    names = tuple(p.strip() for p in places or [] if p and p.strip()) or None
    return Selection(day(start), day(end), names)


def load_tables(datasets: str | Path, names: Iterable[str]) -> dict[str, pd.DataFrame]:
    """The named datasets as DataFrames (an empty frame with the right columns when one is missing), without
    the rows a correction rejected."""
    out = {}
    for name in names:
        schema = schemas.TABLES[name]
        table = io.read_dataset_dir(Path(datasets) / name, schema)
        table = table if table is not None else schema.empty_table()
        if "rejected" in table.column_names:  # a claim (or article) a correction rejected stays out of reports
            table = table.filter(pc.invert(pc.fill_null(table["rejected"], False)))  # datasets before 0.6.0
        out[name] = table.to_pandas()
    return out


def _place_key(name: Any) -> str:
    text = str(name or "").casefold()
    for suffix in (" oblast", " region", " krai"):
        text = text.removesuffix(suffix)
    return text.strip()


def _matches_places(row: pd.Series, places: tuple[str, ...] | None, columns: Sequence[str]) -> bool:
    if not places:
        return True
    wanted = {_place_key(p) for p in places}
    return any(_place_key(row.get(c)) in wanted for c in columns)


def _in_range(first: Any, last: Any, sel: Selection) -> bool:
    """Whether a date (or a span, ``last`` given) falls in the selection; undated rows only in an open one."""
    if first is None or pd.isna(first):
        return sel.start is None and sel.end is None
    last = first if last is None or pd.isna(last) else last
    return (sel.end is None or first <= sel.end) and (sel.start is None or last >= sel.start)


#: Columns a place filter looks at, by event kind: a strike in Kharkiv Oblast matches "Kharkiv".
_PLACE_COLUMNS = {"strike": ("place", "admin1"), "talks": ("place",)}


def select_events(events: pd.DataFrame, kind: str, sel: Selection) -> pd.DataFrame:
    """Events of one kind (``strike`` or ``talks``) within the selection, by date and place."""
    events = events[events["kind"] == kind]
    keep = [
        _in_range(e["date"], e["end_date"], sel) and _matches_places(e, sel.places, _PLACE_COLUMNS[kind])
        for _, e in events.iterrows()
    ]
    events = events[keep] if len(events) else events
    return events.sort_values(["date", "place"], na_position="last").reset_index(drop=True)


def _claims_of(events: pd.DataFrame, claims: pd.DataFrame, id_column: str) -> pd.DataFrame:
    ids = {c for claim_ids in events["claim_ids"] for c in claim_ids}
    return claims[claims[id_column].isin(ids)].reset_index(drop=True)


def select_strikes(tables: dict[str, pd.DataFrame], sel: Selection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Strike events and the claims behind them, within the selection."""
    events = select_events(tables["events"], "strike", sel)
    return events, _claims_of(events, tables["strikes"], "strike_id")


def select_talks(tables: dict[str, pd.DataFrame], sel: Selection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Talks events (rounds) and the reports behind them, within the selection."""
    events = select_events(tables["events"], "talks", sel)
    return events, _claims_of(events, tables["talks"], "talk_id")


def confirmed_apart(events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events whose ``confirmed`` column is true, and the others (events written before the column was
    added, where it reads as null, count as confirmed)."""
    if "confirmed" not in events or len(events) == 0:
        return events, events.iloc[0:0]
    sure = events["confirmed"].map(lambda v: not is_known(v) or bool(v)).astype(bool)  # null: written before
    return events[sure].reset_index(drop=True), events[~sure].reset_index(drop=True)


def unconfirmed_note(unconfirmed: pd.DataFrame, what: str) -> str:
    """One line saying how many ``what`` (events) are shown apart as unconfirmed, or nothing."""
    if len(unconfirmed) == 0:
        return ""
    return note(
        f"{len(unconfirmed)} {what} below the confirmed level are not in the charts and tables of {what}: "
        'they are listed under "Unconfirmed" at the end, with their confidence.'
    )


def data_range(events: pd.DataFrame) -> str:
    dates = [d for d in events.get("date", []) if is_known(d)]
    if not dates:
        return "no dated events"
    return f"{min(dates)} to {max(dates)}"


# --------------------------------------------------------------------------- text and tables


def is_known(value: Any) -> bool:
    """A value that is there: neither None nor a missing value of pandas (NaN, NaT, NA)."""
    return value is not None and not pd.isna(value)


def fmt_cell(value: Any) -> str:
    """One value as readable text: lists joined, missing values blank, no reprs."""
    if value is None:
        return ""
    if isinstance(value, list | tuple) or (hasattr(value, "tolist") and not isinstance(value, str)):
        items = value.tolist() if hasattr(value, "tolist") else value
        if isinstance(items, list):
            return ", ".join(fmt_cell(v) for v in items)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else f"{value:g}"
    if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    return str(value)


#: Columns whose cells never wrap (dates, counts, short codes).
_NOWRAP = {"date", "end_date", "start_date", "published", "from", "to", "status"}
_WRAPPING = {"evidence", "text", "history", "announced"}


def html_table(
    df: pd.DataFrame,
    columns: dict[str, str],
    empty: str = "Nothing in this selection.",
    *,
    raw: Iterable[str] = (),
    numeric: Iterable[str] = (),
    row_id: str | None = None,
) -> str:
    """An HTML table of ``columns`` (name -> header), every cell escaped except those of ``raw`` columns,
    which hold HTML this module built from escaped parts (links to sources). ``numeric`` columns are
    right-aligned and never wrap; so are dates. ``row_id`` names a column whose value anchors each row."""
    if df is None or len(df) == 0:
        return note(empty)
    raw, numeric = set(raw), set(numeric)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    rows = []
    for _, row in df.iterrows():
        cells = []
        for col in columns:
            text = str(row.get(col) or "") if col in raw else html.escape(fmt_cell(row.get(col)))
            css = (
                "rp-flag"
                if col == "conflicting" and text
                else "rp-evidence"
                if col in _WRAPPING
                else "rp-num"
                if col in numeric
                else "rp-nowrap"
                if col in _NOWRAP
                else "rp-source"
                if col in raw
                else ""
            )
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        anchor = f' id="{html.escape(str(row.get(row_id)))}"' if row_id else ""
        rows.append(f"<tr{anchor}>" + "".join(cells) + "</tr>")
    return f'{CSS}<table class="rp-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def note(text: str) -> str:
    return f'<p class="rp-note">{html.escape(text)}</p>'


def heading(
    title: str, sel: Selection, events: pd.DataFrame, sources: int, as_of: str = "", now: dt.datetime | None = None
) -> str:
    """The report's title, what it selects, and what made it: the data range, the run and its corrections
    (``as_of``, from :func:`data_as_of`), the pipeline version, the render time."""
    from pipeline import __version__

    now = now or dt.datetime.now(dt.UTC)
    made = f"{html.escape(as_of)} · " if as_of else ""
    return (
        f"{CSS}<h1>{html.escape(title)}</h1>"
        f"<p><b>Selection:</b> {html.escape(sel.describe())}. <b>Data:</b> {html.escape(data_range(events))}, "
        f"{len(events)} events from {sources} articles.</p>"
        f'<p class="rp-meta">{made}Pipeline {html.escape(__version__)} · rendered {now:%Y-%m-%d %H:%M} UTC · '
        "republished copies are counted once</p>"
    )


def data_as_of(datasets: str | Path) -> str:
    """Which run made ``datasets`` and how many corrections it applied ("data as of run X, 2 corrections
    applied"), from the run's manifest; empty for datasets that are not a committed run."""
    manifest = io.read_manifest(Path(datasets))
    if not manifest.get("run_id"):
        return ""
    applied = (manifest.get("corrections") or {}).get("applied", 0)
    return f"data as of run {manifest['run_id']}, {applied} correction{'' if applied == 1 else 's'} applied"


def claims_with_sources(claims: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    """Claims with their article's outlet, title, file, URL and publication date."""
    meta = articles[["article_id", "outlet", "title", "source_file", "published", "url"]]
    return claims.merge(meta, on="article_id", how="left")


def safe_url(url: Any) -> str | None:
    """An article URL fit for a link: http or https only (a ``javascript:`` URL is shown as text)."""
    text = str(url or "").strip()
    return text if text.lower().startswith(("http://", "https://")) else None


def source_label(outlet: Any, source_file: Any) -> str:
    """What a source is called: its outlet, else its file name."""
    return fmt_cell(outlet) or fmt_cell(source_file) or "unknown source"


def source_link(row: Any) -> str:
    """HTML naming a claim's source: the outlet (or the file) linked to the article's URL where it has one,
    with the file name beside it."""
    outlet = fmt_cell(row.get("outlet"))
    file = fmt_cell(row.get("source_file"))
    label = html.escape(source_label(outlet, file))
    url = safe_url(row.get("url"))
    linked = f'<a href="{html.escape(url)}">{label}</a>' if url else label
    return linked if not outlet else f'{linked} <span class="rp-meta">({html.escape(file)})</span>'


def claim_anchor(claim_id: str) -> str:
    return f"claim-{claim_id}"


def claim_sources(
    claim_ids: Iterable[str], articles_of: dict[str, str], labels: dict[str, str]
) -> list[tuple[str, str]]:
    """The sources of a row's claims, one per article: its first claim and the article's label (outlet,
    else file name)."""
    seen: dict[str, str] = {}
    for cid in claim_ids:
        article = articles_of.get(cid)
        if article is not None and article not in seen:
            seen[article] = cid
    return [(cid, labels.get(a, a)) for a, cid in seen.items()]


def links_html(sources: Iterable[tuple[str, str]]) -> str:
    """Links to claims, each pointing at its row in the table of every figure and its source; one per label."""
    first: dict[str, str] = {}
    for cid, label in sources:
        first.setdefault(label, cid)
    return ", ".join(
        f'<a href="#{html.escape(claim_anchor(cid))}">{html.escape(label)}</a>' for label, cid in first.items()
    )


def claim_links(claim_ids: Iterable[str], articles_of: dict[str, str], labels: dict[str, str]) -> str:
    """Links to the claims behind a row, one per article."""
    return links_html(claim_sources(claim_ids, articles_of, labels))


def _article_labels(articles: pd.DataFrame) -> dict[str, str]:
    return {
        a: source_label(o, f)
        for a, o, f in zip(articles["article_id"], articles["outlet"], articles["source_file"], strict=True)
    }


# --------------------------------------------------------------------------- figures of events and totals


@dataclass(frozen=True)
class Amount:
    """One figure of an event or a total: the lowest and highest value sources give, with the hedge on
    each bound (where every source giving it hedges it), and whether it adds up hedged figures."""

    low: int | None = None
    high: int | None = None
    low_hedge: str | None = None
    high_hedge: str | None = None
    adds_hedged: bool = False

    @property
    def known(self) -> bool:
        return self.low is not None

    @property
    def hedged(self) -> bool:
        return self.adds_hedged or bool(self.low_hedge or self.high_hedge)

    def text(self) -> str:
        """ "more than 370", "11–31", "at least 11 to 31"; a total of hedged figures ends in "*"."""
        if self.low is None or self.high is None:
            return ""

        def one(value: int, hedge: str | None) -> str:
            return f"{hedge} {value}" if hedge else str(value)

        if self.low == self.high:
            body = one(self.high, self.high_hedge)
        elif self.low_hedge or self.high_hedge:
            body = f"{one(self.low, self.low_hedge)} to {one(self.high, self.high_hedge)}"
        else:
            body = f"{self.low}–{self.high}"
        return body + ("*" if self.adds_hedged else "")


def total(amounts: Iterable[Amount]) -> Amount:
    """The sum of figures of separate places or nights (one figure keeps its own hedges)."""
    parts = [a for a in amounts if a.known]
    if len(parts) <= 1:
        return parts[0] if parts else Amount()
    return Amount(
        sum(a.low or 0 for a in parts), sum(a.high or 0 for a in parts), adds_hedged=any(a.hedged for a in parts)
    )


def larger(*amounts: Amount) -> Amount:
    """Bound by bound, the larger of figures that overlap (a nationwide tally and the sum of its places; an
    oblast's figure and the sum of its towns): neither can be below the other."""
    parts = [a for a in amounts if a.known]
    if len(parts) <= 1:
        return parts[0] if parts else Amount()
    low = max(parts, key=lambda a: a.low or 0)
    high = max(parts, key=lambda a: a.high or 0)
    return Amount(low.low, high.high, low.low_hedge, high.high_hedge, adds_hedged=low.adds_hedged or high.adds_hedged)


def _hedge_map(value: Any) -> dict[str, str]:
    if value is None or (not hasattr(value, "__iter__")) or isinstance(value, str):
        return {}
    return {h["field"]: h["words"] for h in value if h and h.get("field")}


def claim_amounts(claims: pd.DataFrame) -> dict[str, Amount]:
    """Each figure of a group of claims (one event's): per article its highest value, then the lowest and
    highest across articles. A bound carries a hedge when every article giving that value hedges it."""
    out: dict[str, Amount] = {}
    hedges = [_hedge_map(h) for h in claims["hedges"]] if "hedges" in claims else [{}] * len(claims)
    for f in schemas.FIGURES:
        per_article: dict[str, tuple[int, list[str | None]]] = {}
        for article, value, hedge in zip(claims["article_id"], claims[f], hedges, strict=True):
            if not is_known(value):
                continue
            value = int(value)
            current = per_article.get(article)
            if current is None or value > current[0]:
                per_article[article] = (value, [hedge.get(f)])
            elif value == current[0]:
                current[1].append(hedge.get(f))
        if not per_article:
            out[f] = Amount()
            continue
        stated = [(v, h[0] if all(h) else None) for v, h in per_article.values()]

        def bound(value: int, stated: list[tuple[int, str | None]] = stated) -> str | None:
            words = [h for v, h in stated if v == value]
            return words[0] if all(words) else None

        low, high = min(v for v, _ in stated), max(v for v, _ in stated)
        out[f] = Amount(low, high, bound(low), bound(high))
    return out


def is_nationwide(place: Any) -> bool:
    """A country-wide tally (the place is a country, as in "Russia launched 370 drones at Ukraine")."""
    gaz = load_gazetteer()
    eid = gaz.place_index.get(str(place or "").casefold())
    return eid is not None and gaz.entities[eid].kind == "country"


def map_key(place: Any, admin1: Any) -> str:
    """The marker a place is drawn at: an oblast and its namesake city (Kharkiv Oblast, Kharkiv) are one."""
    if admin1 and isinstance(admin1, str) and _place_key(place) == _place_key(admin1):
        return admin1
    return str(place)


def strike_events(events: pd.DataFrame, claims: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    """Strike events with what the report shows of each: every figure as text (range and hedges), the
    links to its sources, whether it is nationwide or has any figure, its map marker and its targets."""
    out = events.copy().reset_index(drop=True)
    by_claim = claims.set_index("strike_id", drop=False) if len(claims) else claims
    articles_of = dict(zip(claims["strike_id"], claims["article_id"], strict=True))
    labels = _article_labels(articles)
    amounts, targets = [], []
    for _, event in out.iterrows():
        ids = event["claim_ids"]
        rows = by_claim.loc[[i for i in ids if i in articles_of]] if len(claims) else claims
        amounts.append(_corrected_amounts(claim_amounts(rows), event))
        targets.append(sorted({t for ts in rows["targets"] for t in ts}) if len(rows) else [])
    out["amounts"] = amounts
    for f in schemas.FIGURES:
        out[f] = [a[f].text() for a in amounts]
    out["has_figure"] = [any(a[f].known for f in schemas.FIGURES) for a in amounts]
    out["nationwide"] = [is_nationwide(p) for p in out["place"]]
    out["map_key"] = [map_key(p, r) for p, r in zip(out["place"], out["admin1"], strict=True)]
    out["targets"] = targets
    out["side"] = [side_label(a) for a in out["attacker"]]
    out["sources_of"] = [claim_sources(ids, articles_of, labels) for ids in out["claim_ids"]]
    out["source_links"] = [links_html(pairs) for pairs in out["sources_of"]]
    out["conflicting"] = ["⚠ yes" if c else "" for c in out["conflicting"]]
    return out


def _corrected_amounts(amounts: dict[str, Amount], event: pd.Series) -> dict[str, Amount]:
    """The claims' figures, except where an analyst set the event's own figure (``events`` then holds a
    range the claims do not give, or none where they give one): that one is shown as set, without hedges."""
    for f in schemas.FIGURES:
        low, high = event.get(f"{f}_min"), event.get(f"{f}_max")
        if not (is_known(low) and is_known(high)):
            if amounts[f].known:  # cleared (`set: {killed: null}`)
                amounts[f] = Amount()
        elif (amounts[f].low, amounts[f].high) != (int(low), int(high)):
            amounts[f] = Amount(int(low), int(high))
    return amounts


def correction_text(changes: Any) -> str:
    """What corrections changed on a row, as a reader says it ("injured 11 → 31; rejected"), leaving out
    the columns that follow from another (a place's region and coordinates, a figure's hedge)."""
    if changes is None or isinstance(changes, str) or not hasattr(changes, "__iter__"):
        return ""
    parts = []
    for change in changes:
        if change["field"] in corrections.FOLLOWING:
            continue
        before, after = (json.loads(change[k]) if change[k] is not None else None for k in ("before", "after"))
        if before == after:
            parts.append(f"{change['field']} {after} (confirmed)")
        else:
            parts.append(f"{change['field']} {'—' if before is None else before} → {'—' if after is None else after}")
    return "; ".join(dict.fromkeys(parts))


def side_label(attacker: Any) -> str:
    return f"strikes by {attacker}" if isinstance(attacker, str) and attacker else "attacker not stated"


def _night_amount(night: pd.DataFrame, figure: str) -> Amount:
    """One night's figure on one side: the larger of the nationwide tally and the sum over areas, where an
    area (an oblast, or a place outside any) counts the larger of its own figure and the sum of its towns."""
    nation = larger(*(a[figure] for a in night.loc[night["nationwide"], "amounts"]))
    areas: list[Amount] = []
    local = night[~night["nationwide"]]
    area_of = [r if isinstance(r, str) and r else p for p, r in zip(local["place"], local["admin1"], strict=True)]
    for area in dict.fromkeys(area_of):
        rows = local[[a == area for a in area_of]]
        own = [a[figure] for p, a in zip(rows["place"], rows["amounts"], strict=True) if p == area]
        towns = [a[figure] for p, a in zip(rows["place"], rows["amounts"], strict=True) if p != area]
        areas.append(larger(*own, total(towns)))
    return larger(nation, total(areas))


HEADLINE_FIGURES = {
    "drones": "drones launched",
    "drones_downed": "drones shot down",
    "missiles": "missiles launched",
    "missiles_downed": "missiles shot down",
    "killed": "people killed",
    "injured": "people injured",
}


def headline_figures(rows: pd.DataFrame) -> dict[str, dict[str, str]]:
    """The period's totals by side (who attacked): nights, places hit, each figure, sources; as text."""
    out: dict[str, dict[str, str]] = {}
    sides = rows["side"].value_counts().index.tolist() if len(rows) else []
    for side in sides:
        mine = rows[rows["side"] == side]
        nights = [mine[mine["date"] == d] for d in sorted(set(mine["date"]))]
        figures = {
            label: total(_night_amount(n, f) for n in nights).text() or "not given"
            for f, label in HEADLINE_FIGURES.items()
        }
        out[side] = {
            "nights with strikes": str(len(nights)),
            "places hit": str(mine.loc[~mine["nationwide"], "map_key"].nunique()),
            **figures,
            "sources (articles)": str(len({a for ids in mine["article_ids"] for a in ids})),
        }
    return out


def headline(rows: pd.DataFrame) -> str:
    """The headline box: the period's totals by side, ranges where sources differ, hedges kept."""
    figures = headline_figures(rows)
    if not figures:
        return note("No strikes in this selection.")
    sides = list(figures)
    head = "<th></th>" + "".join(f"<th>{html.escape(s)}</th>" for s in sides)
    body = "".join(
        f"<tr><th>{html.escape(metric)}</th>"
        + "".join(f'<td class="rp-num">{html.escape(figures[s][metric])}</td>' for s in sides)
        + "</tr>"
        for metric in figures[sides[0]]
    )
    dates = sorted({d for d in rows["date"] if is_known(d)})
    period = f"{dates[0]} to {dates[-1]}" if dates else "undated"
    return (
        f'{CSS}<div class="rp-headline"><p><b>The selection at a glance</b> ({html.escape(period)})</p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        '<p class="rp-meta">Lowest–highest across sources, with their hedges ("more than 370"). A night counts '
        "the larger of the nationwide tally and the sum of its places; a city and its own oblast count once. "
        "* adds up hedged figures (at least, more than ...).</p></div>"
    )


# --------------------------------------------------------------------------- charts


def _pyplot() -> Any:
    """matplotlib's pyplot, drawing to PNG with no display (imported when a chart is drawn: checking
    whether a report is up to date needs no plotting library)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _subplots(figsize: tuple[float, float]) -> tuple[Figure, Any]:
    fig, ax = _pyplot().subplots(figsize=figsize)
    return fig, ax


def plot_launches(events: pd.DataFrame) -> Figure | None:
    """Drones and missiles launched per night (nationwide figures; highest a source gives)."""
    nationwide = events["nationwide"] if "nationwide" in events else events["place"].map(is_nationwide)
    nation = events[nationwide.astype(bool)]
    nation = nation[nation["drones_max"].notna() | nation["missiles_max"].notna()]
    if len(nation) == 0:
        return None
    nights = nation.groupby("date")[["drones_max", "missiles_max"]].max().fillna(0).sort_index()
    labels = {}  # the figure as a source words it, hedge and all, where the rows carry it (strike_events)
    for column, field in (("drones_max", "drones"), ("missiles_max", "missiles")):
        if field in nation:
            for date, group in nation.groupby("date"):
                top = group.sort_values(column, ascending=False, na_position="last").iloc[0]
                labels[(date, field)] = str(top[field]) if top[field] else ""
    fig, ax = _subplots(figsize=(8, 3.6))
    x = range(len(nights))
    ax.bar([i - 0.2 for i in x], nights["drones_max"], width=0.4, label="drones", color="#e08214")
    ax.bar([i + 0.2 for i in x], nights["missiles_max"], width=0.4, label="missiles", color="#542788")
    for i, (date, d, m) in enumerate(zip(nights.index, nights["drones_max"], nights["missiles_max"], strict=True)):
        for offset, v, field in ((-0.2, d, "drones"), (0.2, m, "missiles")):
            if v:
                text = labels.get((date, field)) or f"{int(v)}"
                ax.annotate(text, (i + offset, v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x), [str(d) for d in nights.index], rotation=0)
    ax.set_xlabel("night of (date of the morning)")
    ax.set_ylabel("weapons launched (count)")
    ax.set_title("Drones and missiles launched per night (highest figure reported)")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_targets(rows: pd.DataFrame) -> Figure | None:
    """How many strike events (a place on a night) name each kind of target: several sentences or
    articles telling of one hit count once."""
    counts: dict[str, int] = {}
    for targets in rows.get("targets", []):
        for t in targets:
            counts[t] = counts.get(t, 0) + 1
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]))
    fig, ax = _subplots(figsize=(7, 0.4 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4d4d4d")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("strike events naming the target (a place on one night)")
    ax.set_title("What was hit")
    fig.tight_layout()
    return fig


@dataclass(frozen=True)
class Outline:
    name: str
    iso_a3: str
    rings: list[list[tuple[float, float]]]


def load_outline() -> list[Outline]:
    """Country outlines around Ukraine that ship with the package (Natural Earth 1:110m, public domain)."""
    data = json.loads(resources.files("pipeline").joinpath("data", "outline.geojson").read_text(encoding="utf-8"))
    return [
        Outline(
            f["properties"]["name"],
            f["properties"]["iso_a3"],
            [[(x, y) for x, y in poly[0]] for poly in f["geometry"]["coordinates"]],
        )
        for f in data["features"]
    ]


@dataclass(frozen=True)
class Marker:
    """One place on the map, over every night of the selection."""

    label: str
    lat: float
    lon: float
    attacker: str
    nights: int
    people: int  # killed + injured, highest figures, added over the nights


def map_markers(rows: pd.DataFrame) -> list[Marker]:
    """One marker per place hit (an oblast and its namesake city together), nationwide tallies left out."""
    pts = rows[rows["lat"].notna() & rows["lon"].notna() & ~rows["nationwide"]]
    markers = []
    for key, group in pts.groupby("map_key", sort=True):
        names = sorted(set(group["place"]))
        label = names[0] if len(names) == 1 else f"{_place_key(key).title()} (city and oblast)"
        people = 0  # per night, a city and its own oblast count once (the larger), as in the headline
        for _, night in group.groupby("date"):
            amounts = [a for a in night["amounts"] if isinstance(a, dict)]
            for figure in ("killed", "injured"):
                people += larger(*(a[figure] for a in amounts)).high or 0
        city = group[group["place"] != key]
        at = city.iloc[0] if len(city) else group.iloc[0]
        attackers = group["attacker"].dropna()
        markers.append(
            Marker(
                label=label,
                lat=float(at["lat"]),
                lon=float(at["lon"]),
                attacker=str(attackers.mode().iloc[0]) if len(attackers) else "unknown",
                nights=group["date"].nunique(),
                people=int(people),
            )
        )
    return markers


#: Label positions tried around a marker, in points: right, left, above, below, then the diagonals.
_LABEL_OFFSETS = [(6, -3), (-6, -3), (0, 7), (0, -12), (6, 6), (-6, 6), (6, -12), (-6, -12)]


def _place_labels(fig: Figure, ax: Any, markers: list[Marker]) -> None:
    """Write each marker's label at the first position around it that overlaps no label already written;
    where none is free, the marker gets a number, and the numbers are spelled out under the map."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    taken: list[Any] = []
    numbered: list[str] = []

    def place(m: Marker, text: str, size: int, last_resort: bool, rings: int = 1) -> bool:
        offsets = [(dx * k, dy * k) for k in range(1, rings + 1) for dx, dy in _LABEL_OFFSETS]
        for dx, dy in offsets:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            label = ax.annotate(
                text, (m.lon, m.lat), xytext=(dx, dy), textcoords="offset points", fontsize=size, ha=ha, zorder=4
            )
            box = label.get_window_extent(renderer).expanded(1.05, 1.1)
            if last_resort or not any(box.overlaps(other) for other in taken):
                taken.append(box)
                return True
            label.remove()
        return False

    for m in sorted(markers, key=lambda m: (-m.people, m.label)):
        text = m.label if m.nights == 1 else f"{m.label} ({m.nights} nights)"
        if not place(m, text, 8, last_resort=False):
            numbered.append(text)
            number = str(len(numbered))
            if not place(m, number, 7, last_resort=False, rings=4):  # further out, if need be
                place(m, number, 7, last_resort=True)  # a crowd too dense for any free spot
    if numbered:
        key = "; ".join(f"{i} {t}" for i, t in enumerate(numbered, 1))
        fig.text(0.01, 0.005, key, fontsize=7, wrap=True)


def plot_map(rows: pd.DataFrame) -> Figure | None:
    """Places hit, one marker each at its coordinates, over the outline of Ukraine and its neighbours."""
    markers = map_markers(rows)
    if not markers:
        return None
    fig, ax = _subplots(figsize=(8, 6))
    for country in load_outline():
        face = "#f4f1ea" if country.iso_a3 in {"UKR", "RUS"} else "#fafafa"
        for ring in country.rings:
            xs, ys = zip(*ring, strict=True)
            ax.fill(xs, ys, facecolor=face, edgecolor="#999999", linewidth=0.6)
    for attacker in sorted({m.attacker for m in markers}):
        group = [m for m in markers if m.attacker == attacker]
        ax.scatter(
            [m.lon for m in group],
            [m.lat for m in group],
            s=[30 + 12 * math.sqrt(m.people) for m in group],
            color=ATTACKER_COLOURS.get(attacker, "#555"),
            alpha=0.8,
            edgecolor="black",
            linewidth=0.5,
            label=f"attacked by {attacker}",
            zorder=3,
        )
    lons, lats = [m.lon for m in markers], [m.lat for m in markers]
    lon0, lon1 = min(22.0, min(lons) - 1), max(40.5, max(lons) + 1)
    lat0, lat1 = min(44.0, min(lats) - 1), max(52.5, max(lats) + 1)
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(1 / math.cos(math.radians((lat0 + lat1) / 2)))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title("Places hit (marker size: killed + injured, highest figures)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    _place_labels(fig, ax, markers)
    return fig


def plot_rounds(events: pd.DataFrame, window_days: int = 75) -> Figure | None:
    """Timeline of negotiating rounds by venue, coloured by status.

    When the rounds span more than ``window_days``, the chart shows the latest ``window_days`` (the
    table below lists every round), so that days stay readable.
    """
    dated = events[events["date"].notna()]
    if len(dated) == 0:
        return None
    last = max(pd.Timestamp(d) for d in dated["date"])
    first = min(pd.Timestamp(d) for d in dated["date"])
    zoom = (last - first).days > window_days
    if zoom:
        dated = dated[[pd.Timestamp(d) >= last - pd.Timedelta(days=window_days) for d in dated["date"]]]
    venues = sorted(dated["place"].unique())
    fig, ax = _subplots(figsize=(9, 0.55 * len(venues) + 2.2))
    for _, e in dated.iterrows():
        y = venues.index(e["place"])
        start = pd.Timestamp(e["date"])
        end = pd.Timestamp(e["end_date"]) if e["end_date"] is not None and not pd.isna(e["end_date"]) else start
        colour = STATUS_COLOURS.get(e["status"], "#555")
        ax.barh(y, (end - start).days + 0.8, left=start, height=0.5, color=colour, edgecolor="black", linewidth=0.4)
        ax.annotate(str(e["status"]), (end + pd.Timedelta(days=1), y), va="center", fontsize=8)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=colour, edgecolor="black", label=status) for status, colour in STATUS_COLOURS.items()]
    lo = min(pd.Timestamp(d) for d in dated["date"])
    hi = max(pd.Timestamp(d) for d in [*dated["date"], *dated["end_date"].dropna()])
    ax.set_xlim(lo - pd.Timedelta(days=1), hi + pd.Timedelta(days=4))
    ax.set_yticks(range(len(venues)), venues)
    ax.set_ylim(-0.7, len(venues) - 0.3)
    ax.set_xlabel("date")
    ax.set_ylabel("venue")
    suffix = f" (last {window_days} days; earlier rounds in the table)" if zoom else ""
    ax.set_title("Negotiating rounds by venue and status" + suffix)
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, title="status")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def figure_html(fig: Figure | None, empty: str) -> str:
    """A chart as an embedded PNG (no external file, no script), or a note when there is nothing to draw."""
    if fig is None:
        return note(empty)
    import base64
    from io import BytesIO

    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    _pyplot().close(fig)
    title = fig.axes[0].get_title() if fig.axes else "chart"
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}"/>'


# --------------------------------------------------------------------------- report sections

_FIGURE_HEADERS = {
    "killed": "killed",
    "injured": "injured",
    "drones": "drones",
    "missiles": "missiles",
    "drones_downed": "drones downed",
    "missiles_downed": "missiles downed",
}


def _figure_columns(rows: pd.DataFrame) -> dict[str, str]:
    """The figure columns that hold a value in ``rows`` (a column empty in every row is left out)."""
    return {f: h for f, h in _FIGURE_HEADERS.items() if f in rows and any(rows[f])}


def _figures_table(shown: pd.DataFrame, lead: dict[str, str], empty: str) -> str:
    """Strike events with a figure: the ``lead`` columns, the figures some source gives (lowest–highest),
    the links to the sources and a flag where they disagree."""
    columns = {**lead, **_figure_columns(shown), "source_links": "sources", "conflicting": "sources disagree"}
    if "corrected" in shown and shown["corrected"].any():
        shown = shown.assign(corrected=["✎ yes" if c else "" for c in shown["corrected"]])
        columns["corrected"] = "corrected"
    return html_table(shown, columns, empty, raw={"source_links"}, numeric={*_FIGURE_HEADERS, "confidence"})


def nationwide_table(rows: pd.DataFrame) -> str:
    """Country-wide tallies (launches, interceptions, national tolls), apart from the places."""
    shown = rows[rows["nationwide"] & rows["has_figure"]]
    lead = {"date": "date", "place": "country", "attacker": "attacker"}
    return _figures_table(shown, lead, "No nationwide figures in this selection.")


def places_table(rows: pd.DataFrame) -> str:
    """Places hit with at least one figure: the range across sources and a flag where they disagree."""
    shown = rows[~rows["nationwide"] & rows["has_figure"]]
    lead = {"date": "date", "place": "place", "admin1": "region", "attacker": "attacker"}
    return _figures_table(shown, lead, "No place has a figure in this selection.")


def unquantified_table(rows: pd.DataFrame) -> str:
    """Places reported hit with no figure, a line per night and attacker."""
    shown = rows[~rows["nationwide"] & ~rows["has_figure"]]
    lines = []
    for (date, side), group in shown.groupby(["date", "side"], sort=True):
        lines.append(
            {
                "date": date,
                "side": side,
                "places": sorted(set(group["place"])),
                "source_links": links_html(pair for pairs in group["sources_of"] for pair in pairs),
            }
        )
    columns = {"date": "date", "side": "by", "places": "places", "source_links": "sources"}
    return html_table(pd.DataFrame(lines), columns, "Every place hit has a figure.", raw={"source_links"})


_NOTE_FIGURES = {
    "drones": "drones",
    "drones_downed": "drones shot down",
    "missiles": "missiles",
    "missiles_downed": "missiles shot down",
    "killed": "killed",
    "injured": "injured",
}


def nationwide_note(rows: pd.DataFrame) -> str:
    """The nationwide tallies in a sentence per night, for beside the map (which shows places only)."""
    shown = rows[rows["nationwide"] & rows["has_figure"]]
    parts = []
    for _, r in shown.iterrows():
        figures = ", ".join(f"{r[f]} {h}" for f, h in _NOTE_FIGURES.items() if r[f])
        parts.append(f"{fmt_cell(r['date'])}, {r['side']} on {r['place']}: {figures}")
    if not parts:
        return ""
    return note("Not on the map, the nationwide tallies: " + "; ".join(parts) + ".")


def targets_table(rows: pd.DataFrame) -> str:
    """What was hit, a row per strike event (a place on one night), with its sources."""
    shown = rows[[len(t) > 0 for t in rows["targets"]]] if len(rows) else rows
    columns = {"date": "date", "place": "place", "targets": "what was hit", "source_links": "sources"}
    return html_table(shown, columns, "No targets named in this selection.", raw={"source_links"})


def claims_table(claims: pd.DataFrame, articles: pd.DataFrame) -> str:
    """Every strike claim with its figures as stated (hedges kept), who says so, the source and the
    sentence it comes from; each row is the target of the links in the tables above."""
    rows = claims_with_sources(claims, articles).sort_values(["date", "place", "article_id", "sentence_idx"])
    rows = rows.reset_index(drop=True)
    for f in schemas.FIGURES:
        rows[f] = [
            Amount(int(v), int(v), h.get(f), h.get(f)).text() if is_known(v) else ""
            for v, h in zip(rows[f], (_hedge_map(x) for x in rows["hedges"]), strict=True)
        ]
    rows["anchor"] = [claim_anchor(c) for c in rows["strike_id"]]
    rows["source"] = [source_link(r) for _, r in rows.iterrows()]
    columns = {
        "date": "date",
        "place": "place",
        **_figure_columns(rows),
        "claimed_by": "according to",
        "confidence": "confidence",
        "source": "source",
        "evidence": "sentence",
        **_correction_column(rows),
    }
    numeric = {*_FIGURE_HEADERS, "confidence"}
    return html_table(rows, columns, raw={"source"}, numeric=numeric, row_id="anchor")


def unconfirmed_table(rows: pd.DataFrame) -> str:
    """Strike events below the confirmed level (rows of :func:`strike_events`): date, place, the figures
    some source gives, their confidence and sources."""
    lead = {"date": "date", "place": "place", "attacker": "attacker", "confidence": "confidence"}
    return _figures_table(rows, lead, "Every strike event in this selection is confirmed.")


def _correction_column(rows: pd.DataFrame) -> dict[str, str]:
    """The "corrected" column of a table of claims, filled in ``rows``, when a correction changed any."""
    if "corrections" not in rows:
        return {}
    rows["correction"] = [correction_text(c) for c in rows["corrections"]]
    return {"correction": "corrected (machine → analyst)"} if any(rows["correction"]) else {}


# --------------------------------------------------------------------------- talks sections


def _article_meta(articles: pd.DataFrame) -> dict[str, dict[str, Any]]:
    meta = articles.set_index("article_id")[["published", "outlet", "source_file", "url"]]
    out: dict[str, dict[str, Any]] = meta.to_dict("index")
    return out


def round_history(reports: pd.DataFrame, meta: dict[str, dict[str, Any]]) -> str:
    """A round's statuses in the order the articles were published: "planned (2026-01-22: AP) → held
    (2026-01-25: BBC, DW)"; undated articles last."""
    steps: list[tuple[str, list[str], list[Any]]] = []
    ordered = sorted(
        reports.itertuples(),
        key=lambda r: (
            meta.get(r.article_id, {}).get("published") or dt.date.max,
            STATUS_RANK.get(r.status, 0),
        ),
    )
    for r in ordered:
        a = meta.get(r.article_id, {})
        who = source_label(a.get("outlet"), a.get("source_file"))
        if not (steps and steps[-1][0] == r.status):
            steps.append((str(r.status), [], []))
        if who not in steps[-1][1]:
            steps[-1][1].append(who)
        steps[-1][2].append(a.get("published"))

    def when(days: list[Any]) -> str:
        known = sorted({d for d in days if is_known(d)})
        if not known:
            return "undated"
        first, last = fmt_cell(known[0]), fmt_cell(known[-1])
        return first if first == last else f"{first} to {last}"

    return " → ".join(f"{s} ({when(d)}: {', '.join(w)})" for s, w, d in steps)


def _union(reports: pd.DataFrame, column: str) -> list[str]:
    return sorted({v for values in reports[column] for v in values})


def rounds_table(
    events: pd.DataFrame,
    talks: pd.DataFrame,
    articles: pd.DataFrame,
    empty: str = "No rounds in this selection.",
    confidence: bool = False,
) -> str:
    """Negotiating rounds: dates, venue, the latest status and the history behind it, parties apart from
    mediators and delegates, and links to each article's report; with ``confidence``, the events'
    confidence too (for the unconfirmed rounds)."""
    meta = _article_meta(articles)
    labels = _article_labels(articles)
    articles_of = dict(zip(talks["talk_id"], talks["article_id"], strict=True))
    rows = events.copy()
    reports = [talks[talks["talk_id"].isin(ids)] for ids in rows["claim_ids"]]
    rows["history"] = [round_history(r, meta) for r in reports]
    rows["mediators"] = [_union(r, "mediators") for r in reports]
    rows["delegates"] = [_union(r, "delegates") for r in reports]
    rows["source_links"] = [claim_links(ids, articles_of, labels) for ids in rows["claim_ids"]]
    columns = {
        "date": "from",
        "end_date": "to",
        "place": "venue",
        "status": "status",
        "history": "as reported",
        "parties": "parties",
        "mediators": "mediators",
        "delegates": "delegates named",
        **({"confidence": "confidence"} if confidence else {}),
        "source_links": "sources",
    }
    return html_table(rows, columns, empty, raw={"source_links"}, numeric={"confidence"})


def talk_reports_table(talks: pd.DataFrame, articles: pd.DataFrame) -> str:
    """Every report of a round: venue, dates, status, the source and the sentence; the target of the
    links in the rounds table."""
    rows = claims_with_sources(talks, articles)
    rows = rows.sort_values(["venue", "start_date", "published"], na_position="last").reset_index(drop=True)
    rows["anchor"] = [claim_anchor(c) for c in rows["talk_id"]]
    rows["source"] = [source_link(r) for _, r in rows.iterrows()]
    columns = {
        "venue": "venue",
        "start_date": "from",
        "end_date": "to",
        "status": "status",
        "published": "published",
        "confidence": "confidence",
        "source": "source",
        "evidence": "sentence",
        **_correction_column(rows),
    }
    return html_table(rows, columns, raw={"source"}, numeric={"confidence"}, row_id="anchor")


def next_table(tables: dict[str, pd.DataFrame], sel: Selection) -> str:
    """What is announced next, as it stood at the report's end (its end date, else the newest article):
    rounds that an article published by then announced for a later day, or for no given day, with the
    sentences that announce them. A round announced then and held since still shows, at its announced
    date; a round already held by the end does not."""
    articles, talks = tables["articles"], tables["talks"]
    dates = [d for d in articles["published"] if is_known(d)]
    cutoff = sel.end or (max(dates) if dates else None)
    published = dict(zip(articles["article_id"], articles["published"], strict=True))
    events = tables["events"]
    events = events[events["kind"] == "talks"]
    rows = []
    for _, e in events.iterrows():
        if not _matches_places(e, sel.places, ("place",)):
            continue
        reports = talks[talks["talk_id"].isin(e["claim_ids"]) & (talks["status"] == "planned")]
        if cutoff is not None:  # what had been announced by the end
            reports = reports[[is_known(published.get(a)) and published[a] <= cutoff for a in reports["article_id"]]]
        if len(reports) == 0:
            continue
        announced = [d for d in reports["start_date"] if is_known(d)]
        day = min(announced) if announced else None
        if day is not None and cutoff is not None and day <= cutoff:
            continue
        reports = claims_with_sources(reports, articles)
        rows.append(
            {
                "date": day if day is not None else "no date given",
                "place": e["place"],
                "status": e["status"] if e["status"] != "planned" else "",
                "parties": e["parties"],
                "mediators": _union(reports, "mediators"),
                "source_links": ", ".join(source_link(r) for _, r in reports.drop_duplicates("article_id").iterrows()),
                "announced": " / ".join(dict.fromkeys(reports["evidence"])),
            }
        )
    after = f"after {cutoff}" if cutoff else "in the data"
    columns = {
        "date": "announced for",
        "place": "venue",
        "status": "since reported",
        "parties": "parties",
        "mediators": "mediators",
        "source_links": "announced by",
        "announced": "announced in",
    }
    if not any(r["status"] for r in rows):
        columns.pop("status")
    return note(f"Rounds announced by {cutoff or 'the newest article'} for a day {after}, or for no given day.") + (
        html_table(pd.DataFrame(rows), columns, f"No round is announced {after}.", raw={"source_links"})
    )


def confirmed_level() -> float:
    """The confidence at which a row counts as confirmed (``calibration.yaml``'s ``confirmed``)."""
    from pipeline.extract import load_rules

    return load_rules().calibration.confirmed


def positions_table(
    tables: dict[str, pd.DataFrame], sel: Selection, tags: Iterable[str], unconfirmed: bool = False
) -> str:
    """Quotes on the sticking points (territory, security guarantees ...) by speaker and channel: those
    whose speaker is confirmed (its confidence at the confirmed level), or with ``unconfirmed`` the others,
    with their confidence and how the speaker was found."""
    quotes, sentences, articles = tables["quotes"], tables["sentences"], tables["articles"]
    if len(quotes) == 0:
        return note("No quotes in this selection.")
    tagged = sentences.set_index(["article_id", "sentence_idx"])["tags"].to_dict()
    wanted = set(tags)
    meta = articles.set_index("article_id")[["published", "outlet"]].to_dict("index")
    level = confirmed_level()
    keep = []
    for _, q in quotes.iterrows():
        a = meta.get(q["article_id"], {})
        published = a.get("published")
        in_range = _in_range(published, None, sel) if published is not None else sel.start is None and sel.end is None
        topics = set(tagged.get((q["article_id"], q["sentence_idx"]), []))
        confidence = q.get("confidence")
        sure = not is_known(confidence) or confidence >= level or bool(q.get("corrected"))
        keep.append(in_range and bool(topics & wanted) and sure != unconfirmed)
    rows = quotes[keep].copy()
    rows["topics"] = [
        sorted(set(tagged.get((a, i), [])) & wanted)
        for a, i in zip(rows["article_id"], rows["sentence_idx"], strict=True)
    ]
    labels = _article_labels(articles)
    rows["outlet"] = [labels.get(a) for a in rows["article_id"]]
    rows["published"] = [meta.get(a, {}).get("published") for a in rows["article_id"]]
    rows = rows.sort_values(["speaker", "published"], na_position="last")
    columns = {
        "speaker": "speaker",
        **({"confidence": "confidence", "confidence_basis": "speaker found by"} if unconfirmed else {}),
        "channel": "channel",
        "topics": "on",
        "text": "quote",
        "published": "published",
        "outlet": "outlet",
    }
    empty = (
        "No unconfirmed speakers on these points." if unconfirmed else "No quotes on these points in this selection."
    )
    return html_table(rows, columns, empty=empty, numeric={"confidence"})
