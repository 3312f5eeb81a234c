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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipeline import budget
from pipeline.dates import DateRef
from pipeline.extract.article import ArticleView, SentenceView, memoised
from pipeline.extract.attribution import pronoun_person
from pipeline.extract.figures import lower
from pipeline.extract.places import entity_row
from pipeline.ids import stable_id

Row = dict[str, Any]
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,}(?:,|\s+[–—-])")
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
    opened: bool  # its words say when the round began ("opened on Tuesday")
    recent: bool  # an undated mention that still dates the meeting to publication (ended, under way)
    days: int | None = None  # the round's length in days, where the words give it
    extends: bool = False  # carries the round on to its date ("would resume on December 15")
    definite: bool = False  # "the talks", "the negotiations": a round already spoken of
    series: bool = False  # "a first round": one of a series of rounds at its venue
    three_way: bool = False  # "the trilateral talks"
    proposed: bool = False  # "Trump has floated a meeting with Zelensky": only proposed


@dataclass
class _Meeting:
    venue: Row | None  # None until a later sentence names it
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
    opened: bool = False
    days: int | None = None
    series: bool = False
    three_way: bool = False
    extended: bool = False  # carried on to a later day after the words that ended it ("would resume")


def extract_talks(view: ArticleView) -> list[Row]:
    """Every meeting an article reports, one row each (none unless the article is about talks, when its
    topics are known: "a meeting with President Erdogan" in a strike report is no negotiating round)."""
    if "topics" in view.article and "talks" not in (view.article["topics"] or []):
        return []
    meetings: list[_Meeting] = []
    current: _Meeting | None = None
    extensions: list[_Mention] = []  # "agreed to continue talks over the weekend", before any meeting
    last_mentioned: list[_Meeting] = []
    quiet: list[SentenceView] = []  # sentences that tell of no meeting
    for sv in view.sentences:
        budget.check()
        if sv.heading:
            continue
        touched: list[_Meeting] = []
        for m in _sentence_mentions(view, sv, meetings):
            if m.venue is None and current is None:
                if m.extends:
                    extensions.append(m)
                    continue
                target = _new(meetings, None, "inherited")  # "Putin met late Thursday with ...": venue to come
            elif m.venue is None and m.proposed:  # a meeting of its own, and not the one spoken of
                proposal = _new(meetings, None, "proposed")
                _merge(proposal, m)
                touched.append(proposal)
                continue
            elif m.venue is None:
                assert current is not None
                target = _venueless(view, meetings, current, m)
            else:
                target = _with_venue(view, meetings, current, m)
                for e in extensions:
                    _merge(target, e)
                extensions.clear()
            _merge(target, m)
            current = target
            touched.append(target)
        if touched:
            last_mentioned = touched
        else:
            _quiet_sentence(view, sv, meetings, last_mentioned)
            quiet.append(sv)
    if extensions and all(x.how == "proposed" for x in meetings):
        # "The talks ran for five hours on Friday and will resume on Saturday", with no venue named: the
        # round it carries on is a meeting of its own (whose venue a dateline may give), with the delegations
        # the sentences after it list
        target = _new(meetings, None, "inherited")
        for e in extensions:
            e.extends = False
            if e.start is not None and view.published is not None and e.start <= view.published:
                e.status = "ongoing"  # it ran, and will resume
            _merge(target, e)
        for sv in quiet:
            if sv.idx > extensions[0].sentence.idx:
                _quiet_sentence(view, sv, meetings, [target])
    meetings = _fold_undated(view, meetings)
    _dateline_venue(view, meetings)
    for meeting in meetings:
        # a host whose own people sit at the table counts ("Trump and Putin met in Anchorage")
        if len(meeting.parties - (meeting.hosts - meeting.people)) < 2:
            meeting.parties |= _fallback_parties(view, meeting)
    at_venue: dict[str, list[_Meeting]] = {}
    for meeting in meetings:
        if meeting.venue is not None:
            at_venue.setdefault(meeting.venue["name"], []).append(meeting)
    for meeting in meetings:  # a round of a series sits with the parties of the other rounds at its venue
        venue = meeting.venue
        if meeting.series and len(meeting.parties) < 2 and venue is not None:
            for x in at_venue[venue["name"]]:
                if x is not meeting:  # (its host too, where the other round's people sat at the table)
                    meeting.parties |= x.parties
                    meeting.people |= x.people
        _third_side(view, meeting)
    # a meeting none of whose parties is known, in an article that names this war's sides, is of this war
    kept = [x for x in meetings if _about_this_war(view, x) or (not x.parties and _war_article(view))]
    return [_row(view, x) for x in kept if x.venue is not None]


def _quiet_sentence(view: ArticleView, sv: SentenceView, meetings: list[_Meeting], last: list[_Meeting]) -> None:
    """A sentence that reports no meeting itself may list a delegation or put people at one: of the
    meetings ``last`` spoken of."""
    _delegation_list(view, sv, last)
    _attendance(view, sv, meetings, last)


#: A meeting told this early in an article, with no venue of its own, may sit in the dateline's city.
_DATELINE_SENTENCES = 3


#: Where the words are written: "will convene here", "at a golf club here".
_HERE = re.compile(r"\bhere\b")


def _dateline(view: ArticleView) -> tuple[SentenceView, Row] | None:
    """The article's first sentence and the city of its dateline ("GENEVA – ..."), if it has one."""
    first = next((sv for sv in view.sentences if not sv.heading), None)
    if first is None or not _DATELINE.match(first.text):
        return None
    city = next(
        (
            m
            for m in first.mentions
            if m["label"] == "PLACE" and m["start"] == first.start and m.get("kind") in {"city", "town"}
        ),
        None,
    )
    return (first, city) if city is not None else None


def _dateline_venue(view: ArticleView, meetings: list[_Meeting]) -> None:
    """ "ISTANBUL, May 16 - Russian and Ukrainian negotiators sat down face to face on Friday ...": a meeting
    held or under way that the article's first sentences tell of without naming a venue sits in the city of
    the dateline (not one only planned: a trip elsewhere is announced from home)."""
    dateline = _dateline(view)
    if dateline is None:
        return
    first, city = dateline
    sides = set(view.rules.sides.side_country.values())
    for x in meetings:
        early = bool(x.sentences) and x.sentences[0].idx - first.idx < _DATELINE_SENTENCES
        # the two sides of the war do not meet in the country of either ("KYIV - Ukrainian and Russian
        # negotiators met on Friday")
        enemies = city.get("country") in sides and x.parties >= sides
        held = _status_of(x, view.published) not in _NOT_HELD and x.how != "proposed"
        if x.venue is None and early and not enemies and held:
            x.venue, x.how = city, "dateline"


def _fold_undated(view: ArticleView, meetings: list[_Meeting]) -> list[_Meeting]:
    """An undated meeting at the venue of exactly one dated meeting, that it may be (one's parties among the
    other's, and a status compatible with it, or that meeting held on the day of publication, when it can be
    spoken of as planned, under way or over), is that meeting: a live blog tells of the summit of the day in
    entries written before, during and after it."""
    published = view.published
    dated: dict[str, list[_Meeting]] = {}
    for x in meetings:
        if x.venue is not None and _dates(x, published)[0] is not None:
            dated.setdefault(str(x.venue["name"]), []).append(x)
    out: list[_Meeting] = []
    for x in meetings:
        same = dated.get(str(x.venue["name"]), []) if x.venue is not None else []
        if len(same) == 1 and _dates(x, published)[0] is None and x is not same[0]:
            target = same[0]
            today = _dates(target, published)[0] == published
            sides = not x.parties or not target.parties or x.parties <= target.parties or target.parties <= x.parties
            compatible = _compatible(_status_of(target, published), _status_of(x, published))
            if sides and (today or compatible):
                _absorb(target, x, statuses=compatible)
                continue
        out.append(x)
    return out


