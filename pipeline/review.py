"""The review page: what in the datasets needs a person, each item with a snippet for the corrections file.

Items are claims and quotes below a confidence threshold, strike events whose sources disagree, figures with no
place, rounds with no date and quotes with no speaker; rows a correction rejected are left out. Each
shows its id, its article and source, the sentence with the figure (or venue, or quote) marked, and a
ready-to-paste YAML entry (see :mod:`pipeline.corrections`). Article text is untrusted: everything is
escaped. Pure functions over DataFrames, then one atomic write.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from pipeline import report, schemas
from pipeline.render import atomic_write

Row = dict[str, Any]

#: The sections of the page, in order: key, its heading, and what the command line counts in it.
SECTIONS = {
    "low_confidence": ("Claims and quotes below the confidence threshold", "low-confidence claims and quotes"),
    "conflicting": ("Events whose sources disagree", "conflicting events"),
    "no_place": ("Figures with no place", "figures with no place"),
    "no_date": ("Rounds with no date", "rounds with no date"),
    "no_speaker": ("Quotes with no speaker", "quotes with no speaker"),
}


def section_counts(items: list[Item]) -> dict[str, int]:
    """How many items each section holds, by section key."""
    return {key: sum(1 for i in items if i.section == key) for key in SECTIONS}


@dataclass
class Item:
    """One thing for a person to look at."""

    section: str
    what: str  # "strike claim", "talks report", "strike event", "quote"
    id_column: str
    row_id: str
    reason: str
    evidence: list[tuple[Row, str]] = field(default_factory=list)  # (article, sentence as marked-up HTML)
    snippet: str = ""


def review_items(tables: dict[str, pd.DataFrame], min_confidence: float, today: dt.date | None = None) -> list[Item]:
    """Every item of the review page, from the datasets (read with :func:`report.load_tables`, so without
    rejected rows): tables ``articles``, ``strikes``, ``talks``, ``quotes``, ``sentences`` and ``events``."""
    today = today or dt.date.today()
    articles = {a["article_id"]: a for a in tables["articles"].to_dict("records")}
    strikes, talks, quotes = tables["strikes"], tables["talks"], tables["quotes"]
    originals = {a for a, row in articles.items() if not report.is_known(row.get("duplicate_of"))}
    items: list[Item] = []

    def claim(section: str, what: str, row: Row, reason: str, values: dict[str, Any]) -> Item:
        id_column = "strike_id" if what == "strike claim" else "talk_id"
        marks = _figure_marks(row) if id_column == "strike_id" else [str(row.get("venue") or "")]
        item = Item(section, what, id_column, row[id_column], reason)
        item.evidence.append((articles.get(row["article_id"], {}), mark_text(row["evidence"], marks)))
        item.snippet = snippet(id_column, row[id_column], values, today)
        return item

    for _, row in strikes[strikes["article_id"].isin(originals)].iterrows():
        r = row.to_dict()
        if r["confidence"] < min_confidence:
            items.append(
                claim("low_confidence", "strike claim", r, f"confidence {r['confidence']:.2f}", _strike_values(r))
            )
        if r["has_figures"] and not report.is_known(r.get("place")):
            values = {"place": "PLACE", **_strike_values(r)}
            items.append(claim("no_place", "strike claim", r, "figures with no place", values))
    for _, row in talks[talks["article_id"].isin(originals)].iterrows():
        r = row.to_dict()
        if r["confidence"] < min_confidence:
            values = {"venue": r["venue"], "start_date": r.get("start_date"), "status": r["status"]}
            items.append(claim("low_confidence", "talks report", r, f"confidence {r['confidence']:.2f}", values))
    events = tables["events"]
    by_strike = strikes.set_index("strike_id").to_dict("index") if len(strikes) else {}
    by_talk = talks.set_index("talk_id").to_dict("index") if len(talks) else {}
    for _, event in events.iterrows():
        e = event.to_dict()
        if e["kind"] == "strike" and e["conflicting"]:
            figures = {
                f: (int(e[f"{f}_min"]), int(e[f"{f}_max"]))
                for f in schemas.FIGURES
                if report.is_known(e[f"{f}_min"]) and e[f"{f}_min"] != e[f"{f}_max"]
            }
            reason = "; ".join(f"{f.replace('_', ' ')} {lo} to {hi}" for f, (lo, hi) in figures.items())
            item = Item(
                "conflicting", "strike event", "event_id", e["event_id"], f"{e['place']}, {e['date']}: {reason}"
            )
            for claim_id in e["claim_ids"]:
                c = by_strike.get(claim_id)
                if c is not None and any(report.is_known(c.get(f)) for f in figures):
                    c = {**c, "strike_id": claim_id}
                    item.evidence.append(
                        (articles.get(c["article_id"], {}), mark_text(c["evidence"], _figure_marks(c)))
                    )
            # the lowest figure, as ACLED keeps when sources conflict: the analyst edits it to the right one
            item.snippet = snippet("event_id", e["event_id"], {f: lo for f, (lo, _) in figures.items()}, today)
            items.append(item)
        if e["kind"] == "talks" and not report.is_known(e["date"]):
            item = Item("no_date", "round", "event_id", e["event_id"], f"{e['place']}: no date in any report")
            for claim_id in e["claim_ids"]:
                t = by_talk.get(claim_id)
                if t is not None:
                    item.evidence.append((articles.get(t["article_id"], {}), mark_text(t["evidence"], [e["place"]])))
            item.snippet = snippet("event_id", e["event_id"], {"date": "YYYY-MM-DD"}, today)
            items.append(item)
    sentences = tables["sentences"].set_index(["article_id", "sentence_idx"])[["text"]].to_dict("index")
    for _, row in quotes[quotes["article_id"].isin(originals)].iterrows():
        q = row.to_dict()
        if not report.is_known(q.get("speaker")):
            item = Item("no_speaker", "quote", "quote_id", q["quote_id"], "no speaker found")
            speaker = "SPEAKER"
        elif q["confidence"] < min_confidence:
            reason = f"speaker {q['speaker']}, confidence {q['confidence']:.2f} ({q['confidence_basis']})"
            item, speaker = Item("low_confidence", "quote", "quote_id", q["quote_id"], reason), q["speaker"]
        else:
            continue
        sentence = sentences.get((q["article_id"], q["sentence_idx"]), {"text": q["text"]})
        item.evidence.append((articles.get(q["article_id"], {}), mark_text(sentence["text"], [q["text"]])))
        item.snippet = snippet("quote_id", q["quote_id"], {"speaker": speaker}, today)
        items.append(item)
    return items


def _strike_values(row: Row) -> dict[str, Any]:
    """A claim's place, date and figures as the machine read them: the values a ``set`` entry starts from."""
    values: dict[str, Any] = {"place": row.get("place"), "date": row.get("date")}
    values.update({f: int(row[f]) for f in schemas.FIGURES if report.is_known(row.get(f))})
    return {k: v for k, v in values.items() if report.is_known(v)}


