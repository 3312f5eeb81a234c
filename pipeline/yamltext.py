"""YAML that people write by hand (an article's front matter, the analysts' corrections), read safely.

Two things a plain safe load lets through are refused or defused here:

- aliases (``*name``): a few hundred bytes of nested aliases expand to gigabytes, and every later
  message that quotes a value would print them;
- timestamps: a date is kept as the text it was written as, so that an impossible one (``2026-02-30``)
  is a reason the caller gives for one value, not an exception from deep inside the parser.
"""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml's safe loader when PyYAML was built with it (about 10x faster), else the pure-Python one.
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _TextDatesLoader(_BASE):  # type: ignore[misc, valid-type]
    """The safe loader, with dates left as text (implicit or tagged ``!!timestamp``)."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in _BASE.yaml_implicit_resolvers.items()
}
_TextDatesLoader.add_constructor(_TIMESTAMP, lambda loader, node: loader.construct_scalar(node))


class AliasError(ValueError):
    """The text uses YAML aliases, which are not allowed."""


def load(text: str) -> Any:
    """The YAML document in ``text``, dates as text; AliasError for an alias, ``yaml.YAMLError`` for text
    that is not YAML."""
    if "*" in text and any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=_TextDatesLoader)):
        raise AliasError("YAML aliases (*name) are not allowed")
    return yaml.load(text, Loader=_TextDatesLoader)


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for a message that quotes what a person wrote."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}...({len(text):,} characters)"