def _absorb(target: _Meeting, other: _Meeting, statuses: bool) -> None:
    """Fold what ``other`` says into ``target``, the same meeting; its words of status too if ``statuses``
    (not those of an entry written before or after the day's meeting: the dated one's words decide)."""
    by_idx = {sv.idx: sv for sv in (*target.sentences, *other.sentences)}
    target.sentences = [by_idx[i] for i in sorted(by_idx)]
    if statuses:
        target.statuses += other.statuses
        target.ended |= other.ended
        target.opened |= other.opened
    _union(target, other)
    target.days = target.days or other.days


def _union(meeting: _Meeting, m: _Mention | _Meeting) -> None:
    """Add who sits at the table in ``m`` (a mention or another report of the meeting) to ``meeting``."""
    meeting.parties |= m.parties
    meeting.mediators |= m.mediators
    meeting.hosts |= m.hosts
    meeting.people |= m.people
    meeting.delegates += [d for d in m.delegates if d not in meeting.delegates]
    meeting.series |= m.series
    meeting.three_way |= m.three_way


def _third_side(view: ArticleView, meeting: _Meeting) -> None:
    """A meeting called three-way ("the trilateral consultations") with one or two of the format's three
    sides named (and no other), or none in an article about this war, sits with the rest of them."""
    sides = view.rules.talks.three_way_sides
    if not meeting.three_way:
        return
    if meeting.parties < sides and (meeting.parties or _about_this_war(view, meeting) or _war_article(view)):
        meeting.parties |= sides


def _war_article(view: ArticleView) -> bool:
    """Whether the article names a side of this war: by name or people, or by its capital ("Delegations from
    Washington, Moscow and Kyiv ...")."""

    def names_a_side() -> bool:
        sides = set(view.rules.sides.side_country.values())
        if _article_countries(view) & sides:
            return True
        capitals = view.rules.places.capital_names
        return any(
            m["label"] == "PLACE" and m.get("name") in capitals and m.get("country") in sides
            for sv in view.sentences
            for m in sv.mentions
        )

    return memoised(view.memo, ("war article",), names_a_side)


def _new(meetings: list[_Meeting], venue: Row | None, how: str) -> _Meeting:
    meeting = _Meeting(venue, how)
    meetings.append(meeting)
    return meeting


def _dates(meeting: _Meeting, published: dt.date | None) -> tuple[dt.date | None, dt.date | None, str | None]:
    """A meeting's first and last day as the article gives them: an undated round said to be under way or
    just ended is dated to publication; a length ("the two-day talks ended") sets the other end, back from
    the day given when the round is said to have ended and not when it began, or when on from it would
    pass the day of publication."""
    start, end, precision = meeting.start, meeting.end, meeting.precision
    if start is None and meeting.recent and published is not None:
        start, precision = published, "day"
        if end is not None and end < start:
            end = None
    if start is not None and precision == "day" and meeting.days and meeting.days > 1 and end is None:
        span = dt.timedelta(days=meeting.days - 1)
        # "the two-day talks opened on Wednesday": on from the start; "... concluded on Saturday" (the day
        # of publication): back from it
        beyond = published is not None and start + span > published
        back = meeting.ended and (beyond or not meeting.opened)  # "the two-day talks ended on Wednesday"
        start, end = (start - span, start) if back else (start, start + span)
    return start, end, precision


def _when(m: _Mention, published: dt.date | None) -> tuple[dt.date | None, dt.date | None]:
    """A mention's dates; an undated one that says the round is under way or just ended is of publication."""
    if m.start is None and m.recent:
        return published, None
    return m.start, m.end


def _on(meeting: _Meeting, day: dt.date, published: dt.date | None) -> bool:
    """Whether ``meeting`` is held on ``day``."""
    start, end, _ = _dates(meeting, published)
    return start is not None and start <= day <= (end or start)


def _overlaps(meeting: _Meeting, m: _Mention, published: dt.date | None) -> bool:
    start, end, _ = _dates(meeting, published)
    m_start, m_end = _when(m, published)
    if start is None or m_start is None:
        return False
    return m_start <= (end or start) and start <= (m_end or m_start)


#: Statuses of a meeting that has not taken place: a cancelled meeting is one that was planned.
_NOT_HELD = ("planned", "cancelled")


def _compatible(a: str | None, b: str | None) -> bool:
    """Whether two statuses can be of one meeting: planned and cancelled can, held and ongoing can."""
    if a is None or b is None:
        return True
    return (a in _NOT_HELD) == (b in _NOT_HELD)


def _status_of(meeting: _Meeting, published: dt.date | None = None) -> str | None:
    """The meeting's status so far (None while nothing says)."""
    if not meeting.statuses and _dates(meeting, published)[0] is None:
        return None
    return _status(meeting, published)


def _fits(meeting: _Meeting, m: _Mention, published: dt.date | None) -> bool:
    """Whether mention ``m`` can be about ``meeting``: overlapping dates, or one of them undated and a
    compatible status."""
    if _when(m, published)[0] is not None and _dates(meeting, published)[0] is not None:
        return _overlaps(meeting, m, published)
    return _compatible(_status_of(meeting, published), m.status)


def _find(meetings: list[_Meeting], venue: Row, m: _Mention, published: dt.date | None) -> _Meeting | None:
    """The meeting of ``venue`` that mention ``m`` is about, if one is known."""
    return _last(
        meetings, lambda x: x.venue is not None and x.venue["name"] == venue["name"] and _fits(x, m, published)
    )


def _last(meetings: list[_Meeting], fits: Callable[[_Meeting], bool]) -> _Meeting | None:
    """The latest meeting that ``fits`` (searched from the end: a long article's many rounds stay cheap)."""
    return next((x for x in reversed(meetings) if fits(x)), None)


def _resumes_later(view: ArticleView, current: _Meeting, m: _Mention) -> bool:
    """Whether ``m`` resumes the talks of ``current`` so long after its last day that it is a round of its
    own ("took place on January 23 and 24", then "due to resume on February 1"); if so, ``m`` becomes the
    report of that round, with the parties of the one it resumes."""
    published = view.published
    start, end, _ = _dates(current, published)
    if not (m.extends and m.start is not None and start is not None):
        return False
    if (m.start - (end or start)).days <= view.rules.talks.resume_within_days:
        return False
    m.extends = False
    m.status = "planned" if published is None or m.start >= published else "held"
    m.parties |= current.parties
    return True


def _with_venue(view: ArticleView, meetings: list[_Meeting], current: _Meeting | None, m: _Mention) -> _Meeting:
    published = view.published
    assert m.venue is not None
    same = current is not None and current.venue is not None and current.venue["name"] == m.venue["name"]
    if m.extends and same and current is not None and not _resumes_later(view, current, m):
        return current
    found = _find(meetings, m.venue, m, published)
    if found is not None:
        if m.how == "named" and len(m.parties) >= 2 and not m.parties >= found.parties and _other_pair(view, found, m):
            # "the Moscow meeting followed rounds between the US and Ukraine": a meeting named by its venue
            # is the one known; another pair in the clause sat at other tables
            m.parties = set()
        return found
    x = _last(meetings, lambda x: x.venue is None and _fits(x, m, published) and not _other_pair(view, x, m))
    if x is not None:  # the venue of a meeting named before it ("the meeting at the Kremlin")
        x.venue, x.how = m.venue, m.how
        return x
    return _new(meetings, m.venue, m.how)