def _figure_marks(row: Row) -> list[str]:
    """The figures of a claim as they may be written in its sentence ("370", "1,200")."""
    marks = []
    for f in schemas.FIGURES:
        if report.is_known(row.get(f)):
            value = int(row[f])
            marks += [str(value), f"{value:,}"]
    return marks


def mark_text(text: str, marks: list[str]) -> str:
    """``text`` escaped, with every whole-word occurrence of ``marks`` wrapped in ``<mark>``."""
    wanted = sorted({m for m in marks if m}, key=len, reverse=True)
    if not wanted:
        return html.escape(text)
    pattern = re.compile(r"(?<![\w,])(?:" + "|".join(re.escape(m) for m in wanted) + r")(?![\w]|,\d)", re.IGNORECASE)
    out, last = [], 0
    for m in pattern.finditer(text):
        out += [html.escape(text[last : m.start()]), f"<mark>{html.escape(m.group())}</mark>"]
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def snippet(id_column: str, row_id: str, values: dict[str, Any], today: dt.date) -> str:
    """A corrections-file entry for one row, to paste and edit: ``set`` with the values to check, and the
    other actions in a comment."""
    entry = {
        id_column: row_id,
        "action": "set",
        "set": dict(values),
        "note": "why",
        "by": "who",
        "date": today,
    }
    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, default_flow_style=None)
    return (
        text
        + "# or: action: reject (and no set)"
        + ("; same_event / different_event with: another claim id" if id_column in ("strike_id", "talk_id") else "")
    )


_CSS = """
body {font-family: sans-serif; max-width: 1100px; margin: 20px auto; padding: 0 12px; color: #222;}
.item {border: 1px solid #ccc; border-radius: 4px; padding: 8px 12px; margin: 10px 0;}
.item h3 {font-size: 15px; margin: 0 0 6px 0;}
.id {font-family: monospace;}
.source {color: #555; font-size: 13px;}
.sentence {margin: 4px 0 8px 0;}
mark {background: #ffe08a; padding: 0 2px;}
pre {background: #f5f5f5; padding: 6px 8px; overflow-x: auto; font-size: 12px;}
"""


def _source_html(article: Row) -> str:
    published = article.get("published")
    return report.source_link(article) + (html.escape(f", {published}") if report.is_known(published) else "")


def review_html(items: list[Item], min_confidence: float, as_of: str) -> str:
    """The review page for ``items``, every text escaped."""
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Review</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>What needs a person</h1>",
        f"<p>{html.escape(as_of or 'datasets')} · claims below confidence {min_confidence:g}. Paste a snippet "
        "into the corrections file (<code>corrections.yaml</code> beside the seeds folder, or "
        "<code>--corrections FILE</code>), edit it, and run again.</p>",
        "<ul>",
    ]
    counts = section_counts(items)
    parts += [
        f'<li><a href="#{key}">{html.escape(title)}</a>: {counts[key]}</li>' for key, (title, _) in SECTIONS.items()
    ]
    parts.append("</ul>")
    for key, (title, _) in SECTIONS.items():
        parts.append(f'<h2 id="{key}">{html.escape(title)} ({counts[key]})</h2>')
        if not counts[key]:
            parts.append("<p>Nothing here.</p>")
        for item in (i for i in items if i.section == key):
            parts.append(
                f'<div class="item" id="{key}-{html.escape(item.row_id)}"><h3>{html.escape(item.what)} '
                f'<span class="id">{html.escape(item.id_column)} {html.escape(item.row_id)}</span> · '
                f"{html.escape(item.reason)}</h3>"
            )
            for article, sentence in item.evidence:
                parts.append(f'<div class="source">{_source_html(article)}</div><div class="sentence">{sentence}</div>')
            parts.append(f"<pre>{html.escape(item.snippet)}</pre></div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_review(datasets: Path, reports_dir: Path, min_confidence: float) -> tuple[Path, dict[str, int]]:
    """Write ``reports_dir/review.html`` from ``datasets``; returns the page and the count of each section."""
    tables = report.load_tables(datasets, ["articles", "strikes", "talks", "quotes", "sentences", "events"])
    items = review_items(tables, min_confidence)
    reports_dir.mkdir(parents=True, exist_ok=True)
    page = reports_dir / "review.html"
    atomic_write(page, review_html(items, min_confidence, report.data_as_of(datasets)))
    return page, {SECTIONS[key][1]: n for key, n in section_counts(items).items()}
