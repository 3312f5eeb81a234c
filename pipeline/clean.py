"""Cleaning: tidy the text, lift bylines and outlet into fields, drop boilerplate.

All the knowledge lives in ``data/boilerplate.yaml`` and ``data/outlets.yaml``;
this module only applies it. The functions are pure (text in, text out).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, TypeVar

import yaml

from pipeline import budget, regex
from pipeline.errors import RulesError

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")


T = TypeVar("T")


def load_data_file(name: str) -> dict[str, Any]:
    """Load one YAML data file shipped in ``pipeline/data``."""
    text = resources.files("pipeline").joinpath("data", name).read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    if not isinstance(loaded, dict):
        raise RulesError(f"{name}: expected a mapping at the top level")
    return loaded


def compile_data_files(compile_rules: Callable[..., T], *names: str) -> T:
    """``compile_rules`` of the YAML data files ``names``, loaded in that order; a key it finds missing or
    malformed is a :class:`RulesError` naming the files."""
    loaded = [load_data_file(name) for name in names]
    try:
        return compile_rules(*loaded)
    except (KeyError, TypeError, AttributeError) as exc:
        raise RulesError(f"{' or '.join(names)}: missing or malformed key {exc}") from exc


def word_pattern(items: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching any of ``items`` (regular expressions) as whole words."""
    return regex.compile(r"\b(?:" + "|".join(items) + r")\b", re.IGNORECASE)


def lower_word_pattern(items: Iterable[str]) -> re.Pattern[str]:
    """Like :func:`word_pattern`, for text the caller has lower-cased (about 2.5x faster than IGNORECASE)."""
    return regex.compile(r"\b(?:" + "|".join(items) + r")\b")


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    max_chars: int | None = None
    first_paragraphs: int | None = None


@dataclass(frozen=True)
class Rules:
    """Compiled cleaning rules; build with :func:`load_rules`."""

    drop: tuple[_Rule, ...]
    prefixes: tuple[_Rule, ...]
    suffixes: tuple[_Rule, ...]  # fused promos and wire tags at the end of a paragraph
    inline: tuple[_Rule, ...]  # credits anywhere in a paragraph
    byline: _Rule
    byline_separators: re.Pattern[str]
    byline_name: re.Pattern[str]
    byline_suffix: re.Pattern[str]
    byline_date: re.Pattern[str]
    bare_byline: re.Pattern[str]  # "Claire Heddle Miami Herald"
    outlet_words: frozenset[str]
    outlet_templates: tuple[str, ...]  # self-reference patterns; "{alias}" stands for an outlet's name
    any_outlet: re.Pattern[str]  # any outlet alias, on lower-cased text
    outlet_by_alias: dict[str, str]


def _compile_rule(spec: dict[str, Any]) -> _Rule:
    flags = 0 if spec.get("case_sensitive") else re.IGNORECASE
    try:
        pattern = regex.compile(spec["pattern"], flags)
    except (KeyError, re.error) as exc:
        raise RulesError(f"boilerplate rule {spec.get('name', '?')}: {exc}") from exc
    return _Rule(spec.get("name", spec["pattern"]), pattern, spec.get("max_chars"), spec.get("first_paragraphs"))


@functools.cache
def load_rules() -> Rules:
    """The cleaning rules from the package data files (loaded once per process)."""
    return compile_data_files(_compile_rules, "boilerplate.yaml", "outlets.yaml")


