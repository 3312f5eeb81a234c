"""The rule corpora: for each rule family, short sentences written for it in several wordings, each with
the rows it must give, and near misses that must give nothing (or leave a field blank). One file a family
in tests/corpus/; every example is a test, so a rule fitted to one sentence shows where it breaks another."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from .extract_helpers import extract

CORPUS = Path(__file__).resolve().parent / "corpus"
TABLES = {"strikes": 0, "talks": 1, "quotes": 2}
KEYS = {"strikes": "place", "talks": "venue", "quotes": "text"}


def _cases() -> list[Any]:
    cases = []
    for path in sorted(CORPUS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for kind in ("examples", "near_misses"):
            for n, case in enumerate(spec.get(kind) or [], 1):
                cases.append(pytest.param(case, id=f"{spec['family']}-{kind}-{n}"))
    return cases


def _found(rows: list[dict[str, Any]], table: str, want: dict[str, Any]) -> list[dict[str, Any]]:
    key = KEYS[table]
    if table == "quotes":
        return [r for r in rows if str(want[key]) in str(r[key])]
    return [r for r in rows if r[key] == want[key]]


@pytest.mark.parametrize("case", _cases())
def test_corpus(case):
    published = case.get("published", dt.date(2026, 3, 11))
    if isinstance(published, str):
        published = dt.date.fromisoformat(published)
    out = extract(case["text"], published)
    checked = False
    for table, index in TABLES.items():
        if table not in case:
            continue
        checked = True
        rows, wanted = out[index], case[table]
        if not wanted:  # a near miss that must give no row at all
            assert rows == [], rows
            continue
        for want in wanted:
            found = _found(rows, table, want)
            assert found, f"no {table} row for {want[KEYS[table]]!r}: {[r[KEYS[table]] for r in rows]}"
            fields = {k: v for k, v in want.items() if k != KEYS[table]}
            assert any(all(r.get(k) == v for k, v in fields.items()) for r in found), (
                want,
                [{k: r.get(k) for k in fields} for r in found],
            )
        if case.get("only"):
            assert len(rows) == len(wanted), rows
    assert checked, "a corpus case must say which rows it expects"


def test_every_family_has_examples_and_near_misses():
    for path in sorted(CORPUS.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert spec["family"] == path.stem
        assert len(spec.get("examples") or []) >= 3 and spec.get("near_misses"), path.name