def _venueless(view: ArticleView, meetings: list[_Meeting], current: _Meeting, m: _Mention) -> _Meeting:
    """The meeting a clause that names no venue is about."""
    published = view.published
    if m.extends and not _resumes_later(view, current, m):
        return current
    if _other_pair(view, current, m):  # "the US delegation also held talks with the Saudi crown prince"
        if m.start is None and current.sentences and current.sentences[-1] is m.sentence:
            m.start, m.end, m.precision = current.start, current.end, current.precision  # "and later that day"
        return _new(meetings, current.venue, "inherited")
    if m.definite and m.start is None and not m.recent:  # "the talks lasted four hours": a round spoken of
        if _compatible(_status_of(current, published), m.status):
            return current
        return _last(meetings, lambda x: _compatible(_status_of(x, published), m.status)) or current
    if _when(m, published)[0] is not None:
        dated = _last(meetings, lambda x: _overlaps(x, m, published))
        if dated is not None:  # "as talks were underway" overnight: the round of that date
            return dated
        if _dates(current, published)[0] is None and _compatible(_status_of(current, published), m.status):
            return current
        if m.start is None:  # under way or just ended, and no round of today known yet
            undated = _last(
                meetings, lambda x: _dates(x, published)[0] is None and _compatible(_status_of(x, published), m.status)
            )
            if undated is not None:
                return undated
    elif _compatible(_status_of(current, published), m.status):
        return current
    else:
        fitting = _last(meetings, lambda x: _compatible(_status_of(x, published), m.status))
        if fitting is not None:
            return fitting
    # another round at the venue last spoken of ("the talks on May 16", "a second meeting next week")
    target = _new(meetings, current.venue, "inherited")
    if not m.parties:
        m.parties = set(current.parties)
    return target


def _other_pair(view: ArticleView, current: _Meeting, m: _Mention) -> bool:
    """Two sides at a table other than the meeting's: a country the meeting neither seats nor mediates,
    met by one of its parties ("Americans met German officials"), or the one a clause says was met ("held
    talks with the crown prince")."""
    if len(current.parties) < 2 or not m.parties:
        return False
    new = m.parties - current.parties - current.mediators  # the host met apart is another meeting too
    if not new or len(m.parties) >= 2:
        return bool(new)
    sv = m.sentence
    met = view.rules.talks.grammar["talks_with"].search(sv.lower)
    if met is None:
        return False
    after = {str(x.get("country")) for x in sv.mentions if x["label"] == "PERSON" and x["start"] - sv.start > met.end()}
    after |= {code for s, _, code in _country_words(view, sv, met.end(), len(sv.text))}
    return bool(new & after)


def _merge(meeting: _Meeting, m: _Mention) -> None:
    if m.sentence not in meeting.sentences:
        meeting.sentences.append(m.sentence)
    meeting.days = meeting.days or m.days
    # "before talks resume in Abu Dhabi on Wednesday", of a round the article tells nothing else of: the day
    # it resumes is the one known
    fresh = m.venue is not None and meeting.start is None and meeting.sentences == [m.sentence] and not meeting.statuses
    if m.extends and not fresh:  # the date given is the round's last day
        if m.start is not None and (meeting.start is None or m.start > meeting.start):
            meeting.end = max(d for d in (meeting.end, m.end, m.start) if d is not None)
            meeting.extended = True
        meeting.parties |= m.parties
        meeting.delegates += [d for d in m.delegates if d not in meeting.delegates]
        return
    if m.start is not None:
        if meeting.start is None or (meeting.precision != "day" and m.precision == "day"):
            later = meeting.end if meeting.end is not None and meeting.end > m.start else None
            meeting.start, meeting.end, meeting.precision = m.start, m.end or later, m.precision
        else:
            if m.start < meeting.start and m.precision == "day":
                meeting.start = m.start
            last = max(d for d in (meeting.end, m.end, m.start, meeting.start) if d is not None)
            meeting.end = last if last != meeting.start else meeting.end
    if m.status:
        meeting.statuses.append(m.status)
    _union(meeting, m)
    meeting.recent |= m.recent
    meeting.ended |= m.ended
    meeting.opened |= m.opened


# --------------------------------------------------------------------------- one sentence


def _sentence_mentions(view: ArticleView, sv: SentenceView, meetings: list[_Meeting]) -> list[_Mention]:
    talks = view.rules.talks
    grammar = talks.grammar
    t = sv.lower
    if not _is_meeting(view, sv, 0, len(t)):
        return []
    clauses = sv.clauses
    out: list[_Mention] = []
    prev_venues: list[tuple[Row, int, str]] = []
    prev_people: tuple[list[str], set[str]] = ([], set())
    for a, b in clauses:
        ct = t[a:b]
        if talks.not_meeting.search(ct) and not talks.meeting.search(talks.not_meeting.sub(" ", ct)):
            continue  # a call, a letter: unless the clause also tells of a meeting ("... summit, after a call")
        if talks.forum.search(ct) and not talks.meeting.search(talks.travel.sub(" ", talks.forum.sub(" ", ct))):
            continue  # "arrived in Vilnius for a summit of the Bucharest Nine": the forum's gathering
        if not _is_meeting(view, sv, a, b):
            # "..., and with the Russian delegation, led by Vladimir Medinsky", "..., according to Rustem
            # Umerov, who leads the Ukrainian team": the people of the meeting just told
            here = _venues(view, sv, a, b)
            if out and (grammar["continues"].match(ct) or talks.delegation.search(ct)):
                last = out[-1]
                more = _delegates(view, sv, a, b)
                last.delegates += [d for d in more if d not in last.delegates]
                people = {str(m["country"]) for m in _delegate_mentions(view, sv, a, b) if m.get("country")}
                last.people |= people
                last.parties |= people | {c for _, _, c in _country_words(view, sv, a, b)}
                if last.venue is None and here and grammar["continues"].match(ct):
                    # "Talks between ..., with US mediators in the room, opened in Geneva on Tuesday"
                    last.venue, last.how = here[0][0], here[0][2]
                    ref = _meeting_date(view, sv, a, b) if last.start is None else None
                    if ref is not None:
                        last.start, last.end, last.precision = ref.start, ref.end, ref.precision
            prev_venues = here or prev_venues
            # "Ushakov, Witkoff and Kushner speak | before meeting Putin": the subjects of the clause that
            # a gerund of meeting goes on from
            subjects = _subject(view, sv, a, len(ct.rstrip(" ,")) + a)
            if subjects:  # a clause with no one in it ("..., the Kremlin said, ...") keeps those before
                prev_people = (
                    [str(x["name"]) for x in subjects],
                    {str(x["country"]) for x in subjects if x.get("country")},
                )
            continue
        venues = _venues(view, sv, a, b)
        if not venues and grammar["venue_of"].match(ct) and prev_venues:
            venues = prev_venues[-1:]
        if not venues and _HERE.search(ct):  # "will convene here on Tuesday": where the story was filed
            dateline = _dateline(view)
            venues = [(dateline[1], a, "dateline")] if dateline is not None else []
        ref = _moved_date(view, sv, a, b) or _meeting_date(view, sv, a, b)
        found: list[tuple[Row | None, int, str]] = [*_distinct(venues)] or [(None, a, "inherited")]
        for venue, _, how in found:
            m = _mention(view, sv, a, b, venue, how, ref)
            if grammar["gerund"].match(ct):  # "..., before heading to Abu Dhabi": the same people go on
                m.delegates = [*prev_people[0], *(d for d in m.delegates if d not in prev_people[0])]
                m.people |= prev_people[1]
                m.parties |= m.people
            out.append(m)
            prev_people = _subjects(view, sv, a, b, m)
        prev_venues = venues or prev_venues
    _day_before(view, sv, out, meetings)
    return out


#: Between a verb of receiving and a person: another object ("a call from", "a letter by", "news of").
_NOT_RECEIVED = re.compile(r",|\b(?:from|by|of|about|on)\b")


def _is_meeting(view: ArticleView, sv: SentenceView, a: int, b: int) -> bool:
    """Whether ``[a, b)`` tells of a meeting."""
    return _cue(view, sv, a, b) is not None


