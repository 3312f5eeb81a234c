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
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: figures are rendered to PNG

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from pipeline import io, schemas

STATUS_COLOURS = {"held": "#1b7837", "ongoing": "#e08214", "planned": "#2166ac", "cancelled": "#888888"}
ATTACKER_COLOURS = {"Russia": "#b2182b", "Ukraine": "#2166ac"}
CSS = """
<style>
.rp-table {border-collapse: collapse; font-size: 13px; margin: 8px 0 18px 0;}
.rp-table th, .rp-table td {border: 1px solid #ccc; padding: 4px 8px; text-align: left !important; vertical-align: top;}
.rp-table td:first-child {white-space: nowrap;}
.rp-table th {background: #f0f0f0;}
.rp-flag {color: #b2182b; font-weight: bold;}
.rp-note {color: #555; font-style: italic;}
.rp-evidence {color: #333; font-size: 12px; max-width: 560px;}
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
    """The named datasets as DataFrames (an empty frame with the right columns when one is missing)."""
    out = {}
    for name in names:
        schema = schemas.TABLES[name]
        table = io.read_dataset_dir(Path(datasets) / name, schema)
        out[name] = (table if table is not None else schema.empty_table()).to_pandas()
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


def data_range(events: pd.DataFrame) -> str:
    dates = [d for d in events.get("date", []) if d is not None and not pd.isna(d)]
    if not dates:
        return "no dated events"
    return f"{min(dates)} to {max(dates)}"


# --------------------------------------------------------------------------- text and tables


def fmt_range(low: Any, high: Any) -> str:
    """ "11–31" where sources differ, "4" where they agree, "" where none gives a figure."""
    if low is None or pd.isna(low):
        return ""
    low, high = int(low), int(high)
    return str(low) if low == high else f"{low}–{high}"


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


def html_table(df: pd.DataFrame, columns: dict[str, str], empty: str = "Nothing in this selection.") -> str:
    """An HTML table of ``columns`` (name -> header); every cell escaped."""
    if df is None or len(df) == 0:
        return note(empty)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in columns.values())
    rows = []
    for _, row in df.iterrows():
        cells = []
        for col in columns:
            text = html.escape(fmt_cell(row.get(col)))
            css = ' class="rp-flag"' if col == "conflicting" and text else ""
            css = ' class="rp-evidence"' if col in {"evidence", "text"} else css
            cells.append(f"<td{css}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'{CSS}<table class="rp-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def note(text: str) -> str:
    return f'<p class="rp-note">{html.escape(text)}</p>'


def heading(title: str, sel: Selection, events: pd.DataFrame, sources: int) -> str:
    return (
        f"<h1>{html.escape(title)}</h1>"
        f"<p><b>Selection:</b> {html.escape(sel.describe())}. <b>Data:</b> {html.escape(data_range(events))}, "
        f"{len(events)} events from {sources} articles.</p>"
    )


def with_ranges(events: pd.DataFrame, figures: Sequence[str]) -> pd.DataFrame:
    """Events with one readable "min–max" column per figure."""
    out = events.copy()
    for f in figures:
        out[f] = [fmt_range(lo, hi) for lo, hi in zip(out[f"{f}_min"], out[f"{f}_max"], strict=True)]
    return out


def claims_with_sources(claims: pd.DataFrame, articles: pd.DataFrame) -> pd.DataFrame:
    meta = articles[["article_id", "outlet", "title", "source_file", "published"]]
    return claims.merge(meta, on="article_id", how="left")


# --------------------------------------------------------------------------- charts


def plot_launches(events: pd.DataFrame) -> Figure | None:
    """Drones and missiles launched per night (nationwide figures; highest a source gives)."""
    nation = events[events["place"].isin(["Ukraine", "Russia"])]
    nation = nation[nation["drones_max"].notna() | nation["missiles_max"].notna()]
    if len(nation) == 0:
        return None
    nights = nation.groupby("date")[["drones_max", "missiles_max"]].max().fillna(0).sort_index()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = range(len(nights))
    ax.bar([i - 0.2 for i in x], nights["drones_max"], width=0.4, label="drones", color="#e08214")
    ax.bar([i + 0.2 for i in x], nights["missiles_max"], width=0.4, label="missiles", color="#542788")
    for i, (d, m) in enumerate(zip(nights["drones_max"], nights["missiles_max"], strict=True)):
        for offset, v in ((-0.2, d), (0.2, m)):
            if v:
                ax.annotate(f"{int(v)}", (i + offset, v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x), [str(d) for d in nights.index], rotation=0)
    ax.set_xlabel("night of (date of the morning)")
    ax.set_ylabel("weapons launched (count)")
    ax.set_title("Drones and missiles launched per night (highest figure reported)")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_targets(claims: pd.DataFrame) -> Figure | None:
    """How many claims report each kind of target hit."""
    counts: dict[str, int] = {}
    for targets in claims.get("targets", []):
        for t in targets:
            counts[t] = counts.get(t, 0) + 1
    if not counts:
        return None
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(items) + 1.2))
    ax.barh([k for k, _ in items], [v for _, v in items], color="#4d4d4d")
    ax.set_xlabel("strike claims naming the target (count)")
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


def plot_map(events: pd.DataFrame) -> Figure | None:
    """Places hit, at their coordinates, over the outline of Ukraine and its neighbours."""
    pts = events[events["lat"].notna() & events["lon"].notna() & ~events["place"].isin(["Ukraine", "Russia"])]
    if len(pts) == 0:
        return None
    fig, ax = plt.subplots(figsize=(8, 6))
    for country in load_outline():
        face = "#f4f1ea" if country.iso_a3 in {"UKR", "RUS"} else "#fafafa"
        for ring in country.rings:
            xs, ys = zip(*ring, strict=True)
            ax.fill(xs, ys, facecolor=face, edgecolor="#999999", linewidth=0.6)
    for attacker, group in pts.groupby(pts["attacker"].fillna("unknown")):
        sizes = [
            30 + 12 * math.sqrt((k or 0) + (i or 0))
            for k, i in zip(group["killed_max"].fillna(0), group["injured_max"].fillna(0), strict=True)
        ]
        ax.scatter(
            group["lon"],
            group["lat"],
            s=sizes,
            color=ATTACKER_COLOURS.get(str(attacker), "#555"),
            alpha=0.8,
            edgecolor="black",
            linewidth=0.5,
            label=f"attacked by {attacker}",
            zorder=3,
        )
        for _, row in group.iterrows():
            ax.annotate(
                str(row["place"]), (row["lon"], row["lat"]), xytext=(4, 4), textcoords="offset points", fontsize=8
            )
    lon0, lon1 = min(22.0, pts["lon"].min() - 1), max(40.5, pts["lon"].max() + 1)
    lat0, lat1 = min(44.0, pts["lat"].min() - 1), max(52.5, pts["lat"].max() + 1)
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(1 / math.cos(math.radians((lat0 + lat1) / 2)))
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title("Places hit (marker size: killed + injured, highest figure)")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
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
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(venues) + 2.2))
    for _, e in dated.iterrows():
        y = venues.index(e["place"])
        start = pd.Timestamp(e["date"])
        end = pd.Timestamp(e["end_date"]) if e["end_date"] is not None and not pd.isna(e["end_date"]) else start
        colour = STATUS_COLOURS.get(e["status"], "#555")
        ax.barh(y, (end - start).days + 0.8, left=start, height=0.5, color=colour, edgecolor="black", linewidth=0.4)
        ax.annotate(str(e["status"]), (end + pd.Timedelta(days=1), y), va="center", fontsize=8)
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
    plt.close(fig)
    title = fig.axes[0].get_title() if fig.axes else "chart"
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}"/>'


# --------------------------------------------------------------------------- report sections

_FIGURE_HEADERS = {"drones": "drones", "missiles": "missiles", "killed": "killed", "injured": "injured"}


def casualty_table(events: pd.DataFrame, country: str | None = "UA") -> str:
    """Strike events by place with the range of figures across sources and a flag where they conflict."""
    rows = events if country is None else events[events["country"] == country]
    rows = with_ranges(rows, schemas.FIGURES)
    columns = {
        "date": "date",
        "place": "place",
        "admin1": "region",
        "attacker": "attacker",
        **_FIGURE_HEADERS,
        "drones_downed": "drones downed",
        "sources": "sources",
        "conflicting": "sources disagree",
        "outlets": "outlets",
    }
    rows = rows.assign(conflicting=["⚠ yes" if c else "" for c in rows["conflicting"]])
    return html_table(rows, columns)


def claims_table(claims: pd.DataFrame, articles: pd.DataFrame) -> str:
    """Every strike claim with its figures, who says so, the outlet and the sentence it comes from."""
    rows = claims_with_sources(claims, articles).sort_values(["date", "place"])
    columns = {
        "date": "date",
        "place": "place",
        **_FIGURE_HEADERS,
        "qualifiers": "qualifiers",
        "claimed_by": "according to",
        "outlet": "outlet",
        "source_file": "file",
        "evidence": "sentence",
    }
    return html_table(rows, columns)


def targets_table(claims: pd.DataFrame) -> str:
    rows = claims[[len(t) > 0 for t in claims["targets"]]] if len(claims) else claims
    return html_table(rows, {"date": "date", "place": "place", "targets": "what was hit", "evidence": "sentence"})


def rounds_table(events: pd.DataFrame, talks: pd.DataFrame) -> str:
    """Negotiating rounds with dates, venue, status, parties, delegates and their sources."""
    delegates = {
        e["event_id"]: sorted(
            {d for _, t in talks[talks["talk_id"].isin(e["claim_ids"])].iterrows() for d in t["delegates"]}
        )
        for _, e in events.iterrows()
    }
    rows = events.assign(delegates=[delegates.get(e, []) for e in events["event_id"]])
    columns = {
        "date": "from",
        "end_date": "to",
        "place": "venue",
        "status": "status",
        "parties": "parties",
        "delegates": "delegates named",
        "sources": "articles",
        "outlets": "outlets",
    }
    return html_table(rows, columns)


def positions_table(tables: dict[str, pd.DataFrame], sel: Selection, tags: Iterable[str]) -> str:
    """Quotes on the sticking points (territory, security guarantees ...) by speaker and channel."""
    quotes, sentences, articles = tables["quotes"], tables["sentences"], tables["articles"]
    if len(quotes) == 0:
        return note("No quotes in this selection.")
    tagged = sentences.set_index(["article_id", "sentence_idx"])["tags"].to_dict()
    wanted = set(tags)
    meta = articles.set_index("article_id")[["published", "outlet"]].to_dict("index")
    keep = []
    for _, q in quotes.iterrows():
        a = meta.get(q["article_id"], {})
        published = a.get("published")
        in_range = _in_range(published, None, sel) if published is not None else sel.start is None and sel.end is None
        topics = set(tagged.get((q["article_id"], q["sentence_idx"]), []))
        keep.append(in_range and bool(topics & wanted))
    rows = quotes[keep].copy()
    rows["topics"] = [
        sorted(set(tagged.get((a, i), [])) & wanted)
        for a, i in zip(rows["article_id"], rows["sentence_idx"], strict=True)
    ]
    rows["outlet"] = [meta.get(a, {}).get("outlet") for a in rows["article_id"]]
    rows["published"] = [meta.get(a, {}).get("published") for a in rows["article_id"]]
    rows = rows.sort_values(["speaker", "published"], na_position="last")
    columns = {
        "speaker": "speaker",
        "channel": "channel",
        "topics": "on",
        "text": "quote",
        "published": "published",
        "outlet": "outlet",
    }
    return html_table(rows, columns, empty="No quotes on these points in this selection.")


def next_table(events: pd.DataFrame, talks: pd.DataFrame) -> str:
    """What is announced next: planned rounds and the sentences that announce them."""
    planned = talks[talks["status"] == "planned"].sort_values("start_date", na_position="last")
    columns = {"start_date": "date", "venue": "venue", "parties": "parties", "evidence": "announced in"}
    return html_table(planned, columns, empty="No round is announced in this selection.")
