"""Dates in news text, resolved against the article's publication date.

Absolute dates ("February 4", "1 February 2026", "January 23-24", "on 23 and 24
January") are read here and checked as calendar days; relative ones ("overnight",
"overnight into Saturday", "on Friday night", "late Thursday", "last August",
"next Sunday", "yesterday", "this weekend", "two weeks ago") are resolved against
the publication date. A night attack takes the date of the morning after.

The month, weekday and relative words come from ``data/dates.yaml``, compiled once
into :class:`DateRules` (:func:`load_date_rules`) and passed in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass

from pipeline import regex
from pipeline.clean import load_data_file
from pipeline.errors import RulesError


@dataclass(frozen=True)
class DateRef:
    """A resolved date or range found in a text."""

    start: dt.date
    end: dt.date | None
    precision: str  # day, month or year
    text: str  # the words it was read from
    at: int = 0  # where those words start in the text
    stop: int = 0  # where they end
    kind: str = ""  # the pattern that read them


@dataclass(frozen=True)
class DateRules:
    """The date patterns, compiled from ``data/dates.yaml``; build with :func:`load_date_rules`."""

    months: tuple[str, ...]
    weekdays: tuple[str, ...]
    any_word: re.Pattern[str]  # every pattern needs one of these words (on lower-cased text)
    future: re.Pattern[str]
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # order matters: earlier patterns win overlaps
    needs: dict[str, str]  # pattern kind -> the class of word it needs (month, weekday ...)
    classes: tuple[tuple[str, re.Pattern[str]], ...]  # each class of word, on lower-cased text
    relative_days: dict[str, int]
    counts: dict[str, int]  # "two" in "two weeks ago"
    past_weekend: re.Pattern[str]  # the words before "the weekend" that tell of one gone by
    ahead_days: int  # how far after the page a day and month with no future word may still fall
    event_possessive: re.Pattern[str]  # after a date: its event ("Tuesday's missile strike")
    weekday_comma: re.Pattern[str]  # a weekday and its comma at the end of a text ("... set for Sunday, ")

    def month(self, name: str) -> int:
        return [m[:3] for m in self.months].index(name.lower()[:3]) + 1


@functools.cache
def load_date_rules() -> DateRules:
    """The date rules from the package data (compiled once per process)."""
    spec = load_data_file("dates.yaml")
    try:
        months, weekdays = [str(m).lower() for m in spec["months"]], [str(w).lower() for w in spec["weekdays"]]
        relative = {str(k).lower(): int(v) for k, v in spec["relative_days"].items()}
        future_words, abbreviations = spec["future"], spec["month_abbreviations"]
        past_weekend_words = [str(w) for w in spec["past_weekend_before"]]
        counts = {str(k).lower(): int(v) for k, v in spec["counts"].items()}
        ahead_days = int(spec["undated_ahead_days"])
        event_possessive = regex.compile(str(spec["event_possessive"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"dates.yaml: missing or malformed key {exc}") from exc
    if len(months) != 12 or len(weekdays) != 7:
        raise RulesError("dates.yaml: `months` needs 12 names and `weekdays` 7")
    wd = "|".join(weekdays)
    mon = "|".join([*months, *abbreviations, *(m[:3] for m in months)])
    cap_month = "|".join(m.title() for m in months)
    rel = "|".join(sorted((re.escape(k) for k in relative), key=len, reverse=True))
    num_words = "|".join(sorted(counts, key=len, reverse=True))
    d = r"(?P<{}>\d{{1,2}})(?:st|nd|rd|th)?"
    patterns = [
        ("range_month_first", rf"\b(?P<mon>{mon})\.?\s+{d.format('d1')}\s*(?:[-–]|and|to)\s*{d.format('d2')}\b"),
        ("range_day_first", rf"\b{d.format('d1')}\s*(?:[-–]|and|to)\s*{d.format('d2')}\s+(?P<mon>{mon})\b"),
        (
            "absolute",
            rf"\b(?:(?P<mon1>{mon})\.?\s+{d.format('day1')}(?:,?\s+(?P<y1>\d{{4}}))?"
            rf"|{d.format('day2')}\s+(?:of\s+)?(?P<mon2>{mon})\.?(?:,?\s+(?P<y2>\d{{4}}))?)\b",
        ),
        ("weekday_range", rf"\b(?:on\s+)?(?P<wd>{wd})(?:\s*[-–]\s*|\s+(?:and|to|through)\s+)(?P<wd2>{wd})\b"),
        ("into_weekday", rf"\b(?:overnight|night)\s+(?:into|to)\s+(?P<wd>{wd})\b"),
        ("weekday_night", rf"\b(?P<wd>{wd})\s+night\b"),
        ("next_weekday", rf"\bnext\s+(?P<wd>{wd})\b"),
        ("last_month", rf"\blast\s+(?P<mon>{mon})\b"),
        ("weekday", rf"\b(?:late|early|on|this|last)?\s*(?P<wd>{wd})\b"),
        ("month_year", rf"\b(?:in\s+)?(?P<mon>{mon})\s+(?P<y>\d{{4}})\b"),
        ("weekend", r"\b(?P<which>this|next|last|the)\s+weekend\b"),
        ("ago", rf"\b(?P<n>\d+|{num_words})\s+(?P<unit>days?|weeks?|months?|years?)\s+ago\b"),
        ("relative", rf"\b(?P<rel>{rel})\b"),
    ]
    compiled = [(k, regex.compile(p, re.IGNORECASE)) for k, p in patterns]
    # "in March": a capitalised month name (so that "may" the verb is not a month); matched as written
    after_month_year = [k for k, _ in compiled].index("month_year") + 1
    in_month = regex.compile(rf"\b(?:in|since|until|by|from)\s+(?P<mon>{cap_month})\b")
    compiled.insert(after_month_year, ("in_month", in_month))
    any_word = regex.compile(rf"\b(?:{mon}|{wd}|night|weekend|ago|{rel})\b")
    future = regex.compile(r"\b(?:" + "|".join(future_words) + r")\b", re.IGNORECASE)
    past_weekend = re.compile(r"\b(?:" + "|".join(map(re.escape, past_weekend_words)) + r")\s+$", re.IGNORECASE)
    classes = (
        ("month", regex.compile(rf"\b(?:{mon})\b")),
        ("weekday", regex.compile(rf"\b(?:{wd})\b")),
        ("weekend", regex.compile(r"\bweekend\b")),
        ("ago", regex.compile(r"\bago\b")),
        ("relative", regex.compile(rf"\b(?:{rel})\b")),
    )
    needs = {
        kind: "weekday" if "weekday" in kind else kind if kind in {"weekend", "ago", "relative"} else "month"
        for kind, _ in compiled
    }
    return DateRules(
        tuple(months),
        tuple(weekdays),
        any_word,
        future,
        tuple(compiled),
        needs,
        classes,
        relative,
        counts,
        past_weekend,
        ahead_days,
        event_possessive,
        re.compile(rf"\b(?:{wd}),\s*$"),
    )


def _weekday_on_or_before(day: dt.date, weekday: int) -> dt.date:
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)


def _weekday_after(day: dt.date, weekday: int) -> dt.date:
    return day + dt.timedelta(days=(weekday - day.weekday()) % 7 or 7)


def _absolute(
    month: int, day: int, year: int | None, published: dt.date, future: bool, ahead_days: int = 7
) -> dt.date | None:
    """A day-month date; without a year, the one nearest the publication date in the tense's direction
    (with no word of the future, up to ``ahead_days`` after the page: "talks between June 20 and 30" in a
    page of June 2)."""
    if year is None:
        # the year in the tense's direction, chosen on (year, month, day) so that "29 February" can move to
        # a year that has one
        year = published.year
        latest, earliest = published + dt.timedelta(days=ahead_days), published - dt.timedelta(days=7)
        if not future and (year, month, day) > (latest.year, latest.month, latest.day):
            year -= 1
        elif future and (year, month, day) < (earliest.year, earliest.month, earliest.day):
            year += 1
    try:  # a real calendar day or nothing ("30 February 2026", "31 April", "29 February" of 2025: no date)
        return dt.date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str, published: dt.date | None, rules: DateRules | None = None) -> list[DateRef]:
    """Every date expression in ``text`` (none overlapping, in text order), resolved against ``published``."""
    rules = rules or load_date_rules()
    t = text.lower()
    if published is None or not rules.any_word.search(t):
        return []
    present = {name for name, pattern in rules.classes if pattern.search(t)}
    found: list[DateRef] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in rules.patterns:
        if rules.needs[kind] not in present:
            continue  # every pattern needs a word of its class ("March 3" a month, "on Friday" a weekday)
        for m in pattern.finditer(text):
            s, e = m.span()
            if text[s:e].strip() == "" or any(s < b and a < e for a, b in taken):
                continue
            # tense near the date words: back to the clause start (a comma or the start), at most 100 characters
            window = text[max(0, s - 100) : s]
            # "set for Sunday, February 1": the weekday's comma does not end the clause
            day_comma = rules.weekday_comma.search(window.lower())
            if day_comma is not None:
                window = window[: day_comma.start()]
            future = bool(rules.future.search(window[window.rfind(",") + 1 :]))
            ref = _resolve(kind, m, published, future, rules)
            if ref is not None:
                lead = len(m.group(0)) - len(m.group(0).lstrip())
                found.append(dataclasses.replace(ref, at=s + lead, stop=e, kind=kind))
                taken.append((s, e))
    found.sort(key=lambda r: r.at)
    # "on Friday, August 15": a weekday set before the date it names is that date, not a day of its own
    return [r for i, r in enumerate(found) if not _names_next(text, r, found[i + 1 : i + 2], rules)]


def _names_next(text: str, ref: DateRef, after: list[DateRef], rules: DateRules) -> bool:
    """Whether weekday ``ref`` stands in apposition before the day-precise date that follows it."""
    if not after or after[0].precision != "day":
        return False
    words = text[ref.at : ref.stop].lower().split()
    return bool(words) and words[-1] in rules.weekdays and text[ref.stop : after[0].at].strip() == ","


def find_date(text: str, published: dt.date | None, rules: DateRules | None = None) -> DateRef | None:
    """The date expression in ``text`` read by the strongest pattern (the first in text order among equals)."""
    rules = rules or load_date_rules()
    return strongest(find_dates(text, published, rules), rules)


def strongest(refs: list[DateRef], rules: DateRules, text: str | None = None) -> DateRef | None:
    """The date read by the strongest pattern (the first in text order among equals); with the ``text``
    the dates were read from, one that names its event ("Tuesday's missile strike") first."""
    if not refs:
        return None
    order = {kind: i for i, (kind, _) in enumerate(rules.patterns)}

    def names_event(r: DateRef) -> bool:
        return text is not None and rules.event_possessive.match(text, r.stop) is not None

    return min(refs, key=lambda r: (not names_event(r), order[r.kind], r.at))


def _past_weekend(m: re.Match[str], rules: DateRules) -> bool:
    """ "over the weekend", "during the weekend", "the weekend's ...": words that tell of a weekend gone by
    ("at the weekend" may be the one to come)."""
    text = m.string
    before = text[max(0, m.start() - 12) : m.start()]
    return bool(rules.past_weekend.search(before)) or text[m.end() : m.end() + 2] in {"'s", "’s"}


def _resolve(kind: str, m: re.Match[str], published: dt.date, future: bool, rules: DateRules) -> DateRef | None:
    g = m.groupdict()
    words = m.group(0).strip()
    if kind.startswith("range"):
        month = rules.month(g["mon"])
        start = _absolute(month, int(g["d1"]), None, published, future, rules.ahead_days)
        end = _absolute(month, int(g["d2"]), None, published, future, rules.ahead_days)
        if start is None or end is None or end < start or (end - start).days > 31:
            return None
        return DateRef(start, end, "day", words)
    if kind == "absolute":
        month = rules.month(g["mon1"] or g["mon2"])
        day = int(g["day1"] or g["day2"])
        year = g["y1"] or g["y2"]
        date = _absolute(month, day, int(year) if year else None, published, future, rules.ahead_days)
        return DateRef(date, None, "day", words) if date else None
    if kind == "last_month":
        month = rules.month(g["mon"])
        year = published.year if month < published.month else published.year - 1
        return DateRef(dt.date(year, month, 1), None, "month", words)
    if kind == "in_month":
        month = rules.month(g["mon"])
        if future:
            year = published.year if month >= published.month else published.year + 1
        else:
            year = published.year if month <= published.month else published.year - 1
        return DateRef(dt.date(year, month, 1), None, "month", words)
    if kind == "month_year":
        return DateRef(dt.date(int(g["y"]), rules.month(g["mon"]), 1), None, "month", words)
    if kind == "weekend":
        which = g["which"].lower()
        saturday = _weekday_on_or_before(published, 5) if published.weekday() >= 5 else _weekday_after(published, 5)
        shift = {"next": 7, "last": -7}.get(which, 0)
        if which == "last" and published.weekday() < 5:
            shift = -7
        elif which == "the" and not future and published.weekday() <= 1 and _past_weekend(m, rules):
            shift = -7  # "the weekend's attack", written on a Monday or Tuesday: the weekend just past
        start = saturday + dt.timedelta(days=shift)
        return DateRef(start, start + dt.timedelta(days=1), "day", words)
    if kind == "ago":
        n = g["n"].lower()
        count, unit = (int(n) if n.isdigit() else rules.counts[n]), g["unit"].lower()
        if unit.startswith("year"):  # "80 years ago": that year
            return DateRef(dt.date(published.year - count, 1, 1), None, "year", words)
        if unit.startswith("month"):  # "two months ago": that month
            months = published.year * 12 + published.month - 1 - count
            return DateRef(dt.date(months // 12, months % 12 + 1, 1), None, "month", words)
        days = count * (7 if unit.startswith("week") else 1)
        return DateRef(published - dt.timedelta(days=days), None, "day", words)
    if g.get("wd"):
        weekday = list(rules.weekdays).index(g["wd"].lower())
        if kind == "next_weekday":  # the weekday of next week
            monday_next = published + dt.timedelta(days=7 - published.weekday())
            return DateRef(monday_next + dt.timedelta(days=weekday), None, "day", words)
        if kind == "weekday_range":  # "on Friday and Saturday": the two days, ending last, or ahead
            length = (list(rules.weekdays).index(g["wd2"].lower()) - weekday) % 7
            if future:
                first = _weekday_after(published - dt.timedelta(days=1), weekday)
            else:
                first = _weekday_on_or_before(published - dt.timedelta(days=length), weekday)
            return DateRef(first, first + dt.timedelta(days=length), "day", words)
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
    if kind == "relative":
        offset = rules.relative_days[g["rel"].lower()]
        return DateRef(published + dt.timedelta(days=offset), None, "day", words)
    return None