def _cue(view: ArticleView, sv: SentenceView, a: int, b: int) -> int | None:
    """Where ``[a, b)`` first tells of a meeting: its meeting words, or one receiving another ("Putin
    received Witkoff in the Kremlin", "welcomed the Ukrainian delegation"), the one received a person or a
    delegation (not "received 1,000 prisoners"); None if it does not."""
    talks = view.rules.talks
    t = sv.lower
    met = talks.meeting.search(t, a, b)
    stop = met.start() if met else b
    for r in talks.receive.finditer(t, a, stop):
        if talks.receive_object.match(t, r.end()):
            return r.start()
        near = t[r.end() : r.end() + 60]
        for m in sv.mentions:
            s = m["start"] - sv.start
            # "received Witkoff", not "received a call from Trump"
            if (
                m["label"] == "PERSON"
                and r.end() <= s < min(b, r.end() + 60)
                and not _NOT_RECEIVED.search(near[: s - r.end()])
            ):
                return r.start()
    return met.start() if met else None


def _distinct(venues: list[tuple[Row, int, str]]) -> list[tuple[Row, int, str]]:
    seen: dict[str, tuple[Row, int, str]] = {}
    for v in venues:
        seen.setdefault(str(v[0]["name"]), v)
    return list(seen.values())


def _venues(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[tuple[Row, int, str]]:
    """(venue, position, how) for each place in ``[a, b)`` that a meeting is said to be held at."""
    talks, gaz = view.rules.talks, view.gazetteer
    text, t = sv.text, sv.lower
    out: list[tuple[Row, int, str]] = []
    for m in sv.mentions:
        s, e = m["start"] - sv.start, m["end"] - sv.start
        if not a <= s < b:
            continue
        before, after = t[max(a, s - 60) : s], t[e : e + 40]
        # "returned to Moscow from Abu Dhabi, where it held consultations": a place the clause goes on
        # to tell a meeting of is its venue, whatever stands before it
        where = _where_meeting(view, t, e, b)
        if (talks.not_venue_before.search(before) and not where) or (s == 0 and _DATELINE.match(text)):
            continue
        words = before.split()
        prep = where or (
            bool(words)
            and (
                words[-1] in talks.venue_before
                or (words[-1] == "the" and len(words) > 1 and words[-2] in talks.venue_before)
                or (
                    words[-1] in {"a", "an"}
                    and len(words) > 1
                    and words[-2] in talks.venue_before
                    and talks.grammar["venue_building"].match(t, e) is not None
                )
                or bool(talks.grammar["city_of"].search(before))  # "in the Saudi port city of Jeddah"
            )
        )
        # "the Moscow-Kyiv talks", "US-Russia talks": a place joined to another name by a hyphen names a side
        joined = t[s - 1 : s] in {"-", "–"} or t[e : e + 1] in {"-", "–"}
        named = bool(talks.venue_after.match(after)) and not joined
        host = bool(talks.venue_host.search(before))
        if not (prep or named or host):
            continue
        how = "host" if host else "named" if named and not prep else "preposition"
        if m["label"] == "ORG" and m["name"] in talks.seats:
            row = entity_row(gaz, talks.seats[str(m["name"])])
            if row is not None:  # a seat of government, or a palace or hall that only lends the room
                out.append((row, s, "seat" if m.get("kind") in talks.seat_kinds else how))
            continue
        if m["label"] != "PLACE" or talks.building_after.match(text, e):
            continue  # "at Lancaster House": a building named after a place is not that place
        if m.get("kind") == "country":
            if (words and words[-1] == "on") or talks.country_modifier_after.match(t, e):
                # "counting on America", "pressure on Russia": no meeting is held on a country; "at the U.S.
                # mission in Geneva": the country only qualifies the building
                continue
            city = _article_city(view, str(m.get("country") or ""))
            if city is not None and m.get("country") not in view.rules.sides.side_country.values():
                out.append((city, s, "country"))
        elif m.get("kind") in {"city", "town"}:
            out.append((m, s, how))
        elif m.get("kind") == "region" and m.get("country") not in view.rules.sides.side_country.values():
            # "the summit in Alaska": the region's city the article names, else the region itself
            out.append((_article_city(view, str(m.get("country") or ""), str(m.get("admin1") or "")) or m, s, how))
    for cap in view.rules.places.capital_phrase.finditer(t, a, b):
        if talks.not_venue_before.search(t[max(a, cap.start() - 60) : cap.start()]):
            continue  # "speaking in the Turkish capital"
        words = t[max(a, cap.start() - 30) : cap.start()].split()
        if not words or not (words[-1] in talks.venue_before or talks.venue_host.search(" ".join(words) + " ")):
            continue
        code = view.rules.sides.demonyms.get(cap.group("who"))
        capital = view.rules.places.capitals.get(code or "")
        row = entity_row(gaz, capital) if capital else None
        if row is not None:
            out.append((row, cap.start(), "capital"))
    for phrase in view.rules.places.city_phrase.finditer(t, a, b):
        words = t[max(a, phrase.start() - 30) : phrase.start()].split()
        code = view.rules.sides.demonyms.get(phrase.group("who"))
        if not words or words[-1] not in talks.venue_before or not code:
            continue
        city = _article_city(view, code)
        if city is not None:
            out.append((city, phrase.start(), "city"))
    out.sort(key=lambda v: v[1])
    # "In Kyiv, Zelensky said that Umerov would meet Witkoff in Miami": where the speaker is, when the words
    # go on to name the meeting's own place
    return [v for v in out if not (_spoken_from(view, sv, a, v[1]) and any(w[1] > v[1] for w in out))]


def _spoken_from(view: ArticleView, sv: SentenceView, a: int, s: int) -> bool:
    """Whether the place at ``s`` opens the clause ("In Kyiv, ...") and a speaker's words follow it."""
    t = sv.lower
    if t[a:s].strip() != "in":
        return False
    comma = t.find(",", s, s + 40)
    said = view.rules.sources.speech.search(t, comma, comma + 80) if comma >= 0 else None
    return said is not None and view.rules.talks.meeting.search(t, comma, said.start()) is None


def _where_meeting(view: ArticleView, t: str, e: int, b: int) -> bool:
    """Whether a place ending at ``e`` is followed by ", where" and a meeting ("from Abu Dhabi, where it held
    consultations"), not by what someone said there ("in Davos, where Witkoff said ...")."""
    talks = view.rules.talks
    w = talks.grammar["where_after"].match(t, e)
    if w is None:
        return False
    cue = talks.meeting.search(t, w.end(), min(b, w.end() + 100))
    said = view.rules.sources.speech.search(t, w.end(), cue.start()) if cue else None
    return cue is not None and said is None


def _article_city(view: ArticleView, country: str, region: str | None = None) -> Row | None:
    """The first city of ``country`` (of its ``region`` when given) the article names."""
    for sv in view.sentences:
        for m in sv.mentions:
            is_city = m["label"] == "PLACE" and m.get("kind") == "city" and m.get("country") == country
            if is_city and (region is None or m.get("admin1") == region):
                return m
    return None


def _meeting_date(view: ArticleView, sv: SentenceView, a: int, b: int) -> DateRef | None:
    """The date of the meeting a clause reports: not the date of a report ("said on Monday"), not a
    dateline; the one nearest the meeting words."""
    t = sv.lower
    grammar = view.rules.talks.grammar
    refs = []
    for ref in sv.dates:
        if not a <= ref.at < b:
            continue
        at = ref.at
        words_before = " ".join(t[max(0, at - 40) : at].split()[-3:]) + " "
        # the date of a report ("told reporters on Monday"), unless what the report tells happened then too
        # ("said on Thursday as the talks wrapped up"), or of what came before; a day that owns the next noun
        # names what is said of ("Rubio said Sunday's talks had been productive")
        owns = _POSSESSOR.match(t, ref.stop) is not None or t[ref.at : ref.stop].endswith(("'s", "’s"))
        report = view.rules.sources.speech.search(words_before) and not grammar["as_then"].match(t, ref.stop)
        report = report and not owns
        # "since Monday's second round" dates the round; "since Thursday to protest against Friday's meeting"
        # still dates what came before
        since = grammar["since_before"].search(t[max(0, at - 60) : at])
        if report or (since and not (owns and since.group(0).split()[-1] in {"since", "until"})):
            continue
        if _statement_date(grammar, t, ref):
            continue  # "proposed today that ...": the day of the proposal
        if at < 30 and _DATELINE.match(sv.text):
            continue
        if owns and _names_meeting(view, t, ref.stop):
            return ref  # "ahead of Thursday's round": the day that owns the meeting's noun is its day
        refs.append((at, ref))
    if not refs:
        return None
    cue = _cue(view, sv, a, b)
    pos = cue if cue is not None else a  # the first meeting words ("will receive Witkoff ... on Thursday")
    # "On Tuesday, he remarked that a meeting ...": a date before a verb of saying that comes before the
    # meeting words is the day of the remark
    speech = view.rules.sources.speech
    refs = [(at, r) for at, r in refs if not (r.stop < pos and _remark_between(t, r.stop, pos, speech))]
    if not refs:
        return None
    # a bare month far from the meeting words dates something else ("a plan first presented in November")
    refs = [(at, r) for at, r in refs if r.precision == "day" or abs(at - pos) <= 60]
    return min(refs, key=lambda r: abs(r[0] - pos))[1] if refs else None


#: After a day: its possessive and at most two words ("Thursday's three-way session").
_OWNED = re.compile(r"(?:[’']s)?\s+(?:[\w-]+\s+){0,2}?")


def _names_meeting(view: ArticleView, t: str, stop: int) -> bool:
    """Whether the day ending at ``stop`` owns a meeting's noun ("Thursday's round", "Friday’s talks")."""
    owned = _OWNED.match(t, stop)
    if owned is None or not (t[:stop].endswith(("'s", "’s")) or _POSSESSOR.match(t, stop)):
        return False
    for gap in range(stop, owned.end() + 1):
        if (gap == stop or t[gap - 1] == " ") and view.rules.talks.meeting.match(t, gap):
            return True
    return False


def _moved_date(view: ArticleView, sv: SentenceView, a: int, b: int) -> DateRef | None:
    """ "The talks expected today have been pushed back to Friday": the day a meeting was moved to."""
    moved = view.rules.talks.grammar["moved_to"].search(sv.lower, a, b)
    if moved is None:
        return None
    return next((ref for ref in sv.dates if moved.end() <= ref.at < min(b, moved.end() + 30)), None)


def _statement_date(grammar: dict[str, re.Pattern[str]], t: str, ref: DateRef) -> bool:
    """A date between a verb and the "that" of its clause ("proposed today that ..."), in a sentence
    that is not cleft ("it was on Monday that ...")."""
    if not grammar["statement_date"].match(t[ref.stop : ref.stop + 12]):
        return False
    before = t[max(0, ref.at - 30) : ref.at]
    verb = before.removesuffix("on ").removesuffix("in ")  # "agreed on Monday that"
    return bool(grammar["statement_verb"].search(verb)) and not grammar["cleft"].search(before)


_THAT = re.compile(r"\bthat\b")


def _remark_between(t: str, a: int, b: int, speech: re.Pattern[str]) -> bool:
    """A verb of saying and its "that" between ``a`` and ``b`` ("..., he remarked at the White House that
    ..."), not a noun that looks like one ("amid reports of progress")."""
    said = speech.search(t, a, b)
    return said is not None and _THAT.search(t, said.end(), b) is not None


def _mention(
    view: ArticleView, sv: SentenceView, a: int, b: int, venue: Row | None, how: str, ref: DateRef | None
) -> _Mention:
    talks = view.rules.talks
    t = sv.lower
    ct = t[a:b]
    sentence_t = t
    start = ref.start if ref else None
    end = ref.end if ref else None
    precision = ref.precision if ref else None
    ended = bool(talks.ended.search(ct))
    days = int(talks.multi_day.first(sentence_t) or 0) or None
    nth = int(talks.nth_day.first(ct) or 0) or None
    if start is None and view.published is not None and (nth or talks.same_day.search(ct)):
        start, precision = view.published, "day"  # "for a second day", "hours before talks in Geneva"
    if start is not None and precision == "day" and nth and end is None:
        began = talks.grammar["opened"].search(ct)
        day_words = talks.nth_day.any.search(ct)
        if ref is not None and began and day_words and began.start() < day_words.start():
            # "which began on Thursday, are in their second day" (not "the third day began this morning")
            start, end = start, start + dt.timedelta(days=nth - 1)
        else:  # "on Friday, the second day of talks"
            start, end = start - dt.timedelta(days=nth - 1), start
    extends = bool(talks.resume.search(ct)) and start is not None
    cue = _cue(view, sv, a, b)
    pos = cue - a if cue is not None else 0  # where the clause's meeting words begin
    status = None if extends else _clause_status(view, ct, pos)
    if status == "planned":
        days = None  # "further talks ... over the two days of negotiations": the length is the past round's
    parties, mediators, hosts, people = _parties(view, sv, a, b, venue)
    if how == "seat" and venue is not None and venue.get("country"):
        # "five hours with Witkoff at the Kremlin": the government whose seat it is sits at the table
        people.add(str(venue["country"]))
        parties.add(str(venue["country"]))
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
        opened=bool(talks.grammar["opened"].search(ct)),
        recent=ended or status == "ongoing" or bool(talks.just_held.search(ct)),
        days=days,
        extends=extends,
        definite=bool(talks.grammar["definite"].search(ct)) and not talks.grammar["new_round"].search(ct),
        series=bool(talks.series.search(ct)),
        three_way=bool(talks.three_way.search(ct)),
        proposed=_proposed(view, ct, pos),
    )


