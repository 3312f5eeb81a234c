"""The extraction rules: compiled from the data files, with clear errors for malformed ones."""

import re

import pytest

from pipeline.errors import RulesError
from pipeline.extract import rules as rules_module
from pipeline.extract.rules import load_rules


def test_the_rules_compile_from_every_file_and_no_file_carries_a_version_key():
    """What decides reuse is the files' content (ids.fingerprint), never a number bumped by hand."""
    import yaml

    from pipeline.ids import PACKAGE

    rules = load_rules()
    assert rules.figures is not None and rules.dates is not None
    data = sorted((PACKAGE / "data").rglob("*.yaml"))
    assert {f"{name}.yaml" for name in rules_module.FILES} <= {p.name for p in data}
    for path in data:
        assert "version" not in yaml.safe_load(path.read_text(encoding="utf-8")), path


def test_a_phrasing_is_a_data_change(monkeypatch):
    """Adding a verb of shooting down to figures.yaml is all it takes for a new phrasing to count."""
    from pipeline.extract import find_figures

    assert find_figures("Air defences swatted 30 drones.", load_rules())[0].field == "drones"
    original = rules_module.load_data_file

    def patched(name):
        data = original(name)
        if name == "extract/figures.yaml":
            data = {**data, "downed": [*data["downed"], "swatted"]}
        return data

    monkeypatch.setattr(rules_module, "load_data_file", patched)
    load_rules.cache_clear()
    try:
        assert find_figures("Air defences swatted 30 drones.", load_rules())[0].field == "drones_downed"
    finally:
        monkeypatch.undo()
        load_rules.cache_clear()


@pytest.mark.parametrize(
    ("file", "change", "message"),
    [
        (
            "figures",
            lambda d: {k: v for k, v in d.items() if k != "downed"},
            "extract/figures.yaml: missing key `downed`",
        ),
        (
            "figures",
            lambda d: {**d, "launched": ["fired", True]},
            "extract/figures.yaml: `launched` has non-text entries",
        ),
        ("figures", lambda d: {**d, "hit": ["struck("]}, "extract/figures.yaml: `hit`: bad pattern"),
        (
            "figures",
            lambda d: {**d, "first_verbs": {"killed": ["killing"]}},
            "extract/figures.yaml: `first_verbs` lacks",
        ),
        (
            "talks",
            lambda d: {**d, "grammar": {k: v for k, v in d["grammar"].items() if k != "definite"}},
            "extract/talks.yaml: `grammar` lacks ['definite']",
        ),
        (
            "sources",
            lambda d: {**d, "grammar": {**d["grammar"], "phrase_end": "[,;"}},
            "extract/sources.yaml: `grammar.phrase_end`: bad pattern",
        ),
        ("clauses", lambda d: {**d, "list_joiners": ["(and"]}, "extract/clauses.yaml: `list_joiners`: bad pattern"),
        (
            "calibration",
            lambda d: {**d, "talks": {"dated": {"right": 3, "of": 3}}},
            "extract/calibration.yaml: `talks` must list the kinds dated, no party named, undated",
        ),
        (
            "calibration",
            lambda d: {
                **d,
                "talks": {
                    "dated": {"right": 4, "of": 3},
                    "undated": {"right": 0, "of": 0},
                    "no party named": {"right": 0, "of": 0},
                },
            },
            "extract/calibration.yaml: `talks`: `right` must be between 0 and `of`",
        ),
        (
            "calibration",
            lambda d: {**d, "strike_places": {**d["strike_places"], "nationwide": {"of": 3}}},
            "extract/calibration.yaml: `strike_places`: each kind needs `right` and `of`",
        ),
        (
            "calibration",
            lambda d: {**d, "quotes": {k: v for k, v in d["quotes"].items() if k != "no attribution"}},
            "extract/calibration.yaml: `quotes` must list the kinds attribution beside the quote",
        ),
        ("calibration", lambda d: {k: v for k, v in d.items() if k != "confirmed"}, "missing key `confirmed`"),
        (
            "calibration",
            lambda d: {
                **d,
                "kind_of_place_source": {k: v for k, v in d["kind_of_place_source"].items() if k != "clause"},
            },
            "extract/calibration.yaml: `kind_of_place_source` must map each of",
        ),
        ("calibration", lambda d: {**d, "confirmed": 1.5}, "`confirmed` must be in (0, 1]"),
    ],
)
def test_a_malformed_rule_file_names_the_file_and_the_key(monkeypatch, file, change, message):
    original = rules_module.load_data_file

    def patched(name):
        data = original(name)
        return change(data) if name == f"extract/{file}.yaml" else data

    monkeypatch.setattr(rules_module, "load_data_file", patched)
    load_rules.cache_clear()
    try:
        with pytest.raises(RulesError, match=re.escape(message)):
            load_rules()
    finally:
        monkeypatch.undo()
        load_rules.cache_clear()
