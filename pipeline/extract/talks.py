"""Meetings and negotiating rounds: one row per meeting per article, gathered from every sentence about it.

Each clause that reports a meeting ("talks in Abu Dhabi", "Putin met late Thursday with ...", "the
two-day consultations came to an end") gives a mention with what its own words say:

- the venue: a city after "in"/"at" or naming the meeting ("the Geneva talks"), a seat ("the Kremlin"),
  a capital phrase ("the UAE capital"), not the city someone speaks in ("speaking in Vilnius");
- the dates: of the meeting, not of the report ("announced on Thursday"), with lengths ("the two-day
  talks"), "a second day", "would resume on December 15" and "a day before" another meeting;
- the parties: the countries of the people and delegations at the table ("between Russian and Ukrainian
  negotiators", "advisers from the United Kingdom"); the host and mediators go to ``mediators`` (a
  mediator that sends envoys sits at the table too);
- the delegates: people taking part ("led by", "met", "talks with"), not people merely named ("an aide
  to President Putin", "Trump pressed Ukraine");
- the status from the dates where they decide it, else from the clause's tense words.

Mentions of the same venue with overlapping dates (or no date and a compatible status) are one
meeting; a clause that names no venue belongs to the meeting last spoken of. Sentences that list a
delegation ("The Russian team is made up of ...") add delegates to the meetings that country attends.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pipeline.dates import DateRef, find_dates
from pipeline.extract.article import ArticleView, SentenceView
from pipeline.extract.clauses import split_clauses
from pipeline.extract.figures import lower
from pipeline.extract.places import entity_row
from pipeline.ids import stable_id

Row = dict[str, Any]
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,}(?:,|\s+[–—-])")
_REPORT_VERB = re.compile(
    r"\b(?:said|says|announced|told|reported|wrote|posted|stated|confirmed|added|noted)(?:\s+\w+){0,2}\s*$"
)
_VENUE_OF = re.compile(r"^\W*(?:the\s+)?(?:venue|site|host)\s+of\b")
_STRENGTH = {"cancelled": 3, "held": 2, "ongoing": 2, "planned": 1}


@dataclass
class _Mention:
    """What one clause says about a meeting."""

    sentence: SentenceView
    venue: Row | None
    how: str  # how the venue was found
    start: dt.date | None
    end: dt.date | None
    precision: str | None
    status: str | None  # from the clause's words
    parties: set[str]
    mediators: set[str]
    hosts: set[str]
    people: set[str]  # countries of the people taking part
    delegates: list[str]
    ended: bool
    recent: bool  # an undated mention that still dates the meeting to publication (ended, under way)


@dataclass
class _Meeting:
    venue: Row
    how: str
    sentences: list[SentenceView] = field(default_factory=list)
    start: dt.date | None = None
    end: dt.date | None = None
    precision: str | None = None
    statuses: list[str] = field(default_factory=list)
    parties: set[str] = field(default_factory=set)
    mediators: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    people: set[str] = field(default_factory=set)
    delegates: list[str] = field(default_factory=list)
    recent: bool = False
    ended: bool = False


def extract_talks(view: ArticleView) -> list[Row]:
    """Every meeting an article reports, one row each (none unless the article is about talks, when its
    topics are known: "a meeting with President Erdogan" in a strike report is no negotiating round)."""
    if "topics" in view.article and "talks" not in (view.article["topics"] or []):
        return []
    meetings: list[_Meeting] = []
    pending: list[_Mention] = []  # meetings named before their venue ("Putin met late Thursday with ...")
    current: _Meeting | None = None
    last_mentioned: list[_Meeting] = []
    for sv in view.sentences:
        if sv.heading:
            continue
        mentions = _sentence_mentions(view, sv)
        touched: list[_Meeting] = []
        for m in mentions:
            if m.venue is None and current is None:
                pending.append(m)
                continue
            if m.venue is None:
                assert current is not None
                if m.start is not None and not _overlaps(current, m):
                    target = _find(meetings, current.venue, m) or _new(meetings, current.venue, "inherited")
                    if not m.parties:
                        m.parties = set(current.parties)
                else:
                    target = current
            else:
                target = _find(meetings, m.venue, m) or _new(meetings, m.venue, m.how)
                while pending:  # the venue of the meetings named before it
                    p = pending.pop(0)
                    into = _find(meetings, m.venue, p) or target
                    _merge(into, p)
            _merge(target, m)
            current = target
            touched.append(target)
        if touched:
            last_mentioned = touched
        _delegation_list(view, sv, meetings, last_mentioned)
    return [_row(view, m) for m in meetings]


def _new(meetings: list[_Meeting], venue: Row, how: str) -> _Meeting:
    meeting = _Meeting(venue, how)
    meetings.append(meeting)
    return meeting


def _overlaps(meeting: _Meeting, m: _Mention) -> bool:
    if meeting.start is None or m.start is None:
        return False
    return m.start <= (meeting.end or meeting.start) and meeting.start <= (m.end or m.start)


def _compatible(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return True
    return (a == "planned") == (b == "planned")


def _find(meetings: list[_Meeting], venue: Row, m: _Mention) -> _Meeting | None:
    """The meeting of ``venue`` that mention ``m`` is about, if one is known."""
    same = [x for x in meetings if x.venue["name"] == venue["name"]]
    if m.start is not None:
        dated = [x for x in same if _overlaps(x, m)]
        if dated:
            return dated[-1]
        undated = [x for x in same if x.start is None and _compatible(_status_of(x), m.status)]
        return undated[-1] if undated else None
    fits = [x for x in same if _compatible(_status_of(x), m.status)]
    return fits[-1] if fits else None


def _status_of(meeting: _Meeting) -> str | None:
    return meeting.statuses[-1] if meeting.statuses else None


def _merge(meeting: _Meeting, m: _Mention) -> None:
    if m.sentence not in meeting.sentences:
        meeting.sentences.append(m.sentence)
    if m.start is not None:
        if meeting.start is None or (meeting.precision != "day" and m.precision == "day"):
            meeting.start, meeting.end, meeting.precision = m.start, m.end, m.precision
        else:
            if m.start < meeting.start and m.precision == "day":
                meeting.start = m.start
            last = max(d for d in (meeting.end, m.end, m.start, meeting.start) if d is not None)
            meeting.end = last if last != meeting.start else meeting.end
    if m.status:
        meeting.statuses.append(m.status)
    meeting.parties |= m.parties
    meeting.mediators |= m.mediators
    meeting.hosts |= m.hosts
    meeting.people |= m.people
    meeting.delegates += [d for d in m.delegates if d not in meeting.delegates]
    meeting.recent |= m.recent
    meeting.ended |= m.ended


# --------------------------------------------------------------------------- one sentence


def _sentence_mentions(view: ArticleView, sv: SentenceView) -> list[_Mention]:
    talks = view.rules.talks
    text, t = sv.text, lower(sv.text)
    if not talks.meeting.search(t):
        return []
    clauses = split_clauses(text, view.rules)
    out: list[_Mention] = []
    prev_venues: list[tuple[Row, int, str]] = []
    clause_dates: list[DateRef | None] = []
    for a, b in clauses:
        ct = t[a:b]
        if not talks.meeting.search(ct) or talks.not_meeting.search(ct):
            clause_dates.append(None)
            prev_venues = _venues(view, sv, a, b) or prev_venues
            continue
        venues = _venues(view, sv, a, b)
        if not venues and _VENUE_OF.match(ct) and prev_venues:
            venues = prev_venues[-1:]
        ref = _meeting_date(view, sv, a, b)
        clause_dates.append(ref)
        for venue, pos, how in _distinct(venues) or [(None, a, "inherited")]:
            out.append(_mention(view, sv, a, b, venue, how, ref))
        prev_venues = venues or prev_venues
    _day_before(view, sv, out)
    return out


def _distinct(venues: list[tuple[Row, int, str]]) -> list[tuple[Row, int, str]]:
    seen: dict[str, tuple[Row, int, str]] = {}
    for v in venues:
        seen.setdefault(str(v[0]["name"]), v)
    return list(seen.values())


def _venues(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[tuple[Row, int, str]]:
    """(venue, position, how) for each place in ``[a, b)`` that a meeting is said to be held at."""
    talks, gaz = view.rules.talks, view.gazetteer
    text, t = sv.text, lower(sv.text)
    out: list[tuple[Row, int, str]] = []
    for m in sv.mentions:
        s, e = m["start"] - sv.start, m["end"] - sv.start
        if not a <= s < b:
            continue
        before, after = t[max(a, s - 60) : s], t[e : e + 40]
        if talks.not_venue_before.search(before) or (s == 0 and _DATELINE.match(text)):
            continue
        words = before.split()
        prep = bool(words) and (
            words[-1] in talks.venue_before or (words[-1] == "the" and len(words) > 1 and words[-2] in talks.venue_before)
        )
        named = bool(talks.venue_after.match(after))
        host = bool(talks.venue_host.search(before))
        if not (prep or named or host):
            continue
        how = "host" if host else "named" if named and not prep else "preposition"
        if m["label"] == "ORG" and m["name"] in talks.seats:
            row = entity_row(gaz, talks.seats[str(m["name"])])
            if row is not None:
                out.append((row, s, "seat"))
            continue
        if m["label"] != "PLACE":
            continue
        if m.get("kind") == "country":
            city = _article_city(view, str(m.get("country") or ""))
            if city is not None and m.get("country") not in view.rules.sides.side_country.values():
                out.append((city, s, "country"))
        elif m.get("kind") in {"city", "town"}:
            out.append((m, s, how))
    for m in view.rules.places.capital_phrase.finditer(t, a, b):
        before = t[max(a, m.start() - 30) : m.start()].split()
        if not before or not (before[-1] in talks.venue_before or talks.venue_host.search(" ".join(before) + " ")):
            continue
        code = view.rules.sides.demonyms.get(m.group("who"))
        capital = view.rules.places.capitals.get(code or "")
        row = entity_row(gaz, capital) if capital else None
        if row is not None:
            out.append((row, m.start(), "capital"))
    return sorted(out, key=lambda v: v[1])


def _article_city(view: ArticleView, country: str) -> Row | None:
    for sv in view.sentences:
        for m in sv.mentions:
            if m["label"] == "PLACE" and m.get("kind") == "city" and m.get("country") == country:
                return m
    return None


def _meeting_date(view: ArticleView, sv: SentenceView, a: int, b: int) -> DateRef | None:
    """The date of the meeting a clause reports: not the date of a report ("said on Monday"), not a
    dateline; the one nearest the meeting words."""
    t = lower(sv.text)
    refs = []
    for ref in find_dates(sv.text[a:b], view.published, view.rules.dates):
        at = a + ref.at
        if _REPORT_VERB.search(t, max(0, at - 40), at) or (at < 30 and _DATELINE.match(sv.text)):
            continue
        refs.append((at, ref))
    if not refs:
        return None
    cue = view.rules.talks.meeting.search(t, a, b)
    pos = cue.start() if cue else a
    return min(refs, key=lambda r: abs(r[0] - pos))[1]


def _mention(
    view: ArticleView, sv: SentenceView, a: int, b: int, venue: Row | None, how: str, ref: DateRef | None
) -> _Mention:
    talks = view.rules.talks
    t = lower(sv.text)
    ct = t[a:b]
    sentence_t = t
    start = ref.start if ref else None
    end = ref.end if ref else None
    precision = ref.precision if ref else None
    ended = bool(talks.ended.search(ct))
    if start is not None and precision == "day":
        nth = next((n for p, n in talks.nth_day if p.search(sentence_t)), None)
        days = next((n for p, n in talks.multi_day if p.search(sentence_t)), None)
        if nth and end is None:
            start, end = start - dt.timedelta(days=nth - 1), start
        elif days and end is None:
            if ended or (view.published is not None and start >= view.published):
                start, end = start - dt.timedelta(days=days - 1), start
            else:
                end = start + dt.timedelta(days=days - 1)
        resume = talks.resume.search(ct)
        if resume is not None and end is None:
            later = [r for r in find_dates(sv.text, view.published, view.rules.dates) if r.at > resume.start()]
            if later and later[0].start > start:
                end = later[0].start
    status = next((s for s, p in talks.status if p.search(ct)), None)
    parties, mediators, hosts, people = _parties(view, sv, a, b, venue)
    return _Mention(
        sentence=sv,
        venue=venue,
        how=how,
        start=start,
        end=end if end != start else None,
        precision=precision,
        status=status,
        parties=parties,
        mediators=mediators,
        hosts=hosts,
        people=people,
        delegates=_delegates(view, sv, a, b),
        ended=ended,
        recent=ended or status == "ongoing",
    )


def _day_before(view: ArticleView, sv: SentenceView, mentions: list[_Mention]) -> None:
    """ "X met Y late Thursday, a day before talks in Abu Dhabi": one meeting's date from the other's."""
    talks = view.rules.talks
    t = lower(sv.text)
    for pattern, shift in ((talks.day_before, 1), (talks.day_after, -1)):
        m = pattern.search(t)
        if m is None or len(mentions) < 2:
            continue
        inside = [x for x in mentions if x.venue is not None and m.end() <= _venue_pos(sv, x) < m.end() + 60]
        others = [x for x in mentions if x not in inside]
        if not inside or not others:
            continue
        for x in inside:
            for o in others:
                if x.start is None and o.start is not None:
                    x.start, x.precision = o.start + dt.timedelta(days=shift), "day"
                elif o.start is None and x.start is not None:
                    o.start, o.precision = x.start - dt.timedelta(days=shift), "day"


def _venue_pos(sv: SentenceView, m: _Mention) -> int:
    name = str(m.venue["name"]) if m.venue else ""
    for x in sv.mentions:
        if x.get("name") == name:
            return int(x["start"]) - sv.start
    return -1


# --------------------------------------------------------------------------- who is at the table


def _country_words(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[tuple[int, int, str]]:
    """(start, end, country code) of every country named in ``[a, b)``, by name or demonym."""
    text, t = sv.text, lower(sv.text)
    out: list[tuple[int, int, str]] = []
    for m in sv.mentions:
        s, e = m["start"] - sv.start, m["end"] - sv.start
        if a <= s < b and m["label"] == "PLACE" and m.get("kind") == "country" and m.get("country"):
            out.append((s, e, str(m["country"])))
    for m in view.rules.sides.demonym.finditer(t, a, b):
        if m.group(0) == "us" and text[m.start() : m.end()] != "US":
            continue  # the pronoun
        if any(s < m.end() and m.start() < e for s, e, _ in out):
            continue
        out.append((m.start(), m.end(), view.rules.sides.demonyms[m.group(0)]))
    return sorted(out)


def _participant(view: ArticleView, t: str, s: int, e: int, a: int, b: int) -> bool:
    talks = view.rules.talks
    before, after = t[max(a, s - 60) : s], t[e : min(b, e + 60)]
    if talks.relational_before.search(before) or talks.relational_after.match(after):
        return False
    return bool(talks.participant_before.search(before) or talks.participant_after.match(after))


def _in_list(items: list[tuple[int, int, str]], t: str) -> list[list[tuple[int, int, str]]]:
    """Items named as one list ("the United Kingdom, France, and Germany") grouped together."""
    groups: list[list[tuple[int, int, str]]] = []
    for item in items:
        if groups and re.fullmatch(r"\s*(?:,\s*(?:and\s+)?|and\s+|&\s*)(?:the\s+)?", t[groups[-1][-1][1] : item[0]]):
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


def _parties(
    view: ArticleView, sv: SentenceView, a: int, b: int, venue: Row | None
) -> tuple[set[str], set[str], set[str], set[str]]:
    """Countries at the table, mediators, hosts, and the countries of the people taking part, from the
    clause ``[a, b)``."""
    talks = view.rules.talks
    text, t = sv.text, lower(sv.text)
    parties: set[str] = set()
    for group in _in_list(_country_words(view, sv, a, b), t):
        if any(_participant(view, t, s, e, a, b) for s, e, _ in group):
            parties |= {code for _, _, code in group}
    if view.rules.sides.pair.search(t, a, b):
        parties |= set(view.rules.sides.side_country.values())
    people: set[str] = set()
    for m in sv.mentions:
        s = m["start"] - sv.start
        if m["label"] == "PERSON" and a <= s < b and m.get("country") and _is_delegate(view, sv, m, a, b):
            people.add(str(m["country"]))
    parties |= people
    mediators: set[str] = set()
    for pattern in talks.mediator:
        for m in pattern.finditer(text, a, b):
            code = _code(view, m.group("who"))
            if code:
                mediators.add(code)
    hosts: set[str] = set()
    for pattern in talks.host:
        for m in pattern.finditer(text, a, b):
            code = _code(view, m.group("who"))
            if code:
                hosts.add(code)
    if venue is not None and venue.get("country"):
        hosts.add(str(venue["country"]))
    parties |= mediators
    return parties - {"EU"}, mediators, hosts, people


def _code(view: ArticleView, words: str) -> str | None:
    w = words.lower().strip()
    if w in view.rules.sides.demonyms:
        return view.rules.sides.demonyms[w]
    row = entity_row(view.gazetteer, words.strip())
    if row is not None:
        return str(row["country"]) if row.get("kind") == "country" else str(row.get("country") or "") or None
    return None


def _is_delegate(view: ArticleView, sv: SentenceView, m: Row, a: int, b: int) -> bool:
    talks = view.rules.talks
    t = lower(sv.text)
    s, e = m["start"] - sv.start, m["end"] - sv.start
    before, after = t[max(a, s - 60) : s], t[e : min(b, e + 60)]
    if talks.relational_before.search(before) or talks.relational_after.match(after):
        return False
    if talks.participant_before.search(before) or talks.participant_after.match(after):
        return True
    near = t[max(a, s - 40) : min(b, e + 40)]
    role = lower(str(m.get("kind") or ""))
    return bool(talks.negotiator.search(near) or talks.negotiator.search(role))


def _delegates(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[str]:
    out: list[str] = []
    for m in sv.mentions:
        s = m["start"] - sv.start
        if m["label"] == "PERSON" and a <= s < b and _is_delegate(view, sv, m, a, b) and m["name"] not in out:
            out.append(str(m["name"]))
    return out


def _delegation_list(view: ArticleView, sv: SentenceView, meetings: list[_Meeting], last: list[_Meeting]) -> None:
    """ "The Russian team is made up of ...": its people are delegates of the meetings Russia attends."""
    talks = view.rules.talks
    t = lower(sv.text)
    noun = talks.delegation_list.search(t)
    if noun is None or not talks.delegation_verbs.search(t):
        return
    codes = {code for s, _, code in _country_words(view, sv, 0, len(t)) if s < noun.end() + 40}
    people = [
        str(m["name"])
        for m in sv.mentions
        if m["label"] == "PERSON"
        and not view.rules.talks.relational_before.search(t[max(0, m["start"] - sv.start - 60) : m["start"] - sv.start])
    ]
    if not people:
        return
    targets = [x for x in last if not codes or x.parties & codes or not x.parties]
    if not targets:
        targets = [x for x in meetings if x.parties & codes]
    for x in targets:
        x.delegates += [p for p in people if p not in x.delegates]
        x.parties |= codes
        if sv not in x.sentences:
            x.sentences.append(sv)


# --------------------------------------------------------------------------- rows


def _status(meeting: _Meeting, published: dt.date | None) -> str:
    words = sorted(meeting.statuses, key=lambda s: _STRENGTH.get(s, 0), reverse=True)
    if "cancelled" in meeting.statuses:
        return "cancelled"
    if published is not None and meeting.start is not None and meeting.precision == "day":
        last = meeting.end or meeting.start
        if last < published:
            return "held"
        if meeting.start > published:
            return "planned"
        if meeting.start < published <= last:
            return "held" if meeting.ended and last == published else "ongoing"
        # one day, the day of publication: the words decide
        if meeting.ended:
            return "held"
        if "ongoing" in meeting.statuses:
            return "ongoing"
        if "planned" in meeting.statuses and "held" not in meeting.statuses:
            return "planned"
        return words[0] if words else "held"
    if meeting.ended:
        return "held"
    for s in ("ongoing", "planned", "held"):
        if meeting.statuses and meeting.statuses[0] == s:
            return s
    return words[0] if words else "held"


def _row(view: ArticleView, meeting: _Meeting) -> Row:
    talks = view.rules.talks
    first = meeting.sentences[0]
    status = _status(meeting, view.published)
    start, precision = meeting.start, meeting.precision
    if start is None and meeting.recent and view.published is not None:
        start, precision = view.published, "day"  # an undated round under way or just ended: publication day
    # a host that only lends the room is no party; one whose own people meet, or that mediates, is
    hosts_only = meeting.hosts - meeting.people - meeting.mediators
    parties = meeting.parties - hosts_only
    text = " ".join(s.text for s in meeting.sentences)
    confidence = talks.venue_confidence.get(meeting.how, 0.6) * (1.0 if start is not None else talks.undated)
    return {
        "talk_id": stable_id(view.article_id, first.idx, meeting.venue["name"], start.isoformat() if start else ""),
        "article_id": view.article_id,
        "sentence_idx": first.idx,
        "start": first.start,
        "end": first.end,
        "evidence": first.text,
        "other_sentences": [s.idx for s in meeting.sentences[1:]],
        "venue": meeting.venue["name"],
        "country": meeting.venue.get("country"),
        "start_date": start,
        "end_date": meeting.end if start is not None and meeting.end != start else None,
        "date_precision": precision,
        "parties": _names(view, parties),
        "mediators": _names(view, meeting.mediators | hosts_only),
        "delegates": sorted(meeting.delegates),
        "format": {2: "bilateral", 3: "trilateral"}.get(len(parties), "multilateral" if len(parties) > 3 else None),
        "status": status,
        "topics": sorted(k for k, p in talks.topics.items() if p.search(lower(text))),
        "cameo_code": "046" if talks.negotiate.search(lower(text)) else "040",
        "confidence": round(confidence, 3),
    }


def _names(view: ArticleView, codes: set[str]) -> list[str]:
    names = []
    for code in codes:
        row = entity_row(view.gazetteer, f"place:{code.lower()}")
        if row is not None:
            names.append(str(row["name"]))
    return sorted(names)
