"""Measuring the pipeline against hand-made answers: the gold scorer's metrics, and a per-article diff.

The metrics come from the gold scorer (``tests/gold/score.py``, the same file that scores the held-out
articles); this module loads it, and uses its matching rules (spelling variants, a city and its region
as one place, dates within a day) to lay the gold claims of each article beside the rows extracted:
what was found, what was missed, and what is extra.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.dataset as pads

from pipeline.errors import PipelineError
from pipeline.schemas import FIGURES

Row = dict[str, Any]

#: The scorer shipped with the gold answers of this repository.
DEFAULT_SCORER = Path(__file__).resolve().parent.parent / "tests" / "gold" / "score.py"

_TABLES = ("articles", "mentions", "strikes", "talks", "quotes")


def load_scorer(path: Path = DEFAULT_SCORER) -> ModuleType:
    """The gold scorer module at ``path`` (a ``score(datasets_dir, gold_json)`` function and its matchers)."""
    if not path.is_file():
        raise PipelineError(f"{path}: no gold scorer there (pass --scorer PATH)")
    spec = importlib.util.spec_from_file_location("gold_score", path)
    if spec is None or spec.loader is None:
        raise PipelineError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("score", "place_key", "person_key", "person_match", "source_match", "date_ok", "norm"):
        if not hasattr(module, name):
            raise PipelineError(f"{path}: the scorer has no `{name}`")
    return module


def load_gold(path: Path) -> list[Row]:
    """The gold answers: one object per article (see ``tests/gold/README.md``)."""
    try:
        gold = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: cannot read the gold answers ({exc})") from exc
    if not isinstance(gold, list) or not all(isinstance(g, dict) and "file" in g for g in gold):
        raise PipelineError(f"{path}: expected a JSON list of objects with a `file` key")
    return gold


def metrics(scorer: ModuleType, datasets: Path, gold_path: Path) -> tuple[dict[str, float], list[str]]:
    """Every metric of the scorer, and its notes (missing tables)."""
    scores, notes = scorer.score(str(datasets), str(gold_path))
    return dict(scores), list(notes)


def _rows(datasets: Path, table: str) -> list[Row]:
    path = datasets / table
    if not path.exists():
        path = datasets / f"{table}.parquet"  # a single file, as the scorer also accepts
        if not path.exists():
            return []
    return list(pads.dataset(str(path), format="parquet", partitioning="hive").to_table().to_pylist())


@dataclass(frozen=True)
class _Datasets:
    by_file: dict[str, Row]
    mentions: dict[str, list[Row]]
    strikes: dict[str, list[Row]]
    talks: dict[str, list[Row]]
    quotes: dict[str, list[Row]]


def _load(datasets: Path) -> _Datasets:
    tables = {t: _rows(datasets, t) for t in _TABLES}
    by_file: dict[str, Row] = {}
    for a in tables["articles"]:
        by_file.setdefault(Path(str(a["source_file"])).name, a)
    grouped: dict[str, dict[str, list[Row]]] = {}
    for t in ("mentions", "strikes", "talks", "quotes"):
        grouped[t] = {}
        for r in sorted(tables[t], key=lambda r: (r["start"], r.get("place") or r.get("venue") or "")):
            grouped[t].setdefault(str(r["article_id"]), []).append(r)
    return _Datasets(by_file, grouped["mentions"], grouped["strikes"], grouped["talks"], grouped["quotes"])


def _figures(row: Row) -> str:
    return " ".join(f"{f}={row[f]}" for f in FIGURES if row.get(f) is not None) or "(no figures)"


def _strike_line(row: Row) -> str:
    return (
        f"{row.get('place')} {row.get('date')} {_figures(row)} attacker={row.get('attacker')} "
        f"by={row.get('claimed_by')!r} [s{row.get('sentence_idx')}]"
    )


def _talk_line(row: Row, gold: bool = False) -> str:
    start, end = (row.get("start"), row.get("end")) if gold else (row.get("start_date"), row.get("end_date"))
    return (
        f"{row.get('venue')} {start}{'..' + str(end) if end else ''} {row.get('status')} "
        f"parties={sorted(row.get('parties') or [])} delegates={sorted(row.get('delegates') or [])}"
    )


def _extra(line: str, why: str, row: Row) -> list[str]:
    """A row the gold does not have, why, and the start of its evidence."""
    return [f"  XTRA row  {line}  <- {why}", f"             {row.get('evidence', '')[:160]!r}"]


def _at(scorer: ModuleType, row: Row, place: str, columns: tuple[str, ...]) -> bool:
    """Whether one of the row's ``columns`` names ``place``, as the scorer's place key compares them."""
    key = scorer.place_key(place)
    return any(scorer.place_key(row.get(c)) == key for c in columns if row.get(c))


def _diff_strikes(scorer: ModuleType, gold: list[Row], rows: list[Row]) -> list[str]:
    out: list[str] = []

    def at(row: Row, place: str) -> bool:
        return _at(scorer, row, place, ("place", "admin1"))

    for g in gold:
        matched = [r for r in rows if at(r, g["place"])]
        wanted = {f: g[f] for f in FIGURES if f in g}
        missed = {f: v for f, v in wanted.items() if not any(r.get(f) == v for r in matched)}
        source_ok = "claimed_by" not in g or any(
            scorer.source_match(r.get("claimed_by"), g["claimed_by"]) for r in matched
        )
        mark = "ok  " if matched and not missed and source_ok else "MISS"
        line = f"  {mark} gold {g['place']} {g.get('date')} {_figures(g)} by={g.get('claimed_by')!r}"
        if not matched:
            line += "  <- no row at this place"
        else:
            if missed:
                line += "  <- figures missed: " + ", ".join(f"{f}={v}" for f, v in missed.items())
            if not source_ok:
                line += "  <- source: " + ", ".join(sorted({repr(r.get("claimed_by")) for r in matched}))
        out.append(line)
    for r in rows:
        places_ok = any(at(r, g["place"]) for g in gold)
        wrong = [
            f
            for f in FIGURES
            if r.get(f) is not None and not any(at(r, g["place"]) and g.get(f) == r.get(f) for g in gold)
        ]
        if not places_ok or wrong:
            why = "place not in gold" if not places_ok else "figures not in gold: " + ", ".join(wrong)
            out += _extra(_strike_line(r), why, r)
    return out


def _diff_talks(scorer: ModuleType, gold: list[Row], rows: list[Row]) -> list[str]:
    out: list[str] = []
    for g in gold:
        cands = [
            r
            for r in rows
            if scorer.place_key(r.get("venue")) == scorer.place_key(g["venue"])
            and scorer.date_ok(r.get("start_date"), g.get("start"))
        ]
        problems = []
        if not cands:
            problems.append("no row with this venue and start")
        else:
            if not any((r.get("status") or "") == g["status"] for r in cands):
                problems.append("status " + ",".join(sorted({str(r.get("status")) for r in cands})))
            gp = {scorer.place_key(x) for x in g["parties"]}
            if not any({scorer.place_key(x) for x in r.get("parties") or []} == gp for r in cands):
                problems.append("parties")
            if g.get("end") and not any(
                r.get("end_date") is not None and scorer.date_ok(r.get("end_date"), g["end"]) for r in cands
            ):
                problems.append("end date")
            if g.get("delegates") and not any(
                {scorer.person_key(p)[1] for p in r.get("delegates") or []}
                == {scorer.person_key(p)[1] for p in g["delegates"]}
                for r in cands
            ):
                problems.append("delegates")
        mark = "MISS" if problems else "ok  "
        out.append(f"  {mark} gold {_talk_line(g, gold=True)}" + (f"  <- {'; '.join(problems)}" if problems else ""))
        for r in cands if problems else []:
            out.append(f"             got {_talk_line(r)}")
    for r in rows:
        if not any(scorer.place_key(r.get("venue")) == scorer.place_key(g["venue"]) for g in gold):
            out += _extra(_talk_line(r), "venue not in gold", r)
    return out


def _giving(scorer: ModuleType, quote: Row, rows: list[Row]) -> list[Row]:
    """The quote rows that give a gold quotation, as the scorer's quotes_found matches them."""
    key = " ".join(scorer.norm(quote["text"]).split()[:8])
    return [r for r in rows if key and key in scorer.norm(r.get("text") or "")]


