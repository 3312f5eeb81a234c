"""The extraction rules: compiled from the data files, with clear errors for malformed ones."""

import pytest

from pipeline.errors import RulesError
from pipeline.extract import rules as rules_module
from pipeline.extract.rules import load_rules


def test_the_rules_compile_and_carry_a_version_of_every_file():
    rules = load_rules()
    for name in rules_module.FILES:
        assert f"{name}-" in rules.version
    assert "dates-" in rules.version


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
    ("change", "message"),
    [
        (lambda d: {k: v for k, v in d.items() if k != "downed"}, "extract/figures.yaml: missing key `downed`"),
        (lambda d: {**d, "launched": ["fired", True]}, "extract/figures.yaml: `launched` has non-text entries"),
        (lambda d: {**d, "hit": ["struck("]}, "extract/figures.yaml: `hit`: bad pattern"),
    ],
)
def test_a_malformed_rule_file_names_the_file_and_the_key(monkeypatch, change, message):
    original = rules_module.load_data_file

    def patched(name):
        data = original(name)
        return change(data) if name == "extract/figures.yaml" else data

    monkeypatch.setattr(rules_module, "load_data_file", patched)
    load_rules.cache_clear()
    try:
        with pytest.raises(RulesError, match=message.replace("(", r"\(").replace("`", "`")):
            load_rules()
    finally:
        monkeypatch.undo()
        load_rules.cache_clear()
