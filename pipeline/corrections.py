"""Analysts' corrections: decisions in a YAML file, applied on every run after extraction and before
reconciliation.

Each entry names one row by its id, says what to do with it, and who decided and why::

    - strike_id: 5c1f0e9a2b7d4e6f8a10
      action: set
      set: {killed: 3, place: Kharkiv}
      note: the regional governor's later count
      by: analyst initials
      date: 2026-12-01

The ids are content hashes, so an entry keeps applying while its article is unchanged; when the article
changes or goes, the entry is *unmatched* and the run says so. A row keeps what the machine said: each
change is recorded on the row (``corrections``, with the value before and after) and in the
``corrections_applied`` dataset, and a row is always corrected from its machine values, so removing an
entry restores them.

The file's shape is declared once, below (:data:`TARGETS`, :data:`ACTIONS`, :data:`SETTABLE`,
:data:`CHOICES`): an entry that does not fit is skipped with a message naming it and the reason, and the
run goes on with the others. Pure functions over values and Arrow tables; the flow does the I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from pipeline import schemas, yamltext
from pipeline.gazetteer import Gazetteer, geo_precision, load_gazetteer
from pipeline.ids import stable_id
from pipeline.reconcile import STATUS_RANK
from pipeline.yamltext import shown

Row = dict[str, Any]

#: The id an entry names, and the table of the row it names.
TARGETS = {
    "strike_id": "strikes",
    "talk_id": "talks",
    "quote_id": "quotes",
    "article_id": "articles",
    "event_id": "events",
}
ID_COLUMN = {table: column for column, table in TARGETS.items()}
#: Tables whose rows carry ``rejected``, ``corrected`` and ``corrections``.
ROW_TABLES = ("articles", "strikes", "talks", "quotes")
#: What an entry may do; ``same_event`` and ``different_event`` take a second claim in ``with``.
ACTIONS = ("reject", "set", "same_event", "different_event")
LINKS = ("same_event", "different_event")
LINK_TARGETS = ("strike_id", "talk_id")
#: The fields ``set`` may change, by table (an event's figure sets its minimum and maximum).
SETTABLE: dict[str, tuple[str, ...]] = {
    "strikes": ("date", "place", "attacker", "claimed_by", "weapons", "targets", *schemas.FIGURES),
    "talks": ("venue", "start_date", "end_date", "status", "parties", "mediators", "delegates", "format"),
    "quotes": ("speaker", "channel"),
    "articles": ("outlet", "title", "authors", "url"),
    "events": ("date", "end_date", "place", "attacker", "status", "parties", *schemas.FIGURES),
}
#: Fields whose value must be one of these.
CHOICES: dict[str, tuple[str, ...]] = {
    "attacker": ("Russia", "Ukraine"),
    "status": tuple(STATUS_RANK),
    "format": ("bilateral", "trilateral", "multilateral"),
}
#: Fields naming a place: the value must be in the gazetteer, and the location columns (LOCATION) follow it.
PLACE_FIELDS = {"strikes": "place", "talks": "venue", "events": "place"}
LOCATION = {
    "strikes": ("country", "admin1", "admin1_code", "lat", "lon"),
    "talks": ("country",),
    "events": ("country", "admin1", "admin1_code", "lat", "lon"),
}
#: Columns a correction changes only because another changed (see :func:`change_row`).
FOLLOWING = {*LOCATION["strikes"], "geo_precision", "hedges", "has_figures"}
_ENTRY_KEYS = {"id", *TARGETS, "action", "set", "with", "note", "by", "date"}


@dataclass(frozen=True)
class Correction:
    """One valid entry of the corrections file."""

    correction_id: str
    entry: int  # its position in the file, from 1
    target: str  # a key of TARGETS
    target_id: str
    action: str
    values: tuple[tuple[str, Any], ...] = ()  # ``set``: (field, value), in the file's order
    other: str | None = None  # ``same_event`` / ``different_event``: the second claim
    note: str | None = None
    by: str | None = None
    date: dt.date | None = None

    @property
    def table(self) -> str:
        return TARGETS[self.target]

    def describe(self) -> str:
        return f"entry {self.entry} ({self.target} {self.target_id})"


@dataclass
class Book:
    """The valid corrections of one file, indexed for applying, and what was wrong with the others."""

    path: str | None = None
    sha256: str | None = None
    corrections: list[Correction] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unreadable: bool = False  # the whole file could not be read or parsed (not one entry)
    raw: bytes = field(default=b"", repr=False)  # the file's bytes, as read

    @property
    def key(self) -> str:
        """A digest of what the corrections do ("" when there are none): a run whose key differs from the
        last run's rewrites the rows either run corrected."""
        if not self.corrections:
            return ""
        return hashlib.sha256(
            json.dumps([dataclasses.astuple(c) for c in self.corrections], default=str).encode()
        ).hexdigest()

    def by_id(self) -> dict[str, Correction]:
        return {c.correction_id: c for c in self.corrections}

    def for_table(self, table: str) -> list[Correction]:
        return [c for c in self.corrections if c.table == table and c.action not in LINKS]

    def rejected_articles(self) -> list[Correction]:
        return [c for c in self.corrections if c.target == "article_id" and c.action == "reject"]

    def links(self) -> list[Correction]:
        return [c for c in self.corrections if c.action in LINKS]

    def targets(self, table: str) -> set[str]:
        """Ids of ``table``'s rows that some correction names (links name two)."""
        ids = {c.target_id for c in self.corrections if c.table == table}
        return ids | {c.other for c in self.corrections if c.table == table and c.other}


