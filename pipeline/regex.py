"""Compiling rule patterns so that they are quick to search.

Python's ``re`` skips ahead quickly only when a pattern opens with a literal character or a character
class. Rule patterns rarely do: they open with ``\\b``, a lookbehind, ``\\s+`` or an alternation of
words, and then every alternative is tried at every position of every sentence. ``compile`` works out
the characters a match can begin with and, where that helps, puts them in front as a lookahead
(``(?=[adfjmnos])`` before an alternation of month names), so that most positions are rejected by one
character test. The matches are the same: the lookahead only states what the pattern already requires.
"""

from __future__ import annotations

import re
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

_GLOBAL_FLAGS = re.compile(r"^\(\?[aiLmsux]+\)")
_CATEGORIES = {
    _c.CATEGORY_DIGIT: r"\d",
    _c.CATEGORY_NOT_DIGIT: r"\D",
    _c.CATEGORY_SPACE: r"\s",
    _c.CATEGORY_NOT_SPACE: r"\S",
    _c.CATEGORY_WORD: r"\w",
    _c.CATEGORY_NOT_WORD: r"\W",
}
_BROAD = {r"\w", r"\W", r"\S", r"\D"}
_ZERO_WIDTH = {_c.AT, _c.ASSERT, _c.ASSERT_NOT}
_REPEATS = {_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", _c.MAX_REPEAT)}


def compile(expr: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(expr, flags)``, with a lookahead of the characters a match can begin with in front
    when the pattern does not already open with one (see the module's docstring)."""
    guard = first_chars(expr, flags)
    if guard is None:
        return re.compile(expr, flags)  # a bad pattern raises here, with its own message
    head = _GLOBAL_FLAGS.match(expr)
    cut = head.end() if head else 0
    return re.compile(f"{expr[:cut]}(?={guard})(?:{expr[cut:]})", flags)


def first_chars(expr: str, flags: int = 0) -> str | None:
    """A character class holding every character a match of ``expr`` can begin with, or None when
    there is nothing to gain: any character can begin a match, a match can be empty, the pattern
    already opens with a character ``re`` skips to, or its flags change inside it."""
    try:
        tree = _parser.parse(expr, flags)
    except re.error:
        return None
    data = list(tree.data)
    while data and data[0][0] is _c.SUBPATTERN and not data[0][1][1] and not data[0][1][2] and len(data) == 1:
        data = list(data[0][1][3].data)  # "(?:...)" around the whole pattern
    if not data or data[0][0] in (_c.LITERAL, _c.IN):
        return None
    op, av = data[0]
    if op is _c.AT and av in (_c.AT_BEGINNING, _c.AT_BEGINNING_STRING):
        return None  # anchored: re tries the start only
    literal_first = op is _c.BRANCH and all(alt.data and alt.data[0][0] is _c.LITERAL for alt in av[1])
    if literal_first and not flags & re.IGNORECASE:
        return None  # re already skips to the first characters of the alternatives
    found, nullable = _first(data)
    if found is None or nullable or not found or found & _BROAD:
        return None  # a class as broad as \w rejects too few positions to pay for itself
    return "[" + "".join(sorted(found)) + "]"


def _first(seq: list[tuple[Any, Any]]) -> tuple[set[str] | None, bool]:
    """(the character-class pieces a match of ``seq`` can begin with, whether it can match empty);
    None for the pieces when any character can begin it."""
    out: set[str] = set()
    for op, av in seq:
        if op in _ZERO_WIDTH:
            continue  # \b, ^, lookarounds: they consume nothing (a lookahead only narrows further)
        if op is _c.LITERAL:
            return out | {_char(av)}, False
        if op is _c.IN:
            pieces = _class(av)
            return (None if pieces is None else out | pieces), False
        if op is _c.SUBPATTERN:
            _, add, remove, sub = av
            if add or remove:
                return None, False
            inner = [sub.data]
        elif op is _c.ATOMIC_GROUP:
            inner = [av.data]
        elif op is _c.BRANCH:
            inner = [alt.data for alt in av[1]]
        elif op in _REPEATS:
            lo, _, sub = av
            inner = [sub.data]
        else:
            return None, False  # any character, a negated literal, a back-reference ...
        nullable = False
        for part in inner:
            pieces, empty = _first(list(part))
            if pieces is None:
                return None, False
            out |= pieces
            nullable = nullable or empty
        if op in _REPEATS and lo == 0:
            nullable = True
        if not nullable:
            return out, False
    return out, True


def _class(items: list[tuple[Any, Any]]) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            out.add(_char(av))
        elif op is _c.RANGE:
            out.add(f"{_char(av[0])}-{_char(av[1])}")
        elif op is _c.CATEGORY and av in _CATEGORIES:
            out.add(_CATEGORIES[av])
        else:
            return None  # a negated class, or a category without a short form
    return out


def _char(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