def _diff_quotes(scorer: ModuleType, gold: list[Row], rows: list[Row]) -> list[str]:
    out: list[str] = []
    for g in gold:
        found = _giving(scorer, g, rows)
        if not found:
            out.append(f"  MISS quote {g['text'][:60]!r} ({g.get('speaker')}) <- not found")
        elif not any(scorer.source_match(r.get("speaker"), g.get("speaker")) for r in found):
            got = ", ".join(sorted({repr(r.get("speaker")) for r in found}))
            out.append(f"  MISS quote {g['text'][:60]!r} speaker {g.get('speaker')!r} <- got {got}")
    return out


def _diff_entities(scorer: ModuleType, gold: Row, mentions: list[Row]) -> list[str]:
    out: list[str] = []
    for label, key, same in (
        ("PERSON", "people", scorer.person_match),
        ("PLACE", "places", lambda p, g: scorer.place_key(p) == scorer.place_key(g)),
    ):
        found = sorted({str(m["name"]) for m in mentions if m["label"] == label})
        missed = [g for g in gold.get(key, []) if not any(same(p, g) for p in found)]
        extra = [p for p in found if not any(same(p, g) for g in gold.get(key, []))]
        if missed:
            out.append(f"  MISS {key}: " + ", ".join(missed))
        if extra:
            out.append(f"  XTRA {key}: " + ", ".join(extra))
    return out