# --------------------------------------------------------------------------- reading the file


def default_path(seeds_dir: Path) -> Path:
    """``corrections.yaml`` beside the seeds folder."""
    return seeds_dir.resolve().parent / "corrections.yaml"


def file_for(seeds_dir: Path, given: Path | None) -> Path | None:
    """The corrections file a run reads: the one given, else ``corrections.yaml`` beside the seeds folder
    when there is one, else none."""
    if given is not None:
        return given
    default = default_path(seeds_dir)
    return default if default.is_file() else None


def load_book(path: Path | None, gaz: Gazetteer | None = None) -> Book:
    """The corrections of ``path`` (an empty book for None). An entry that is malformed is left out with a
    problem naming it and the reason; a file that cannot be read or parsed gives an empty book and one
    problem. Never raises for what is in the file."""
    if path is None:
        return Book()
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Book(
            str(path), problems=[f"{path}: cannot read the corrections file ({exc.strerror or exc})"], unreadable=True
        )
    book = Book(str(path), hashlib.sha256(data).hexdigest(), raw=data)
    try:
        loaded = yamltext.load(data.decode("utf-8"))
    except yamltext.AliasError as exc:
        book.problems.append(f"{path}: {exc} in the corrections file")
        book.unreadable = True
        return book
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        book.problems.append(f"{path}: not a YAML file ({' '.join(str(exc).split())[:300]})")
        book.unreadable = True
        return book
    if isinstance(loaded, dict) and set(loaded) == {"corrections"}:
        loaded = loaded["corrections"]
    if loaded is None:
        return book
    if not isinstance(loaded, list):
        book.problems.append(f"{path}: expected a list of corrections (or `corrections:` and a list)")
        book.unreadable = True
        return book
    seen: dict[str, int] = {}
    for n, entry in enumerate(loaded, 1):
        try:
            correction = parse_entry(entry, n, gaz or load_gazetteer())
        except ValueError as exc:
            book.problems.append(f"{path}: entry {n}{_entry_label(entry)}: {exc}; skipped")
            continue
        if correction.correction_id in seen:
            book.problems.append(
                f"{path}: entry {n}{_entry_label(entry)}: the same correction as entry "
                f"{seen[correction.correction_id]} (id {correction.correction_id}); skipped"
            )
            continue
        seen[correction.correction_id] = n
        book.corrections.append(correction)
    return book


def with_fallback(book: Book, last_good: Path, gaz: Gazetteer | None = None) -> Book:
    """``book``, or when its file could not be read or parsed at all, the corrections of ``last_good`` (the
    copy of the last file a run could read), so that one slip in the file does not undo every decision
    in the datasets and reports; the problem says so. Without such a copy: ``book``, with no correction."""
    if not book.unreadable:
        return book
    if not last_good.is_file():
        return Book(
            book.path, book.sha256, problems=[f"{p}; no correction applied" for p in book.problems], unreadable=True
        )
    kept = load_book(last_good, gaz)
    kept.path, kept.unreadable = book.path, True
    kept.problems = [
        f"{p}; the corrections of the last run that could read it are applied instead" for p in book.problems
    ]
    return kept


