"""Dates in news text, resolved against the article's publication date.

Absolute dates ("February 4", "1 February 2026", "January 23-24") are read with
dateparser; relative ones ("overnight", "overnight into Saturday", "on Friday
night", "late Thursday", "last August", "next Sunday", "yesterday") are
resolved here. A night attack takes the date of the morning after.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

import dateparser

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_WD = "|".join(WEEKDAYS)
_MON = "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
_FUTURE = re.compile(
    r"\b(?:will|would|is due|are due|to be|scheduled|planned|set to|expected|next|upcoming|plans? to)\b", re.I
)

# Every pattern below needs one of these words; most sentences have none (checked on lower-cased text).
_ANY_DATE_WORD = re.compile(rf"\b(?:{_MON}|{_WD}|night|overnight|yesterday|tomorrow|today|tonight|morning)\b".lower())

# Order matters: the first pattern that matches a text wins.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("range_month_first", re.compile(rf"\b(?P<mon>{_MON})\.?\s+(?P<d1>\d{{1,2}})\s*[-–]\s*(?P<d2>\d{{1,2}})\b", re.I)),
    ("range_day_first", re.compile(rf"\b(?P<d1>\d{{1,2}})\s*[-–]\s*(?P<d2>\d{{1,2}})\s+(?P<mon>{_MON})\b", re.I)),
    (
        "absolute",
        re.compile(
            rf"\b(?:(?P<mon1>{_MON})\.?\s+(?P<day1>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{{4}}))?"
            rf"|(?P<day2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon2>{_MON})(?:\s+(?P<y2>\d{{4}}))?)\b",
            re.I,
        ),
    ),
    ("into_weekday", re.compile(rf"\b(?:overnight|night)\s+(?:into|to)\s+(?P<wd>{_WD})\b", re.I)),
    ("weekday_night", re.compile(rf"\b(?P<wd>{_WD})\s+night\b", re.I)),
    ("next_weekday", re.compile(rf"\bnext\s+(?P<wd>{_WD})\b", re.I)),
    ("last_month", re.compile(rf"\blast\s+(?P<mon>{_MON})\b", re.I)),
    ("weekday", re.compile(rf"\b(?:late|early|on|this|last)?\s*(?P<wd>{_WD})\b", re.I)),
    ("month_year", re.compile(rf"\b(?:in\s+)?(?P<mon>{_MON})\s+(?P<y>\d{{4}})\b", re.I)),
    # "in March": a capitalised month name (so that "may" the verb is not a month)
    ("in_month", re.compile(r"\b(?:in|since|until|by|from)\s+(?P<mon>" + "|".join(m.title() for m in MONTHS) + r")\b")),
    ("yesterday", re.compile(r"\b(?:yesterday|last night)\b", re.I)),
    ("tomorrow", re.compile(r"\btomorrow\b", re.I)),
    ("today", re.compile(r"\b(?:today|overnight|this morning|tonight|earlier today)\b", re.I)),
]


@dataclass(frozen=True)
class DateRef:
    """A resolved date or range found in a text."""

    start: dt.date
    end: dt.date | None
    precision: str  # day, month or year
    text: str  # the words it was read from
    at: int = 0  # where those words start in the text


def _month(name: str) -> int:
    key = name.lower()[:3]
    return [m[:3] for m in MONTHS].index(key) + 1


def _weekday_on_or_before(day: dt.date, weekday: int) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)


def _weekday_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7 or 7)


def _absolute(month: int, day: int, year: int | None, published: dt.date, future: bool) -> dt.date | None:
    """A day-month date; without a year, the one nearest the publication date in the tense's direction."""
    if year is not None:
        parsed = dateparser.parse(f"{year}-{month:02d}-{day:02d}", settings={"STRICT_PARSING": True})
        return parsed.date() if parsed else None
    try:
        candidate = dt.date(published.year, month, day)
    except ValueError:
        return None
    if not future and candidate > published + dt.timedelta(days=7):
        candidate = candidate.replace(year=candidate.year - 1)
    elif future and candidate < published - dt.timedelta(days=7):
        candidate = candidate.replace(year=candidate.year + 1)
    return candidate


def find_date(text: str, published: dt.date | None) -> DateRef | None:
    """The first date expression in ``text``, resolved against ``published`` (None if none or no anchor)."""
    if published is None or not _ANY_DATE_WORD.search(text.lower()):
        return None
    for kind, pattern in _PATTERNS:
        m = pattern.search(text)
        if m is None:
            continue
        # tense near the date words: back to the clause start (a comma or the start), at most 100 characters
        window = text[max(0, m.start() - 100) : m.start()]
        future = bool(_FUTURE.search(window[window.rfind(",") + 1 :]))
        ref = _resolve(kind, m, published, future)
        if ref is not None:
            return dataclasses.replace(ref, at=m.start())
    return None


def _resolve(kind: str, m: re.Match[str], published: dt.date, future: bool) -> DateRef | None:
    g = m.groupdict()
    words = m.group(0).strip()
    if kind.startswith("range"):
        month = _month(g["mon"])
        start = _absolute(month, int(g["d1"]), None, published, future)
        end = _absolute(month, int(g["d2"]), None, published, future)
        if start is None or end is None or end < start:
            return None
        return DateRef(start, end, "day", words)
    if kind == "absolute":
        month = _month(g["mon1"] or g["mon2"])
        day = int(g["day1"] or g["day2"])
        year = g["y1"] or g["y2"]
        date = _absolute(month, day, int(year) if year else None, published, future)
        return DateRef(date, None, "day", words) if date else None
    if kind == "last_month":
        month = _month(g["mon"])
        year = published.year if month < published.month else published.year - 1
        return DateRef(dt.date(year, month, 1), None, "month", words)
    if kind == "in_month":
        month = _month(g["mon"])
        if future:
            year = published.year if month >= published.month else published.year + 1
        else:
            year = published.year if month <= published.month else published.year - 1
        return DateRef(dt.date(year, month, 1), None, "month", words)
    if kind == "month_year":
        return DateRef(dt.date(int(g["y"]), _month(g["mon"]), 1), None, "month", words)
    if g.get("wd"):
        weekday = WEEKDAYS.index(g["wd"].lower())
        if kind == "next_weekday":  # the weekday of next week
            monday_next = published + dt.timedelta(days=7 - published.weekday())
            return DateRef(monday_next + dt.timedelta(days=weekday), None, "day", words)
        if kind == "into_weekday":  # overnight into Saturday: Saturday
            if future:
                return DateRef(_weekday_after(published - dt.timedelta(days=1), weekday), None, "day", words)
            morning = _weekday_on_or_before(published + dt.timedelta(days=1), weekday)
            return DateRef(morning, None, "day", words)
        if future:
            base = _weekday_after(published - dt.timedelta(days=1), weekday)
        else:
            base = _weekday_on_or_before(published, weekday)
        if kind == "weekday_night":  # a night attack takes the morning's date
            base += dt.timedelta(days=1)
        return DateRef(base, None, "day", words)
    offsets = {"yesterday": -1, "tomorrow": 1, "today": 0}
    if kind in offsets:
        return DateRef(published + dt.timedelta(days=offsets[kind]), None, "day", words)
    return None
