"""The tagger's word lists and topic rules (``patterns.yaml``, ``topics.yaml``), compiled once.

Apart from the tagger, so that the flow process, whose batches run in worker processes and which never
tokenises, can read them without loading spaCy.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pipeline.clean import compile_data_files, lower_word_pattern
from pipeline.errors import RulesError


@dataclass
class Rules:
    titles: set[str]
    roles: set[str]
    speech: set[str]
    given: set[str]
    not_name: set[str]
    cues: dict[str, str]
    region_words: set[str]
    area_suffixes: set[str]
    topic_any: dict[str, re.Pattern[str]]
    strike_weak: re.Pattern[str]
    strike_weak_with: re.Pattern[str]
    article_rules: dict[str, dict[str, Any]]
    war_sides: frozenset[str]  # countries (ISO codes) of the sides of this war
    war_side_words: re.Pattern[str]  # the people of a side, by their demonym ("Russian officials")
    adjectival: frozenset[str]  # abbreviations that name a place only after "the" or a preposition
    noun_after: frozenset[str]  # the words after which they do
    modifier_nouns: frozenset[str]  # nouns after "the US" that make it a modifier again ("the US delegation")
    photo_credit: re.Pattern[str]  # "(Name/Agency via AP)": no person of the story


def _strings(items: Iterable[Any], what: str) -> list[str]:
    out = list(items)
    bad = [x for x in out if not isinstance(x, str)]
    if bad:  # YAML reads a bare no/on/yes as a boolean
        raise RulesError(f"{what}: non-text entries {bad!r}; quote them")
    return out


def _compiled(pattern: Any, what: str) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise RulesError(f"{what}: a regular expression is needed")
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"{what}: bad pattern ({exc})") from exc


@functools.cache
def load_rules() -> Rules:
    return compile_data_files(compile_rules, "patterns.yaml", "topics.yaml")


def compile_rules(pat: dict[str, Any], top: dict[str, Any]) -> Rules:
    tags = top["sentence_tags"]
    return Rules(
        titles={w.casefold() for w in pat["person_titles"]},
        roles={w.casefold() for w in pat["apposition_roles"]},
        speech={w.casefold() for w in pat["speech_verbs"]},
        given=set(pat["given_names"]),
        not_name={w.casefold() for w in _strings(pat["not_name_words"], "not_name_words")},
        cues={k.casefold(): v for k, v in pat["place_cues"].items()},
        region_words={w.casefold() for w in pat["region_words"]},
        area_suffixes={w.casefold() for w in pat["area_suffixes"]},
        topic_any={tag: lower_word_pattern(spec["any"]) for tag, spec in tags.items()},
        strike_weak=lower_word_pattern(tags["strikes"]["weak"]),
        strike_weak_with=lower_word_pattern(tags["strikes"]["weak_with"]),
        article_rules=top["article_rules"],
        war_sides=frozenset(_strings(top["war_sides"], "war_sides")),
        war_side_words=lower_word_pattern(_strings(top["war_side_words"], "war_side_words")),
        adjectival=frozenset(_strings(pat["adjectival_abbreviations"], "adjectival_abbreviations")),
        noun_after=frozenset(w.casefold() for w in _strings(pat["noun_after"], "noun_after")),
        modifier_nouns=frozenset(w.casefold() for w in _strings(pat["modifier_nouns"], "modifier_nouns")),
        photo_credit=_compiled(pat["photo_credit"], "photo_credit"),
    )