def _entry_label(entry: Any) -> str:
    if isinstance(entry, dict):
        for key in TARGETS:
            if isinstance(entry.get(key), str):
                label = entry[key] if len(entry[key]) <= 40 else entry[key][:37] + "..."
                return f" ({key} {label})"
    return ""


def parse_entry(entry: Any, n: int, gaz: Gazetteer) -> Correction:
    """One entry of the file as a Correction; ValueError says what is wrong with it."""
    if not isinstance(entry, dict):
        raise ValueError(f"expected a mapping of keys (strike_id, action, ...), not {type(entry).__name__}")
    unknown = sorted(str(k)[:30] for k in entry if k not in _ENTRY_KEYS)
    if unknown:
        raise ValueError(f"unknown key {', '.join(unknown[:5])}; the keys are {', '.join(sorted(_ENTRY_KEYS))}")
    named = [k for k in TARGETS if k in entry]
    if len(named) != 1:
        raise ValueError(f"name exactly one target id ({', '.join(TARGETS)}), not {len(named)}")
    target = named[0]
    target_id = _text(entry[target], target)
    action = entry.get("action")
    if action not in ACTIONS:
        raise ValueError(f"action {shown(action)} is not one of {', '.join(ACTIONS)}")
    table = TARGETS[target]
    values: tuple[tuple[str, Any], ...] = ()
    other = None
    if action == "set":
        spec = entry.get("set")
        if not isinstance(spec, dict) or not spec:
            raise ValueError("`set` needs the fields to change and their values, such as `set: {killed: 3}`")
        values = tuple((str(k), _value(table, str(k), v, gaz)) for k, v in spec.items())
    elif "set" in entry:
        raise ValueError(f"`set` goes with action set, not {action}")
    if action in LINKS:
        if target not in LINK_TARGETS:
            raise ValueError(f"{action} names two claims by {' or '.join(LINK_TARGETS)}, not by {target}")
        other = _text(entry.get("with"), "with")
        if other == target_id:
            raise ValueError(f"{action} needs two different claims in {target} and with")
    elif "with" in entry:
        raise ValueError(f"`with` goes with same_event or different_event, not {action}")
    day = entry.get("date")
    if day is not None:
        day = _day(day, "date")
    given = entry.get("id")
    content = [target, target_id, action, [[k, _json(v)] for k, v in values], other]
    return Correction(
        correction_id=_text(given, "id") if given is not None else "c-" + stable_id(*map(json.dumps, content))[:12],
        entry=n,
        target=target,
        target_id=target_id,
        action=action,
        values=values,
        other=other,
        note=_optional_text(entry.get("note"), "note"),
        by=_optional_text(entry.get("by"), "by"),
        date=day,
    )


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string, not {shown(value)}")
    return value.strip()


def _optional_text(value: Any, key: str) -> str | None:
    """A free-text field (``note``, ``by``): text, or a number or day written as such; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date):
        raise ValueError(f"{key} must be text, not {type(value).__name__} {shown(value)}")
    return str(value)


def _day(value: Any, key: str) -> dt.date:
    """A day written as ``YYYY-MM-DD`` (a time after it is allowed and dropped)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        for parse in (dt.date.fromisoformat, lambda t: dt.datetime.fromisoformat(t).date()):
            try:
                return parse(text)
            except ValueError:
                continue
    raise ValueError(f"{key} must be a day, YYYY-MM-DD, that exists, not {shown(value)}")


def field_type(table: str, name: str) -> pa.DataType:
    """The Arrow type of a settable field (an event's figure: that of its minimum)."""
    if table == "events" and name in schemas.FIGURES:
        return schemas.EVENTS.field(f"{name}_min").type
    return schemas.TABLES[table].field(name).type