def _compile_rules(bp: dict[str, Any], ol: dict[str, Any]) -> Rules:
    by = bp["byline"]
    outlet_by_alias: dict[str, str] = {}
    for outlet in ol["outlets"]:
        for alias in [outlet["name"], *outlet.get("aliases", [])]:
            outlet_by_alias[alias.casefold()] = outlet["name"]
    aliases = sorted(outlet_by_alias, key=len, reverse=True)
    alias_rx = "|".join(re.escape(a) for a in aliases)
    any_outlet = regex.compile(r"(?<!\w)(?:" + alias_rx + r")(?!\w)")
    # "... said on Monday. - Reuters": a known outlet's name fused to the last sentence
    outlet_tag = {"name": "fused_outlet_name", "pattern": rf"(?<=[.!?\"”’])\s*[–—-]\s*(?:{alias_rx})\.?\s*$"}
    return Rules(
        drop=tuple(_compile_rule(s) for s in bp["drop_paragraphs"]),
        prefixes=tuple(_compile_rule(s) for s in bp["strip_prefixes"]),
        suffixes=tuple(_compile_rule(s) for s in [*bp["strip_suffixes"], outlet_tag]),
        inline=tuple(_compile_rule(s) for s in bp["strip_inline"]),
        byline=_compile_rule({"name": "byline", **by}),
        byline_separators=regex.compile(by["separators"]),
        byline_name=regex.compile(by["name_pattern"]),
        byline_suffix=regex.compile(by["strip_suffixes"]),
        byline_date=regex.compile(by["strip_date"], re.IGNORECASE),
        bare_byline=regex.compile(by["bare"]),
        outlet_words=frozenset(by["outlet_words"]),
        outlet_templates=tuple(ol["self_reference"]),
        any_outlet=any_outlet,
        outlet_by_alias=outlet_by_alias,
    )


@dataclass
class Cleaned:
    """The result of cleaning one article's text."""

    body: str
    authors: list[str] = field(default_factory=list)
    outlet: str | None = None
    removed: list[str] = field(default_factory=list)  # names of the rules that fired


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a text; lines inside a paragraph are joined with a space.

    A text with no blank lines at all but several lines is read as one paragraph a line
    (the way many saved pages and feeds come).
    """
    text = text.strip()
    if not text:
        return []
    blocks = _PARAGRAPH_BREAK.split(text) if "\n\n" in _SPACES.sub("", text) else text.split("\n")
    out = []
    for block in blocks:
        joined = " ".join(_SPACES.sub(" ", ln).strip() for ln in block.split("\n"))
        joined = _SPACES.sub(" ", joined).strip()
        if joined:
            out.append(joined)
    return out


def find_outlet(text: str, rules: Rules | None = None) -> str | None:
    """The outlet an article names as itself (dateline, wire tag, copyright, credits), if any."""
    rules = rules or load_rules()
    # The patterns are tried with only the aliases the text contains, found in one pass over the text,
    # each alias in a pattern of its own: one pattern per alias and template is compiled once per
    # process, where an alternation of the aliases present would be compiled for almost every article.
    present = {m.group(0) for m in rules.any_outlet.finditer(text.lower())}
    if not present:
        return None
    aliases = sorted(present, key=lambda a: (-len(a), a))
    for template in rules.outlet_templates:
        # the leftmost match, and at one position the longest alias: what one alternation would find
        first: re.Match[str] | None = None
        for alias in aliases:
            m = _outlet_pattern(template, alias).search(text)
            if m is not None and (first is None or m.start() < first.start()):
                first = m
        if first is not None:
            return rules.outlet_by_alias[first.group("alias").casefold()]
    return None


@functools.cache  # bounded by the rules: one per template and alias
def _outlet_pattern(template: str, alias: str) -> re.Pattern[str]:
    return regex.compile(template.replace("{alias}", f"(?P<alias>{re.escape(alias)})"), re.IGNORECASE | re.MULTILINE)


def parse_byline(paragraph: str, rules: Rules | None = None) -> tuple[list[str], str | None] | None:
    """Authors (and outlet) of a byline paragraph such as "By Jessie Yeung, Kosta Gak, CNN".

    Returns None when the paragraph is not a byline: every part must be a person's name or
    an outlet's name, so "By the end of the week, ..." stays in the text.
    """
    rules = rules or load_rules()
    m = rules.byline.pattern.match(paragraph)
    if not m:
        return None
    names = rules.byline_date.sub("", m.group("names").strip())
    names = rules.byline_suffix.sub("", names.strip().rstrip("."))
    authors: list[str] = []
    outlet: str | None = None
    for part in rules.byline_separators.split(names):
        part = part.strip()
        if not part:
            continue
        known = rules.outlet_by_alias.get(part.casefold())
        if known:
            outlet = outlet or known
        elif rules.byline_name.match(part):
            authors.append(part)
        else:
            return None
    return (authors, outlet) if authors or outlet else None  # "By AFP": a byline with no person


def parse_bare_byline(paragraph: str, rules: Rules | None = None) -> tuple[list[str], str] | None:
    """ "Claire Heddle Miami Herald": a name and an outlet with no "By", as some pages open; None otherwise."""
    rules = rules or load_rules()
    m = rules.bare_byline.match(paragraph.strip())
    if not m:
        return None
    outlet = m.group("outlet")
    known = rules.outlet_by_alias.get(outlet.casefold())
    if known is None and outlet.split()[-1] not in rules.outlet_words:
        return None
    return [m.group("name")], known or outlet


def clean_text(text: str, rules: Rules | None = None, authors: Iterable[str] = ()) -> Cleaned:
    """Clean one article body: bylines into ``authors``, boilerplate out, outlet found. ``authors``: those
    the file's metadata names, whose names alone in an opening paragraph are a byline too."""
    rules = rules or load_rules()
    paragraphs = split_paragraphs(unicodedata.normalize("NFC", _INVISIBLE.sub("", text)))
    result = Cleaned(body="", outlet=find_outlet("\n".join(paragraphs), rules))
    named = {a.casefold() for a in authors}
    kept: list[str] = []
    for idx, para in enumerate(paragraphs):
        budget.check()
        first = idx < (rules.byline.first_paragraphs or 1)
        if first and para.strip().casefold() in named:  # "Meemansa Shehkawat": the author's name alone
            result.removed.append("byline")
            continue
        if result.authors == [] and (first or idx == len(paragraphs) - 1):  # a byline opens or closes a story
            byline = parse_byline(para, rules) or (parse_bare_byline(para, rules) if idx == 0 else None)
            if byline is not None:
                result.authors, byline_outlet = byline
                result.outlet = result.outlet or byline_outlet
                result.removed.append("byline")
                continue
        para = _strip_prefixes(para, idx, rules, result)
        para = _strip_parts(para, rules, result)
        if not para or _drop(para, rules, result):
            continue
        kept.append(para)
    result.body = "\n\n".join(kept)
    return result


