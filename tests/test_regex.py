"""Rule patterns compiled with a guard of their first characters: quicker, and the same matches."""

import dataclasses
import re
from pathlib import Path

import pytest

from pipeline import clean, regex
from pipeline.dates import load_date_rules
from pipeline.extract.rules import load_rules

ROOT = Path(__file__).resolve().parents[1]
_GUARD = re.compile(r"^(\(\?[aiLmsux]+\))?\(\?=\[[^\]]*\]\)\(\?:")


@pytest.mark.parametrize(
    ("expr", "flags", "guard"),
    [
        (r"\b(?:may|june)\b", 0, "[\\x6a\\x6d]"),
        (r"(?<![\w.])(?:\d+|five)\s+drones", 0, "[\\d\\x66]"),
        (r",?\s+while\b|;", 0, "[\\s\\x2c\\x3b]"),
        (r"\b(?:Kyiv|kiev)", re.IGNORECASE, "[\\x4b\\x6b]"),
        (r"(?i)\bweekend\b", 0, "[\\x77]"),
        (r"[0-9]+ drones", 0, "[\\x30-\\x39]"),  # a repeat: re does not skip to its class
    ],
)
def test_a_guard_holds_every_first_character(expr, flags, guard):
    assert regex.first_chars(expr, flags) == guard
    assert regex.compile(expr, flags).pattern.count(guard) == 1


@pytest.mark.parametrize(
    "expr",
    [
        r"drones",  # opens with a literal: re skips to it already
        r"[0-9] drones",  # opens with a class
        r"^\s*said\b",  # anchored
        r"\b\w+ said",  # any word character
        r"\s*(?:x)?",  # can match nothing
        r"\b(?i:kyiv)",  # flags change inside
        r"\b.+",  # any character
    ],
)
def test_no_guard_where_it_cannot_help(expr):
    assert regex.first_chars(expr) is None
    assert regex.compile(expr).pattern == expr


def test_global_inline_flags_stay_first():
    pattern = regex.compile(r"(?i)\b(?:monday|friday)\b")
    assert pattern.pattern.startswith("(?i)(?=[")
    assert pattern.search("on FRIDAY night").group(0) == "FRIDAY"


def _patterns(obj, depth=0):
    if isinstance(obj, re.Pattern):
        yield obj
    elif depth < 7 and dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _patterns(getattr(obj, f.name), depth + 1)
    elif depth < 7 and isinstance(obj, (list, tuple)):
        for x in obj:
            yield from _patterns(x, depth + 1)
    elif depth < 7 and isinstance(obj, dict):
        for x in obj.values():
            yield from _patterns(x, depth + 1)


def _texts():
    files = [*sorted((ROOT / "seeds").iterdir()), *sorted((ROOT / "tests/gold/dev/articles").iterdir())]
    out = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        out += lines + [line.lower() for line in lines]
    return out


def test_every_guarded_rule_pattern_matches_as_it_would_without_its_guard():
    patterns = [*_patterns(load_rules()), *_patterns(load_date_rules()), *_patterns(clean.load_rules())]
    guarded = [(p, _GUARD.match(p.pattern)) for p in patterns]
    guarded = [(p, m) for p, m in guarded if m]
    assert len(guarded) > 50
    texts = _texts()
    for pattern, m in guarded:
        plain = re.compile((m.group(1) or "") + pattern.pattern[m.end() : -1], pattern.flags)
        for text in texts:
            got = [(x.span(), x.groups()) for x in pattern.finditer(text)]
            want = [(x.span(), x.groups()) for x in plain.finditer(text)]
            assert got == want, (pattern.pattern[:80], text[:80])