def _value(table: str, name: str, value: Any, gaz: Gazetteer) -> Any:
    """``value`` checked for the field ``name`` of ``table``, in the type the column holds."""
    if name not in SETTABLE[table]:
        raise ValueError(f"{shown(name)} cannot be set on {table}; the fields are {', '.join(SETTABLE[table])}")
    kind = field_type(table, name)
    if value is None:
        if name == PLACE_FIELDS.get(table) or name in ("status", "weapons", "targets", "parties"):
            raise ValueError(f"{name} cannot be cleared (reject the row instead)")
        return None
    if pa.types.is_integer(kind):
        most = 2 ** (kind.bit_width - (0 if pa.types.is_unsigned_integer(kind) else 1)) - 1
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            raise ValueError(f"{name} must be a whole number from 0 to {most:,}, not {shown(value)}")
        return value
    if pa.types.is_date(kind):
        return _day(value, name)
    if pa.types.is_list(kind):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValueError(f"{name} must be a list of names, such as [Russia, Ukraine], not {shown(value)}")
        return [v.strip() for v in value]
    text = _text(value, name)
    if name in CHOICES and text not in CHOICES[name]:
        raise ValueError(f"{name} must be one of {', '.join(CHOICES[name])}, not {shown(text)}")
    if name == PLACE_FIELDS.get(table):
        place = gaz.place_named(text)
        if place is None:
            raise ValueError(f"{name} {shown(text)} is not a place in the gazetteer (pipeline/data/gazetteer)")
        return place.name
    return text


# --------------------------------------------------------------------------- values as JSON


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=lambda v: v.isoformat())


def _from_json(text: str | None, kind: pa.DataType) -> Any:
    value = None if text is None else json.loads(text)
    if value is not None and pa.types.is_date(kind):
        return dt.date.fromisoformat(value)
    return value


# --------------------------------------------------------------------------- applying to rows


def apply(table: str, data: pa.Table, book: Book, gaz: Gazetteer | None = None) -> pa.Table:
    """``data`` (rows of ``table``, corrected or not by an earlier run) with the machine's values restored
    and ``book``'s corrections applied; every row gets ``rejected``, ``corrected`` and ``corrections``.

    Only the rows concerned become Python objects: those an earlier run corrected, those a correction
    names, and the claims of rejected articles."""
    id_column = ID_COLUMN[table]
    mine = book.for_table(table)
    rejected = {c.target_id: c for c in book.rejected_articles()} if table != "articles" else {}
    involved = pc.is_in(data[id_column], value_set=pa.array(sorted({c.target_id for c in mine}), pa.string()))
    if rejected:
        by_article = pc.is_in(data["article_id"], value_set=pa.array(sorted(rejected), pa.string()))
        involved = pc.or_(involved, by_article)
    earlier = pc.fill_null(pc.greater(pc.list_value_length(data["corrections"]), 0), False)
    involved = pc.fill_null(pc.or_(involved, earlier), False)
    rest = _defaults(data.filter(pc.invert(involved)))
    if not pc.any(involved).as_py():
        return rest
    by_row: dict[str, list[Correction]] = {}
    for c in mine:
        by_row.setdefault(c.target_id, []).append(c)
    types = {f.name: f.type for f in data.schema}
    rows = data.filter(involved).to_pylist()
    gaz = gaz or load_gazetteer()
    for row in rows:
        restore(row, types)
        changes: list[Row] = []
        if row["article_id"] in rejected:
            _record(row, "rejected", True, rejected[row["article_id"]].correction_id, changes)
        for c in by_row.get(row[id_column], []):
            change_row(table, row, c, gaz, changes)
        row["corrections"] = changes
        row["corrected"] = bool(changes)
    return pa.concat_tables([rest, pa.Table.from_pylist(rows, schema=data.schema)])


def _defaults(data: pa.Table) -> pa.Table:
    """Rows no correction touches: not rejected, not corrected, no changes."""
    n = data.num_rows
    for name, value in (("rejected", False), ("corrected", False), ("corrections", [])):
        i = data.schema.get_field_index(name)
        column = pa.array([value] * n, data.schema.field(name).type) if n else data.column(i)
        data = data.set_column(i, data.schema.field(name), column)
    return data


def restore(row: Row, types: dict[str, pa.DataType]) -> None:
    """Put back the machine's value of every field an earlier run's corrections changed, in ``row``."""
    for change in reversed(row.get("corrections") or []):
        row[change["field"]] = _from_json(change["before"], types[change["field"]])
    row.update(rejected=False, corrected=False, corrections=[])


def _record(row: Row, name: str, value: Any, correction_id: str, changes: list[Row]) -> None:
    changes.append(
        {"correction_id": correction_id, "field": name, "before": _json(row.get(name)), "after": _json(value)}
    )
    row[name] = value