def diff(scorer: ModuleType, datasets: Path, gold: Iterable[Row]) -> list[str]:
    """Per article, the gold claims beside the rows extracted: ``ok``, ``MISS`` (with why) and ``XTRA`` lines."""
    data = _load(datasets)
    lines: list[str] = []
    for g in gold:
        article = data.by_file.get(g["file"])
        if article is None:
            lines += [f"{g['file']}", "  MISS the article was not ingested"]
            continue
        aid = str(article["article_id"])
        body = [
            *_diff_entities(scorer, g, data.mentions.get(aid, [])),
            *_diff_strikes(scorer, g.get("strikes", []), data.strikes.get(aid, [])),
            *_diff_talks(scorer, g.get("talks", []), data.talks.get(aid, [])),
            *_diff_quotes(scorer, g.get("quotes", []), data.quotes.get(aid, [])),
        ]
        body += [f"  MISS body keeps {s!r}" for s in g.get("in_body", []) if s not in article["body"]]
        body += [f"  MISS body drops {s!r}" for s in g.get("not_in_body", []) if s in article["body"]]
        lines.append(g["file"])
        lines += body or ["  (nothing to report)"]
    return lines


# --------------------------------------------------------------------------- calibration


#: The rule families whose confidence is measured, as :mod:`pipeline.extract.rules` calibrates them.
FAMILIES = ("strike_figures", "strike_places", "talks", "quotes")
#: Confidence buckets of the calibration table: [low, high).
BUCKETS = ((0.0, 0.5), (0.5, 0.6), (0.6, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 1.01))


@dataclass(frozen=True)
class Judged:
    """One scored answer: a figure of a strike row, a strike row with no figure, a talks row, or the speaker
    of a quote row that gives a gold quotation."""

    family: str
    basis: str
    confidence: float
    right: bool


@dataclass
class Calibration:
    """What the rows of a gold set's articles claim (with their confidence) and how many of them are right,
    the way the gold scorer counts; and for each gold answer, the confidences of the rows that give it."""

    judged: list[Judged]
    recovered: dict[str, list[list[float]]]  # family -> one list per gold answer

    def lines(self, threshold: float) -> list[str]:
        out: list[str] = []
        for family in FAMILIES:
            rows = [j for j in self.judged if j.family == family]
            gold = self.recovered.get(family)
            right = sum(j.right for j in rows)
            head = f"{family}: {len(rows)} answers, {right} right ({_share(right, len(rows))})"
            if gold is not None:
                found = sum(1 for confs in gold if confs)
                head += f"; {found} of {len(gold)} gold answers found ({_share(found, len(gold))})"
            out += [head, f"  {'confidence':<12}{'answers':>8}{'right':>7}{'precision':>11}"]
            for low, high in BUCKETS:
                inside = [j for j in rows if low <= j.confidence < high]
                if inside:
                    hits = sum(j.right for j in inside)
                    label = f"{low:.1f}-{min(high, 1.0):.1f}"
                    out.append(f"  {label:<12}{len(inside):>8}{hits:>7}{_share(hits, len(inside)):>11}")
            out.append(f"  {'evidence kind':<32}{'answers':>8}{'right':>7}{'precision':>11}")
            for basis in sorted({j.basis for j in rows}):
                inside = [j for j in rows if j.basis == basis]
                hits = sum(j.right for j in inside)
                out.append(f"  {basis:<32}{len(inside):>8}{hits:>7}{_share(hits, len(inside)):>11}")
            kept, hits, found = self.at(family, threshold)
            line = f"  at confidence >= {threshold:g}: {kept} answers, precision {_share(hits, kept)}"
            if gold is not None:
                line += f", {found} of {len(gold)} gold answers found ({_share(found, len(gold))})"
            out += [line, ""]
        return out[:-1]

    def at(self, family: str, threshold: float) -> tuple[int, int, int]:
        """The answers of ``family`` at or above ``threshold``, how many are right, and how many gold
        answers they give."""
        kept = [j for j in self.judged if j.family == family and j.confidence >= threshold]
        found = sum(1 for confs in self.recovered.get(family, []) if any(c >= threshold for c in confs))
        return len(kept), sum(j.right for j in kept), found

    def confirmed(self, family: str, threshold: float) -> dict[str, float]:
        """Precision and the share of gold answers found at ``threshold`` (absent where nothing is counted)."""
        kept, hits, found = self.at(family, threshold)
        gold = len(self.recovered.get(family, []))
        out = {}
        if kept:
            out["precision"] = hits / kept
        if gold:
            out["found"] = found / gold
        return out


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "-"