def _proposed(view: ArticleView, ct: str, pos: int) -> bool:
    """Whether the clause only proposes its meeting: a word of proposal at most six words before its
    meeting words at ``pos`` ("has floated a trilateral meeting", "suggested that the delegations meet")."""
    before = " ".join(ct[:pos].split()[-7:])
    return bool(view.rules.talks.proposal.search(before))


def _clause_status(view: ArticleView, ct: str, pos: int) -> str | None:
    """The status a clause's tense words give: the word nearest its meeting words (at ``pos``) wins."""
    talks = view.rules.talks
    spans = [(m.start(), m.end(), rank, s) for rank, (s, p) in enumerate(talks.status) for m in p.finditer(ct)]
    # a word inside a longer phrase counts as the phrase ("had" in "had begun")
    spans = [x for x in spans if not any(o[0] <= x[0] and x[1] <= o[1] and o[1] - o[0] > x[1] - x[0] for o in spans)]
    found = [(abs(a - pos), rank, s, ct[a:b]) for a, b, rank, s in spans]
    if not found:
        return None
    _, _, nearest, word = min(found)
    if any(s == "cancelled" for _, _, s, _ in found) and (nearest == "planned" or word in _AUXILIARIES):
        return "cancelled"  # "cancelled the planned summit", "had been called off": what was planned is off
    return nearest


#: Tense words that only help another verb ("had been cancelled"): they yield to a cancellation.
_AUXILIARIES = frozenset({"had", "has", "have", "was", "were"})


def _subjects(view: ArticleView, sv: SentenceView, a: int, b: int, m: _Mention) -> tuple[list[str], set[str]]:
    """The delegates a clause names before its meeting words (its subjects), and their countries."""
    cue = _cue(view, sv, a, b)
    stop = cue if cue is not None else b
    found = [x for x in _delegate_mentions(view, sv, a, b) if x["start"] - sv.start < stop]
    return [str(x["name"]) for x in found], {str(x["country"]) for x in found if x.get("country")}