def change_row(table: str, row: Row, c: Correction, gaz: Gazetteer, changes: list[Row]) -> None:
    """Apply one correction to one row (a claim, an article or an event), recording each field it changes:
    a new place brings its location columns, a new figure its ``has_figures`` and drops that figure's
    hedge. An event's figure sets its minimum and maximum."""
    if c.action == "reject":
        _record(row, "rejected", True, c.correction_id, changes)
        return
    for name, value in c.values:
        if table == "events" and name in schemas.FIGURES:
            _record(row, f"{name}_min", value, c.correction_id, changes)
            _record(row, f"{name}_max", value, c.correction_id, changes)
            continue
        _record(row, name, value, c.correction_id, changes)
        if name == PLACE_FIELDS.get(table):
            entity = gaz.place_named(value)
            assert entity is not None  # checked when the file was read
            located = entity.fields()
            for column in LOCATION[table]:
                if row.get(column) != located[column]:
                    _record(row, column, located[column], c.correction_id, changes)
            if table == "strikes":
                precision = geo_precision(entity.kind)
                if row.get("geo_precision") != precision:
                    _record(row, "geo_precision", precision, c.correction_id, changes)
        if table == "strikes" and name in schemas.FIGURES:
            hedges = [h for h in row.get("hedges") or [] if h["field"] != name]
            if hedges != (row.get("hedges") or []):
                _record(row, "hedges", hedges, c.correction_id, changes)
            has = any(row.get(f) is not None for f in schemas.FIGURES)
            if row.get("has_figures") != has:
                _record(row, "has_figures", has, c.correction_id, changes)


# --------------------------------------------------------------------------- the record of what changed


def applied_rows(table: str, rows: Iterable[Row], book: Book, run_id: str) -> list[Row]:
    """Rows of ``corrections_applied`` for corrected rows of ``table`` (each with its ``corrections``)."""
    known = book.by_id()
    out: list[Row] = []
    id_column = ID_COLUMN[table]
    for row in rows:
        for change in row["corrections"] or []:
            c = known.get(change["correction_id"])
            if c is None:  # cannot happen: every corrected row is corrected again by the current book
                continue
            out.append(
                {
                    **_about(c),
                    "table": table,
                    "row_id": row[id_column],
                    "article_id": row.get("article_id"),
                    "field": change["field"],
                    "before": change["before"],
                    "after": change["after"],
                    "run_id": run_id,
                }
            )
    return out


def _about(c: Correction) -> Row:
    return {
        "correction_id": c.correction_id,
        "action": c.action,
        "target": c.target,
        "target_id": c.target_id,
        "note": c.note,
        "by": c.by,
        "date": c.date,
    }


def link_rows(c: Correction, table: str, before: dict[str, str], after: dict[str, str], run_id: str) -> list[Row]:
    """Rows of ``corrections_applied`` for one link: the event each of its two claims was in without the
    links, and is in now (the same event when the link confirms what reconciliation did)."""
    return [
        {
            **_about(c),
            "table": table,
            "row_id": claim,
            "article_id": None,
            "field": "event_id",
            "before": _json(before.get(claim)),
            "after": _json(after.get(claim)),
            "run_id": run_id,
        }
        for claim in (c.target_id, c.other)
        if claim is not None
    ]


def event_rows(events: list[Row], book: Book, run_id: str, gaz: Gazetteer | None = None) -> tuple[list[Row], list[Row]]:
    """``events`` with the event-level corrections applied (a rejected event is left out), and their rows
    of ``corrections_applied``."""
    by_event: dict[str, list[Correction]] = {}
    for c in book.for_table("events"):
        by_event.setdefault(c.target_id, []).append(c)
    kept: list[Row] = []
    applied: list[Row] = []
    gaz = gaz or load_gazetteer()
    known = book.by_id()
    for event in events:
        changes: list[Row] = []
        event["rejected"] = False  # not a column of events: a rejected event is left out
        for c in by_event.get(event["event_id"], []):
            change_row("events", event, c, gaz, changes)
        for change in changes:
            applied.append(
                {
                    **_about(known[change["correction_id"]]),
                    "table": "events",
                    "row_id": event["event_id"],
                    "article_id": None,
                    **change,
                    "run_id": run_id,
                }
            )
        if changes:
            event["correction_ids"] = sorted({*event["correction_ids"], *(ch["correction_id"] for ch in changes)})
            event["corrected"] = event["confirmed"] = True
            event["conflicting"] = any(event[f"{f}_min"] != event[f"{f}_max"] for f in schemas.FIGURES)
        if not event.pop("rejected", False):
            kept.append(event)
    return kept, applied