def confirmed_scores(scorer: ModuleType, datasets: Path, gold: Iterable[Row]) -> dict[str, float]:
    """What a user keeps of the strike figures at the confirmed level (calibration.yaml): their precision
    (``confirmed_figures_precision``) and the share of the gold's figures they give (``..._found``)."""
    from pipeline.extract import load_rules

    level = load_rules().calibration.confirmed
    kept = calibration(scorer, datasets, gold).confirmed("strike_figures", level)
    return {f"confirmed_figures_{k}": round(v, 3) for k, v in kept.items()}


def calibration(scorer: ModuleType, datasets: Path, gold: Iterable[Row]) -> Calibration:
    """Every strike figure, figureless strike row and talks row of the gold's articles, judged as the gold
    scorer judges them (strike_facts_precision, strike_places_precision, talks_precision), with its
    confidence and evidence kind; and, per gold figure and meeting, the confidences of the rows giving it
    (strike_facts_recall, talks_recall)."""
    from pipeline.extract import load_rules

    data = _load(datasets)
    judged: list[Judged] = []
    recovered: dict[str, list[list[float]]] = {"strike_figures": [], "talks": [], "quotes": []}
    kind_of = load_rules().calibration.kind_of_place_source

    def strike_basis(row: Row) -> str:  # rows written before the column was: from how the place was found
        return str(row.get("confidence_basis") or kind_of.get(row.get("place_source") or "none", "?"))

    def talk_basis(row: Row) -> str:
        return str(row.get("confidence_basis") or ("dated" if row.get("start_date") else "undated"))

    def at(row: Row, place: str) -> bool:  # the scorer's match of a row to a gold claim's place
        return _at(scorer, row, place, ("place", "admin1", "country_name", "country"))

    def quote_basis(row: Row) -> str:
        return str(row.get("confidence_basis") or "?")

    for g in gold:
        article = data.by_file.get(g["file"])
        aid = str(article["article_id"]) if article is not None else ""
        strikes, talks = data.strikes.get(aid, []), data.talks.get(aid, [])
        claims = g.get("strikes", [])
        for r in strikes:
            basis, conf = strike_basis(r), float(r.get("confidence") or 0.0)
            stated = [f for f in FIGURES if r.get(f) is not None]
            for f in stated:
                right = any(at(r, c["place"]) and c.get(f) == r[f] for c in claims)
                judged.append(Judged("strike_figures", basis, conf, right))
            if not stated:
                judged.append(Judged("strike_places", basis, conf, any(at(r, c["place"]) for c in claims)))
        for c in claims:
            for f in FIGURES:
                if f in c:
                    confs = [
                        float(r.get("confidence") or 0.0) for r in strikes if at(r, c["place"]) and r.get(f) == c[f]
                    ]
                    recovered["strike_figures"].append(confs)
        meetings = g.get("talks", [])
        for r in talks:
            right = any(scorer.place_key(r.get("venue")) == scorer.place_key(m["venue"]) for m in meetings)
            judged.append(Judged("talks", talk_basis(r), float(r.get("confidence") or 0), right))
        for m in meetings:
            recovered["talks"].append(
                [
                    float(r.get("confidence") or 0.0)
                    for r in talks
                    if scorer.place_key(r.get("venue")) == scorer.place_key(m["venue"])
                    and scorer.date_ok(r.get("start_date"), m.get("start"))
                ]
            )
        quotes = data.quotes.get(aid, [])
        for q in g.get("quotes", []):
            found = _giving(scorer, q, quotes)
            for r in found:
                right = scorer.source_match(r.get("speaker"), q.get("speaker"))
                judged.append(Judged("quotes", quote_basis(r), float(r.get("confidence") or 0.0), right))
            recovered["quotes"].append(
                [
                    float(r.get("confidence") or 0.0)
                    for r in found
                    if scorer.source_match(r.get("speaker"), q.get("speaker"))
                ]
            )
    return Calibration(judged, recovered)