def _strip_prefixes(para: str, idx: int, rules: Rules, result: Cleaned) -> str:
    changed = True
    while changed and para:
        changed = False
        for rule in rules.prefixes:
            if rule.first_paragraphs is not None and idx >= rule.first_paragraphs:
                continue
            m = rule.pattern.match(para)
            if m and m.end() > 0:
                outlet = m.groupdict().get("outlet")
                if outlet and not result.outlet:
                    parts = [rules.outlet_by_alias.get(o.strip().casefold()) for o in outlet.split("/")]
                    result.outlet = next((o for o in reversed(parts) if o), None)
                keep = m.groupdict().get("keep")  # "MOSCOW, Feb 24, 2025": the place and date stay
                para = para[m.end() :].lstrip()
                if keep:
                    para = f"{keep} – {para}"
                elif para:
                    para = para[0].upper() + para[1:]
                result.removed.append(rule.name)
                changed = True
    return para


def _strip_parts(para: str, rules: Rules, result: Cleaned) -> str:
    """Credits inside a paragraph and promos or wire tags fused to its end."""
    for rule in rules.inline:
        para, n = rule.pattern.subn("", para)
        if n:
            result.removed.append(rule.name)
    for rule in rules.suffixes:
        m = rule.pattern.search(para)
        if m and m.start() > 0:
            para = para[: m.start()].rstrip()
            result.removed.append(rule.name)
    return para


def _drop(para: str, rules: Rules, result: Cleaned) -> bool:
    for rule in rules.drop:
        if rule.max_chars is not None and len(para) > rule.max_chars:
            continue
        if rule.pattern.search(para):
            result.removed.append(rule.name)
            return True
    return False