def _day_before(view: ArticleView, sv: SentenceView, mentions: list[_Mention], meetings: list[_Meeting]) -> None:
    """ "X met Y late Thursday, a day before talks in Abu Dhabi": one meeting's date from the other's (or
    from the date the article gave that meeting before)."""
    talks = view.rules.talks
    t = sv.lower
    for pattern, shift in ((talks.day_before, 1), (talks.day_after, -1)):
        m = pattern.search(t)
        if m is None or len(mentions) < 2:
            continue
        inside = [x for x in mentions if x.venue is not None and m.end() <= _venue_pos(sv, x) < m.end() + 60]
        others = [x for x in mentions if x not in inside]
        if not inside or not others:
            continue
        for x in inside:
            start = x.start
            if start is None and x.venue is not None:
                same = [
                    k
                    for k in meetings
                    if k.venue is not None
                    and k.venue["name"] == x.venue["name"]
                    and _compatible(_status_of(k, view.published), x.status)
                ]
                known = [_dates(k, view.published)[0] for k in same]
                start = next((d for d in reversed(known) if d is not None), None)
            for o in others:
                if o.start is None and start is not None:
                    o.start, o.precision = start - dt.timedelta(days=shift), "day"
                elif x.start is None and o.start is not None:
                    x.start, x.precision = o.start + dt.timedelta(days=shift), "day"


def _venue_pos(sv: SentenceView, m: _Mention) -> int:
    name = str(m.venue["name"]) if m.venue else ""
    for x in sv.mentions:
        if x.get("name") == name:
            return int(x["start"]) - sv.start
    return -1


# --------------------------------------------------------------------------- who is at the table


def _country_words(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[tuple[int, int, str]]:
    """(start, end, country code) of every country named in ``[a, b)``, by name or demonym."""
    found = memoised(sv.memo, ("country_words",), lambda: _find_country_words(view, sv))
    return found if (a, b) == (0, len(sv.text)) else [x for x in found if a <= x[0] < b]


def _find_country_words(view: ArticleView, sv: SentenceView) -> list[tuple[int, int, str]]:
    text, t = sv.text, sv.lower
    out: list[tuple[int, int, str]] = []
    capitals = view.rules.places.capital_names
    for m in sv.mentions:
        s, e = m["start"] - sv.start, m["end"] - sv.start
        if not (m["label"] == "PLACE" and m.get("country")):
            continue
        words = t[max(0, s - 12) : s].split()
        venue = bool(words) and words[-1] in view.rules.talks.venue_before
        if m.get("kind") == "country" or (m.get("name") in capitals and not venue):  # "Moscow is willing"
            out.append((s, e, str(m["country"])))
    for d in view.rules.sides.demonym.finditer(t):
        if d.group(0) == "us" and text[d.start() : d.end()] != "US":
            continue  # the pronoun
        if any(s < d.end() and d.start() < e for s, e, _ in out):
            continue
        out.append((d.start(), d.end(), view.rules.sides.demonyms[d.group(0)]))
    return sorted(out)


def _participant(view: ArticleView, t: str, s: int, e: int, a: int, b: int) -> bool:
    talks = view.rules.talks
    before, after = t[max(a, s - 60) : s], t[e : min(b, e + 60)]
    if talks.relational_before.search(before) or talks.relational_after.match(after):
        return False
    return bool(talks.participant_before.search(before) or talks.participant_after.match(after))


def _in_list(
    view: ArticleView, items: list[tuple[int, int, str]], t: str, gap: re.Pattern[str] | None = None
) -> list[list[tuple[int, int, str]]]:
    """Items named as one list ("the United Kingdom, France, and Germany") grouped together; ``gap``: what
    may stand between two of them (by default a list's joiners)."""
    gap = gap or view.rules.clauses.list_gap
    groups: list[list[tuple[int, int, str]]] = []
    for item in items:
        if groups and gap.fullmatch(t, groups[-1][-1][1], item[0]):
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
    text, t = sv.text, sv.lower
    parties: set[str] = set()
    own, hosting, side = (talks.grammar[k] for k in ("own_people", "hosting_after", "side_before"))
    people: set[str] = set()
    for group in _in_list(view, _country_words(view, sv, a, b), t):
        if any(_participant(view, t, s, e, a, b) for s, e, _ in group):
            parties |= {code for _, _, code in group}
            # "American officials met a Ukrainian delegation in Miami": the host's own people are at the table
            # ("Turkish officials said" only speaks of it)
            people |= {code for _, e, code in group if _own_people(view, own.match(t[e:b]), t, e)}
            # a side named as one ("talks between Ukraine and the United States in Miami") sits at the table
            # even in its own country; one that "hosted the talks" may only lend the room
            named = len(group) > 1 or side.search(t, max(a, group[0][0] - 40), group[0][0])
            if named and not any(hosting.match(t, e, b) for _, e, _ in group):
                people |= {code for _, _, code in group}
    parties |= _pair_sides(view, t, a, b)
    # "the U.S.-Russian talks": the two sides a hyphen joins before the meeting's noun
    for pair in talks.grammar["side_pair"].finditer(t, a, b):
        words = [w for w in pair.group("x", "y", "z") if w]
        codes = {_code(view, w) for w in words}
        if None not in codes and len(codes) == len(words):
            parties |= {c for c in codes if c}
            people |= {c for c in codes if c}
    people |= {str(m["country"]) for m in _delegate_mentions(view, sv, a, b) if m.get("country")}
    parties |= people
    if not parties:  # "At that meeting, held in Istanbul, the two sides agreed ...": the sentence names them
        parties |= _pair_sides(view, t, 0, len(t))
    with_ = talks.grammar["talks_with"].search(t, a, b)
    if with_ is not None and len(parties) < 2:  # "Moscow is willing to pursue talks with Ukrainian delegations"
        parties |= {code for _, _, code in _country_words(view, sv, a, with_.start())}
    mediators = _named_by(view, talks.mediator, text, a, b)
    hosts = _named_by(view, talks.host, text, a, b)
    if venue is not None and venue.get("country"):
        hosts.add(str(venue["country"]))
    parties |= mediators
    return parties - view.rules.talks.not_parties, mediators, hosts, people


def _own_people(view: ArticleView, found: re.Match[str] | None, t: str, e: int) -> bool:
    """Whether ``found``, the people of a country named just before ``e``, do more than report."""
    return found is not None and not _speaks_at(view, t, e + found.end())


def _pair_sides(view: ArticleView, t: str, a: int, b: int) -> set[str]:
    """The sides of this war the article names, when ``t[a:b]`` speaks of them as a pair ("the two sides",
    "Kyiv and Moscow"), unless the pair names the war ("the war between Kyiv and Moscow")."""
    talks = view.rules.talks
    pair = view.rules.sides.pair.search(t, a, b)
    if pair is None or (
        talks.relational_before.search(t[max(a, pair.start() - 60) : pair.start()])
        or talks.relational_after.match(t[pair.end() : min(b, pair.end() + 60)])
    ):
        return set()
    return set(view.rules.sides.side_country.values()) & _article_countries(view)


def _named_by(view: ArticleView, patterns: tuple[re.Pattern[str], ...], text: str, a: int, b: int) -> set[str]:
    """The countries the phrases ``patterns`` name in ``text[a:b]`` (their group "who")."""
    codes = {_code(view, m.group("who")) for pattern in patterns for m in pattern.finditer(text, a, b)}
    return {c for c in codes if c}


def _article_countries(view: ArticleView) -> set[str]:
    """Every country the article names, by name or demonym."""

    def every() -> set[str]:
        return {code for sv in view.sentences for _, _, code in _country_words(view, sv, 0, len(sv.text))}

    return memoised(view.memo, ("countries",), every)


def _about_this_war(view: ArticleView, meeting: _Meeting) -> bool:
    """A meeting with a side of this war at the table, or told in sentences that name one."""
    sides = set(view.rules.sides.side_country.values())
    if meeting.parties & sides:
        return True
    for sv in meeting.sentences:
        people = {m.get("country") for m in sv.mentions if m["label"] == "PERSON"}
        if people & sides or any(code in sides for _, _, code in _country_words(view, sv, 0, len(sv.text))):
            return True
    return False


def _code(view: ArticleView, words: str) -> str | None:
    w = words.lower().strip()
    if w in view.rules.sides.demonyms:
        return view.rules.sides.demonyms[w]
    row = entity_row(view.gazetteer, words.strip())
    if row is not None:
        return str(row["country"]) if row.get("kind") == "country" else str(row.get("country") or "") or None
    return None


def _relational(view: ArticleView, sv: SentenceView, m: Row, a: int, b: int) -> bool:
    """A person named only in relation to another ("an aide to President Putin", "Trump's son-in-law"), not
    one who leads the team named after them."""
    talks = view.rules.talks
    t = sv.lower
    s, e = m["start"] - sv.start, m["end"] - sv.start
    if talks.relational_before.search(t[max(a, s - 60) : s]):
        return True  # "Trump urged Umerov's team": the words before decide first
    return not _leads_team(view, sv, m) and bool(talks.relational_after.match(t[e : e + 60]))


def _leads_team(view: ArticleView, sv: SentenceView, m: Row) -> bool:
    """ "Umerov's delegation", "Marco Rubio's team": a negotiator leads the team named after them (a head of
    state or government does not sit with "Trump's team")."""
    talks = view.rules.talks
    if not talks.grammar["own_team"].match(sv.lower, m["end"] - sv.start):
        return False
    return not talks.leader_role.search(lower(str(m.get("kind") or "")))


def _qualifies(view: ArticleView, sv: SentenceView, m: Row) -> bool:
    """A name used as a modifier of a role noun ("Trump envoy", "Putin aide")."""
    return bool(view.rules.talks.qualifier.match(sv.lower, m["end"] - sv.start))


def _is_delegate(view: ArticleView, sv: SentenceView, m: Row, a: int, b: int) -> bool:
    talks = view.rules.talks
    t = sv.lower
    s, e = m["start"] - sv.start, m["end"] - sv.start
    before, after = t[max(a, s - 90) : s], t[e : min(b, e + 160)]
    if _relational(view, sv, m, a, b):
        return False
    if _leads_team(view, sv, m) or talks.participant_before.search(before) or talks.participant_after.match(after):
        return True
    near = t[max(a, s - 40) : min(b, e + 40)]
    role = lower(str(m.get("kind") or ""))
    return bool(talks.negotiator.search(near) or talks.negotiator.search(role))


def _delegate_mentions(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[Row]:
    """The people of ``[a, b)`` taking part; people named in one list with one who does, too."""
    return memoised(sv.memo, ("delegates", a, b), lambda: _find_delegates(view, sv, a, b))


def _find_delegates(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[Row]:
    t = sv.lower
    # a name that only qualifies another's role ("Trump envoy Steve Witkoff") is no item of a list
    persons = [
        m
        for m in sv.mentions
        if m["label"] == "PERSON" and a <= m["start"] - sv.start < b and not _qualifies(view, sv, m)
    ]
    items = [(m["start"] - sv.start, m["end"] - sv.start, str(i)) for i, m in enumerate(persons)]
    out: list[Row] = []
    grammar = view.rules.talks.grammar
    for group in _in_list(view, items, sv.text, grammar["people_list_gap"]):  # titles keep their capitals
        members = [persons[int(k)] for _, _, k in group]
        if any(_is_delegate(view, sv, m, a, b) for m in members):
            out += [m for m in members if not _relational(view, sv, m, a, b)]
    # "a Trump-Putin summit": the two whose names, joined by a hyphen, name the meeting
    for group in _in_list(view, items, t, grammar["name_pair_gap"]):
        if len(group) > 1 and grammar["pair_named"].match(t, group[-1][1]):
            out += [persons[int(k)] for _, _, k in group if persons[int(k)] not in out]
    return out + _pronoun_delegates(view, sv, a, b, out)


_PRONOUN = re.compile(r"\b(?:he|she)\b")
# "him" or "her" as the object of a verb or preposition, not "her" before the noun it owns ("her team")
_OBJECT = re.compile(r"\b(?:him|her(?=\s*(?:[,.;]|$|\s+(?:in|at|on|across|for|and|to|with|as)\b)))\b")
_POSSESSOR = re.compile(r"[’']s\b")
# "his talks with Witkoff", "her meeting with Putin": the one whose meeting it is takes part
_OWN_MEETING = re.compile(
    r"\b(?:his|her)\b(?=\s+(?:[\w-]+\s+)?(?:talks|meeting|meetings|negotiations|session|sit-down|summit)\s+with\b)"
)


def _pronoun_delegates(view: ArticleView, sv: SentenceView, a: int, b: int, named: list[Row]) -> list[Row]:
    """ "Trump said he would meet Putin", "bound for Alaska, where he and Putin are due to hold a summit",
    "Rubio smiled, while the Ukrainians facing him across the table ...": the person "he", "she", "him" or
    "her" means, as the subject or object of a meeting or in one list with a delegate (``named``)."""
    t, out = sv.lower, []
    everyone = [m for m in sv.mentions if m["label"] == "PERSON"]
    gap = view.rules.talks.grammar["people_list_gap"]
    talks = view.rules.talks
    subjects = [(p, False) for p in _PRONOUN.finditer(t, a, b)]
    # "His talks with Witkoff ...", opening the sentence: the one who spoke last (inside a sentence, "his"
    # may be anyone's named before it)
    subjects += [(p, False) for p in _OWN_MEETING.finditer(t, a, b) if not t[: p.start()].strip(' "“')]
    objects = [(p, True) for p in _OBJECT.finditer(t, a, b)]
    for p, obj in sorted(subjects + objects, key=lambda x: x[0].start()):
        after = t[p.end() : min(b, p.end() + 160)]
        if obj:  # "the Ukrainians facing him across the table", "talks with her"
            if not (
                talks.participant_after.match(after)
                or talks.participant_before.search(t[max(a, p.start() - 60) : p.start()])
            ):
                continue
        elif not (
            any(gap.fullmatch(sv.text, p.end(), m["start"] - sv.start) for m in named)
            or talks.participant_after.match(after)
            or p.re is _OWN_MEETING
        ):
            continue
        # "him" is not the subject of its own clause ("Rubio later held talks with him": not Rubio)
        before = [m for m in everyone if m["end"] - sv.start <= (a if obj else p.start())]
        # a possessor is not who "he" is ("Dmitriev, one of Putin's envoys, said he ...")
        before = [m for m in before if not _POSSESSOR.match(sv.text, m["end"] - sv.start)]
        who = pronoun_person(before, p.start(), sv.speaker_before) if before or not obj else None
        if who is None:
            continue
        out.append(_person_row(view, before, who, sv.start + p.start()))
    # '"We met the American delegation in Miami," Umerov wrote': the one who speaks
    if any(talks.participant_after.match(t[w.end() : b]) for w in _WE.finditer(t, a, b)):
        speaker = next((c for c in sv.claimants if c.kind == "person"), None)
        if speaker is not None:
            out.append(_person_row(view, sv.mentions, speaker.value, sv.start + speaker.start, article=False))
    return out


_WE = re.compile(r"\bwe\b")


def _person_row(view: ArticleView, near: list[Row], name: str, pos: int, article: bool = True) -> Row:
    """The last mention of ``name`` among ``near``, else (``article``) in the article, else a row naming them
    at ``pos``."""
    found = [m for m in near if m.get("name") == name]
    if not found and article:
        found = [m for m in view.people.mentions if m.get("name") == name]
    return found[-1] if found else {"name": name, "label": "PERSON", "start": pos}


def _delegates(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[str]:
    return list(dict.fromkeys(str(m["name"]) for m in _delegate_mentions(view, sv, a, b)))


def _delegation_list(view: ArticleView, sv: SentenceView, last: list[_Meeting]) -> None:
    """ "The Russian team is made up of ...": its people are delegates of the meetings Russia attends."""
    talks = view.rules.talks
    t = sv.lower
    if talks.delegation.search(t) is None:
        return
    listed = [
        m
        for m in sv.mentions
        if m["label"] == "PERSON" and not _relational(view, sv, m, 0, len(t)) and not _says(view, sv, m)
    ]
    people = list(dict.fromkeys(str(m["name"]) for m in listed))
    if not people:
        return
    # the countries the sentence names, else those of its people ("the officials on board include Rubio")
    named = {code for _, _, code in _country_words(view, sv, 0, len(t))}
    codes = named or {str(m["country"]) for m in listed if m.get("country")}
    # the meetings just spoken of that share most countries with the list, and those still short of parties;
    # a list that names no country and shares none ("He was flanked by Starmer, Macron and Merz") is of the
    # meeting last spoken of
    best = max((len(codes & x.parties) for x in last), default=0)
    targets = [x for x in last if (best and len(codes & x.parties) == best) or len(x.parties) < 2]
    if not targets and not named:
        targets = last[-1:]
    for x in targets:
        _seat(x, sv, people, codes)


def _seat(meeting: _Meeting, sv: SentenceView, people: list[str], codes: set[str]) -> None:
    """Seat ``people`` of the countries ``codes``, named in ``sv``, at ``meeting`` (a delegation sits at the
    table, even when its country hosts)."""
    meeting.delegates += [p for p in people if p not in meeting.delegates]
    meeting.parties |= codes
    meeting.people |= codes
    if sv not in meeting.sentences:
        meeting.sentences.append(sv)


def _subject(view: ArticleView, sv: SentenceView, a: int, b: int) -> list[Row]:
    """The people of the list that ends just before ``b`` (at most an apposition and a few words between,
    none a "not"): the subject of the verb at ``b`` ("Ushakov, Witkoff and Kushner speak ...")."""
    t = sv.lower
    persons = [
        m
        for m in sv.mentions
        if m["label"] == "PERSON"
        and a <= m["start"] - sv.start
        and m["end"] - sv.start <= b
        and not _qualifies(view, sv, m)
    ]
    items = [(m["start"] - sv.start, m["end"] - sv.start, str(i)) for i, m in enumerate(persons)]
    groups = _in_list(view, items, sv.text, view.rules.talks.grammar["people_list_gap"])
    if not groups or not view.rules.talks.subject_gap.match(t[groups[-1][-1][1] : b]):
        return []
    return [persons[int(k)] for _, _, k in groups[-1] if not _relational(view, sv, persons[int(k)], a, b)]


_SPEAKER = re.compile(r"\s+(?:\w+ly\s+)?")


def _says(view: ArticleView, sv: SentenceView, m: Row) -> bool:
    """A person named as the one who reports the list ("..., Peskov said"), not one of it."""
    return _speaks_at(view, sv.lower, m["end"] - sv.start)


def _speaks_at(view: ArticleView, t: str, pos: int) -> bool:
    """Whether a verb of saying follows ``pos`` (an adverb at most between): "Peskov said", "officials
    quickly said"."""
    gap = _SPEAKER.match(t, pos)
    return gap is not None and view.rules.sources.speech.match(t, gap.end()) is not None


def _attendance(view: ArticleView, sv: SentenceView, meetings: list[_Meeting], last: list[_Meeting]) -> None:
    """ "Witkoff and Kushner would be there on Wednesday": a sentence with no meeting words in which people
    are said to be at "it" names delegates of the meeting just spoken of, or of the meeting on the day the
    sentence gives."""
    at = view.rules.talks.attendance.search(sv.lower)
    if not last or at is None:
        return
    people = _subject(view, sv, 0, at.start())
    if not people:
        return
    meeting = last[-1]
    day = next((ref.start for ref in sv.dates if ref.at > at.start() and ref.precision == "day"), None)
    if day is not None:
        meeting = _last(meetings, lambda x: _on(x, day, view.published)) or meeting
    _seat(meeting, sv, [str(m["name"]) for m in people], {str(m["country"]) for m in people if m.get("country")})


# --------------------------------------------------------------------------- rows


def _status(meeting: _Meeting, published: dt.date | None) -> str:
    """Status as of publication: from the dates where they decide it, else from the words."""
    words = sorted(meeting.statuses, key=lambda s: _STRENGTH.get(s, 0), reverse=True)
    if "cancelled" in meeting.statuses:
        return "cancelled"
    start, end, precision = _dates(meeting, published)
    if published is not None and start is not None and precision == "day":
        last = end or start
        if last < published:
            return "held"
        if start > published:
            return "planned"
        if start <= published < last:
            return "ongoing"  # the round runs on after publication
        if start < published:
            return "held" if meeting.ended and not meeting.extended else "ongoing"
        # one day, the day of publication: the words decide
        if meeting.ended:
            return "held"
        if "ongoing" in meeting.statuses:
            return "ongoing"
        if "planned" in meeting.statuses and "held" not in meeting.statuses:
            return "planned"
        return words[0] if words else "held"
    if published is not None and start is not None and precision in {"month", "year"}:
        # "back in May", "in March 2025": a month or year wholly past or wholly ahead decides
        unit = (lambda d: (d.year, d.month)) if precision == "month" else (lambda d: (d.year, 0))
        if unit(start) < unit(published):
            return "held"
        if unit(start) > unit(published):
            return "planned"
    if meeting.ended:
        return "held"
    return meeting.statuses[0] if meeting.statuses else "held"


def _fallback_parties(view: ArticleView, meeting: _Meeting) -> set[str]:
    """Parties for a meeting whose clauses name too few: a round of a series has those of the other rounds
    at its venue; else the countries a sentence of it opens with ("Russia and Ukraine each handed over ...,
    as the consultations in Abu Dhabi came to an end")."""
    out: set[str] = set()
    for sv in meeting.sentences:
        t = sv.lower
        for a, b in sv.clauses:
            groups = _in_list(view, _country_words(view, sv, a, b), t)
            if groups and t[a : groups[0][0][0]].strip(" ,;") in {"", "the", "both"}:
                out |= {code for _, _, code in groups[0]}
    return out


def _row(view: ArticleView, meeting: _Meeting) -> Row:
    talks = view.rules.talks
    first = meeting.sentences[0]
    assert meeting.venue is not None
    start, end, precision = _dates(meeting, view.published)
    meeting.start, meeting.end, meeting.precision = start, end, precision
    status = _status(meeting, view.published)
    # a host that only lends the room is no party; one whose own people meet, or that mediates, is
    hosts_only = meeting.hosts - meeting.people - meeting.mediators
    parties = meeting.parties - hosts_only
    mediators = meeting.mediators | hosts_only
    if len(parties - mediators) < 2:  # a party cannot mediate between itself and one other
        mediators -= parties
    text = " ".join(s.text for s in meeting.sentences)
    # a meeting kept though no party of it is known is its own kind (measured from the next first look on)
    basis = "no party named" if not parties else "dated" if start is not None else "undated"
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
        "end_date": end if start is not None and end != start else None,
        "date_precision": precision,
        "parties": _names(view, parties),
        "mediators": _names(view, mediators),
        "delegates": sorted(meeting.delegates),
        "format": {2: "bilateral", 3: "trilateral"}.get(len(parties), "multilateral" if len(parties) > 3 else None),
        "status": status,
        "topics": talks.topics.labels(lower(text)),
        "cameo_code": "046" if talks.negotiate.search(lower(text)) else "040",
        "confidence": view.rules.calibration.confidence("talks", basis),
        "confidence_basis": basis,
    }


def _names(view: ArticleView, codes: set[str]) -> list[str]:
    names = []
    for code in codes:
        row = entity_row(view.gazetteer, f"place:{code.lower()}")
        if row is not None:
            names.append(str(row["name"]))
    return sorted(names)
