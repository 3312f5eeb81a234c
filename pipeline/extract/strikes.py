"""Strike claims: one row per place a sentence reports hit, with its figures, date, attacker and source.

A sentence is split into clauses; each figure goes to a place hit in its own clause (the nearest one),
so that "six over Ryazan and six more over Rostov" gives two rows. A figure whose clause names no place
takes one, and says how in ``place_source``:

- ``clause``: from an earlier clause of the sentence ("Four people were killed, 20 of them in Kyiv");
- ``previous_sentence``: from the sentence before, when this one continues its incident (same paragraph,
  or "the strike", "he said" ...);
- ``next_sentence``: from the sentence after, when it names the one town of the incident ("In western
  Ukraine, 25 were killed." then "... in the city of Ternopil");
- ``article``: the only place the article has reported hit so far;
- ``nationwide``: launch and interception tallies with no place fall on the defending country;
- ``attack``: so does a toll of the whole attack ("the barrage wounded at least 10 people") when no place
  was reported hit before it, or when the words cover the country ("strikes on Ukrainian cities").

Otherwise the figure is kept with no place and a low confidence: abstaining beats guessing. A figure
several listed places share ("nine hurt in the Kharkiv, Kherson and Zaporizhzhia regions") is kept with
no place, and each place gets a row that only says it was hit. Clauses that report a period
("since the start of the war"), a background fact or a hypothetical make no claim, nor do headings,
captions and promo lines. Vague amounts go to ``estimates``, never to the figure columns.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

from pipeline import budget
from pipeline.dates import DateRef
from pipeline.extract.article import ArticleView, SentenceView, memoised
from pipeline.extract.attribution import pick
from pipeline.extract.figures import CASUALTIES, Figure, find_figures, lower
from pipeline.extract.places import FOREIGN, RESIDUAL, TARGET, VAGUE, PlaceRef, country_row
from pipeline.extract.rules import Rules
from pipeline.gazetteer import geo_precision
from pipeline.ids import stable_id
from pipeline.schemas import FIGURES

Row = dict[str, Any]
_WEAPON_FIELDS = {"drones", "missiles", "drones_downed", "missiles_downed"}


@dataclass
class _Group:
    """One row in the making: a place (or none) of a sentence and the figures that go to it."""

    place: Row | None
    place_source: str | None
    clause: tuple[int, int]
    figures: list[Figure] = field(default_factory=list)
    shared: bool = False


@dataclass
class _State:
    """What carries from one sentence to the next."""

    last_date: DateRef | None = None
    last_attacker: str | None = None
    incident: dict[str, Row] = field(default_factory=dict)  # specific places reported hit so far
    prev_index: int | None = None  # the last sentence that made rows
    prev_places: list[Row] = field(default_factory=list)
    prev_sources: dict[str, str | None] = field(default_factory=dict)


def _specific(place: Row | None) -> bool:
    return place is not None and place.get("kind") != "country"


def extract_strikes(view: ArticleView) -> list[Row]:
    """Every strike claim of an article."""
    state = _State()
    rows: list[Row] = []
    claims: set[tuple[Any, ...]] = set()
    for i, sv in enumerate(view.sentences):
        budget.check()
        if sv.heading or sv.caption:
            continue
        found = _sentence_rows(view, i, state)
        if found:
            state.prev_index = i
            state.prev_places = [r["_place"] for r in found if _specific(r["_place"])]
            state.prev_sources = {str(r["place"]): r["claimed_by"] for r in found if r["place"]}
            for r in found:
                if _specific(r["_place"]):
                    state.incident[str(r["place"])] = r["_place"]
        if sv.repeat:  # the same words again: a claim already made is not made twice ("two killed" after
            found = [r for r in found if _claim(r) not in claims]  # another place is another claim)
        claims |= {_claim(r) for r in found}
        rows += found
    for r in rows:
        del r["_place"]
    return rows


def _claim(row: Row) -> tuple[Any, ...]:
    """What a row claims: place, day, side, source and figures."""
    return (row["place"], row["date"], row["attacker"], row["claimed_by"], *(row[f] for f in FIGURES))


def _attacker(sv: SentenceView, a: int, b: int, rules: Rules) -> str | None:
    """The attacking side ``[a, b)`` of a sentence names, by the strongest kind of phrase, then the earliest."""
    return memoised(sv.memo, ("attacker", a, b), lambda: _find_attacker(sv.lower[a:b], rules))


def _find_attacker(t: str, rules: Rules) -> str | None:
    hits = []
    for m in rules.sides.attacker.finditer(t):
        tier, side = str(m.lastgroup)[1:].split("_")
        hits.append((int(tier), m.start(), rules.sides.side_names[int(side)]))
    return min(hits)[2] if hits else None


def _nearest(fig: Figure, targets: list[PlaceRef]) -> PlaceRef:
    """The place a figure goes to: the one named right after it for an item of a list ("two above the
    Belgorod region"), else the nearest, a place before it counting a little closer."""
    if fig.place_after:
        after = [p for p in targets if p.start >= fig.end]
        if after:
            return min(after, key=lambda p: p.start)
    return min(targets, key=lambda p: (fig.start - p.end) if p.end <= fig.start else 1.5 * (p.start - fig.start))


def _is_list(targets: list[PlaceRef], t: str, rules: Rules) -> bool:
    """Places named as one list ("the Kharkiv, Kherson and Zaporizhzhia regions")."""
    ordered = sorted(targets, key=lambda p: p.start)
    gap = rules.clauses.list_gap_or
    return len(ordered) > 1 and all(gap.fullmatch(t, a.end, b.start) for a, b in itertools.pairwise(ordered))


def _continues(view: ArticleView, i: int, state: _State, clause: str, strict: bool) -> bool:
    """Whether the clause of sentence ``i`` goes on with the incident of the last sentence that made rows:
    it says so ("the strike", "he added"), or (unless ``strict``) it sits in the same paragraph."""
    if state.prev_index is None or state.prev_index < i - 2:
        return False
    sv, prev = view.sentences[i], view.sentences[state.prev_index]
    cue = view.rules.places.continuation.search(lower(clause))
    if cue is not None:
        return prev.paragraph >= sv.paragraph - 1
    return not strict and prev.paragraph == sv.paragraph


def _next_place(view: ArticleView, i: int, country: str | None) -> Row | None:
    """The one specific place hit that the next sentence names, when it tells the same incident."""
    for j in range(i + 1, min(i + 2, len(view.sentences))):
        nxt = view.sentences[j]
        if nxt.heading or nxt.paragraph > view.sentences[i].paragraph + 1:
            return None
        if view.rules.places.new_incident.match(nxt.lower):
            return None  # "Later, it reported an attack on Belgorod": another incident
        specific = {p.name: p.place for p in nxt.places if p.role == TARGET and _specific(p.place)}
        if len(specific) == 1 and view.rules.places.attack.search(nxt.lower):
            place = next(iter(specific.values()))
            if country is None or place.get("country") == country:
                return place
    return None


def _fallback(
    view: ArticleView, i: int, state: _State, fig: Figure, earlier: list[PlaceRef], side: str | None, clause: str
) -> tuple[Row | None, str | None]:
    """A place for a figure whose clause names none, and how it was found."""
    rules = view.rules
    if earlier:
        return earlier[-1].place, "clause"
    # "..., 16 of whom were taken to hospital, Kyiv Mayor Vitali Klitschko confirmed": the official's city
    jurisdiction = {p.name: p.place for p in view.sentences[i].places if p.via == "title" and p.role == TARGET}
    if len(jurisdiction) == 1:
        return next(iter(jurisdiction.values())), "clause"
    weapon = fig.field in _WEAPON_FIELDS  # a tally carries over only when the words say so
    ct = lower(clause)
    defender = rules.sides.defender.get(side or "")
    across = not weapon and rules.places.across_country.search(ct) is not None  # "on Ukrainian cities"
    # a tally carries over only to a place in the country its side attacks ("Ukraine's general staff said
    # it hit a refinery in the Krasnodar region. The air force said Russia launched 138 drones ...")
    prev = state.prev_places[0] if len(state.prev_places) == 1 else None
    fits = prev is not None and not (weapon and defender and prev.get("country") != defender)
    if not across and fits and _continues(view, i, state, clause, strict=weapon):
        return prev, "previous_sentence"
    country = country_row(view.gazetteer, defender) if defender else None
    if weapon:  # a tally with no place falls on the country the side attacks
        return country, "nationwide" if country is not None else None
    if across and country is not None:  # "strikes on Ukrainian cities left five dead"
        return country, "attack"
    if not any(p.role in {TARGET, VAGUE} for p in view.sentences[i].places):
        nxt = _next_place(view, i, None)
        if nxt is not None:  # "The attack killed 14. A missile hit a building in Dnipro."
            return nxt, "next_sentence"
    if country is not None and not state.incident and rules.places.whole_attack.search(ct):
        return country, "attack"  # "the barrage wounded at least 10 people": the country attacked
    if len(state.incident) == 1:
        return next(iter(state.incident.values())), "article"
    return None, None


def _sentence_rows(view: ArticleView, i: int, state: _State) -> list[Row]:
    rules = view.rules
    sv = view.sentences[i]
    text, t = sv.text, sv.lower
    fig_rules = rules.figures
    figures = find_figures(text, rules)
    attack = bool(rules.places.attack.search(t))
    if not figures and not attack:
        return []
    targets = [p for p in sv.places if p.role in {TARGET, VAGUE}]
    if not figures and not targets:
        return []
    sentence_side = _attacker(sv, 0, len(text), rules)
    groups: dict[str, _Group] = {}

    def group(place: Row | None, source: str | None, clause: tuple[int, int]) -> _Group:
        key = str(place["name"]) if place else ""
        return groups.setdefault(key, _Group(place, source, clause))

    clauses = sv.clauses
    lead = t[clauses[0][0] : clauses[0][1]] if rules.clauses.leading.match(t) else ""
    in_period = False  # a clause before named a period ("since the war began ...")
    for a, b in clauses:
        ct = t[a:b]
        if fig_rules.hypothetical.search(ct) or fig_rules.background.search(ct):
            continue
        if fig_rules.cumulative.search(ct):
            in_period = True
            continue  # "over the past week ...": a period's totals, not an attack
        if (in_period or (a > 0 and fig_rules.cumulative.search(lead))) and sv.date_in(a, b) is None:
            continue  # "..., as well as 67,000 drones": the same period's totals, unless the clause has a day
        own = list({p.name: p for p in reversed([p for p in targets if a <= p.start < b])}.values())[::-1]
        own = [p for p in own if not any(_within(q, p) for q in own)]  # the most specific place of a clause
        if not own and any(p.role == FOREIGN and a <= p.start < b for p in sv.places):
            continue  # "Israeli airstrikes killed 25 in Gaza City": another war
        earlier = [p for p in targets if p.start < a]
        figs = [f for f in figures if a <= f.start < b]
        figs = [f for f in figs if not f.subset or own]  # a part is a claim only with a place of its own
        residual = any(p.role == RESIDUAL and a <= p.start < b for p in sv.places)
        side = _attacker(sv, a, b, rules) or sentence_side or _side_of_source(view, sv, a, b) or state.last_attacker
        if not own and not earlier and side is None and not state.incident:
            continue  # figures with no place, no side and no incident before: nothing ties them to this war
        if figs and len(own) > 1 and _is_list(own, t, rules):
            for f in [f for f in figs if f.each]:  # "eight apiece": every place of the list has it
                for ref in own:
                    g = group(ref.place, "sentence", (a, b))
                    g.figures.append(f)
            shared = [f for f in figs if not f.each]
            # "595 drones in an assault that targeted Kyiv, Zaporizhzhia and Lviv": the weapons one attack
            # launched at several places of one country are that country's count (not those downed over
            # a few of its regions, a part of its count)
            countries = {str(p.place.get("country") or "") for p in own}
            country = country_row(view.gazetteer, countries.pop()) if len(countries) == 1 else None
            weapons = [f for f in shared if f.field in LAUNCH_FIELDS] if country is not None else []
            if weapons:
                group(country, "nationwide", (a, b)).figures.extend(weapons)
                shared = [f for f in shared if f not in weapons]
            if shared:  # "nine hurt in the X, Y and Z regions": no place can be told
                g = group(None, None, (a, b))
                g.figures += shared
                g.shared = True
            figs = []
        for f in figs:
            if residual and not own:
                group(None, None, (a, b)).figures.append(f)
                continue
            place: Row | None
            source: str | None
            if own:
                ref = _nearest(f, own)
                place, source = ref.place, "sentence"
                if ref.role == VAGUE:  # "in western Ukraine": the town named next, if any
                    nxt = _next_place(view, i, ref.place.get("country"))
                    if nxt is not None:
                        place, source = nxt, "next_sentence"
            else:
                place, source = _fallback(view, i, state, f, earlier, side, text[a:b])
            group(place, source, (a, b)).figures.append(f)
        moved = any(g.place_source == "next_sentence" and g.clause == (a, b) for g in groups.values())
        for p in own:  # a place said to be hit, with or without figures
            if _attack_near(t, p, rules) and not (p.role == VAGUE and moved):
                group(p.place, "sentence", (a, b))
    date = sv.date_in(0, len(text))
    made = [_row(view, i, g, date, state, sentence_side) for g in groups.values()]
    rows = [r for r in made if r is not None]
    if rows:
        state.last_date = date or state.last_date
        state.last_attacker = rows[-1]["attacker"] or state.last_attacker
    return rows


def _within(inner: PlaceRef, outer: PlaceRef) -> bool:
    """A listed town inside a region named in the same clause ("in the Dnipropetrovsk region, ... in
    Nikopol"); a country is kept, as the scope of a tally ("a wider assault across Ukraine")."""
    if inner.name == outer.name or inner.place.get("lat") is None:
        return False
    return outer.place.get("kind") == "region" and inner.place.get("admin1") == outer.name


def _attack_near(t: str, p: PlaceRef, rules: Rules, reach: int = 100) -> bool:
    """An attack word within ``reach`` characters of the place."""
    return rules.places.attack.search(t, max(0, p.start - reach), min(len(t), p.end + reach)) is not None


def _side_of_source(view: ArticleView, sv: SentenceView, a: int, b: int) -> str | None:
    """The attacker a source's side implies: a Russian ministry reports Ukrainian drones downed."""
    claimant = pick(sv.claimants, a, b)
    name = view.source(sv, claimant, None) if claimant else None
    if not name:
        return None
    for code, nation in view.rules.sources.nations.items():
        if name.startswith(nation["nat"] + " ") or name.endswith(nation["country"]):
            for side, side_code in view.rules.sides.side_country.items():
                if side_code == code:
                    return next(s for s in view.rules.sides.side_country if s != side)
    return None


def _source(view: ArticleView, i: int, g: _Group, state: _State) -> str | None:
    """Who the row's figures are attributed to: its clause's source, else the sentence's; for a sentence
    that continues the one before (and names no place of its own), that one's; between two sentences
    with one source, that source."""
    sv = view.sentences[i]
    name = view.source(sv, pick(sv.claimants, *g.clause), g.place)
    if name is not None:
        return name
    if g.place_source == "previous_sentence" and g.place is not None:
        return state.prev_sources.get(str(g.place["name"]))
    if g.place_source == "next_sentence":  # the sentence that names the place tells who says so
        return _sentence_source(view, i + 1, g.place)
    weapons = bool(g.figures) and all(f.field in WEAPON_FIELDS for f in g.figures)
    if weapons and state.prev_index == i - 1 and g.place is not None:
        # "The ministry said 120 drones were downed. Six were destroyed above the Ryazan region ...": the
        # breakdown by place of the country's weapon count the sentence before gave is that source's
        country = country_row(view.gazetteer, str(g.place.get("country") or ""))
        total = state.prev_sources.get(str(country["name"])) if country else None
        if total is not None and view.sentences[i - 1].paragraph == sv.paragraph:
            return total
    before = _sentence_source(view, i - 1, g.place)
    if g.place_source in {"article", "clause"} and before is not None and i > 0:
        # "The information came from X." then "The number of injured stands at 13."
        prev = view.sentences[i - 1]
        if prev.paragraph >= sv.paragraph - 1 and all(p.name == g.place["name"] for p in prev.places if g.place):
            return before
    after = _sentence_source(view, i + 1, g.place)
    return before if before is not None and before == after else None


#: The figures of a weapon count, launched or downed.
LAUNCH_FIELDS = frozenset({"drones", "missiles"})
WEAPON_FIELDS = LAUNCH_FIELDS | {"drones_downed", "missiles_downed"}


def _sentence_source(view: ArticleView, j: int, place: Row | None) -> str | None:
    if not 0 <= j < len(view.sentences):
        return None
    sv = view.sentences[j]
    return view.source(sv, sv.claimants[0], place) if sv.claimants else None


def _row(view: ArticleView, i: int, g: _Group, date: DateRef | None, state: _State, side: str | None) -> Row | None:
    rules = view.rules
    sv = view.sentences[i]
    numeric = [f for f in g.figures if not f.vague]
    if not numeric and (g.place is None or g.place_source in ("nationwide", "attack")):
        return None  # vague amounts with no place named say nothing that can be cited
    text = sv.text
    published = view.published
    # a strike reported has happened: a day later than the publication date (one day of time zones
    # aside: "overnight into Saturday" in a page dated late on Friday in New York) is another event's
    latest = published + dt.timedelta(days=1) if published is not None else None
    dates = [d for d in (sv.date_in(*g.clause), date, state.last_date) if d is not None]
    when = next((d for d in dates if latest is None or d.start <= latest), None)
    if when is None and published is not None:
        when = DateRef(published, None, "day", "")
    country = g.place.get("country") if g.place else None
    attacker = (
        _attacker(sv, *g.clause, rules)
        or side
        or (rules.sides.attacker_of_country.get(country or "") if country else None)
        or state.last_attacker
    )
    own_country = attacker is not None and rules.sides.side_country.get(attacker) == country
    if g.place is not None and g.place.get("kind") == "country" and own_country and g.place_source != "nationwide":
        return None  # the attacking country is not where the attack happened
    claimed_by = _source(view, i, g, state)
    weapons = rules.codes.weapons.labels(sv.lower)
    targets = rules.codes.targets.labels(sv.lower[g.clause[0] : g.clause[1]])
    acled, cameo = next(((a, c) for ws, a, c in rules.codes.events if ws & set(weapons)), rules.codes.default_event)
    key = str(g.place["name"]) if g.place else ""
    row: Row = {
        "strike_id": stable_id(view.article_id, sv.idx, key),
        "article_id": view.article_id,
        "sentence_idx": sv.idx,
        "start": sv.start,
        "end": sv.end,
        "evidence": text,
        "date": when.start if when else None,
        "date_precision": when.precision if when else None,
        "place": g.place["name"] if g.place else None,
        "country": country,
        "admin1": g.place.get("admin1") if g.place else None,
        "admin1_code": g.place.get("admin1_code") if g.place else None,
        "lat": g.place.get("lat") if g.place else None,
        "lon": g.place.get("lon") if g.place else None,
        "geo_precision": _geo_precision(g.place),
        "place_source": g.place_source,
        "attacker": attacker,
        "weapons": weapons,
        "qualifiers": sorted({q for f in g.figures if f.qualifier for q in f.qualifier.split(", ")}),
        "estimates": [{"field": f.field, "words": f.words, "value": f.estimate} for f in g.figures if f.vague],
        "targets": targets,
        "claimed_by": claimed_by,
        "event_type": acled,
        "cameo_code": cameo,
        "_place": g.place,
    }
    row["hedges"] = []
    for f_name in FIGURES:
        stated = [f for f in numeric if f.field == f_name and f.value is not None]
        top = max(stated, key=lambda f: f.value or 0) if stated else None
        row[f_name] = top.value if top else None
        # the hedge of the figure kept, not of another in the sentence ("casualties" says what it counts)
        words = ", ".join(q for q in (top.qualifier or "").split(", ") if q and q != CASUALTIES) if top else ""
        if words:
            row["hedges"].append({"field": f_name, "words": words})
    row["has_figures"] = any(row[f_name] is not None for f_name in FIGURES)
    calibration = rules.calibration
    kind = calibration.kind_of_place_source[g.place_source or "none"]  # a shared figure has no place
    family = "strike_figures" if row["has_figures"] else "strike_places"
    row["confidence_basis"] = kind
    row["confidence"] = calibration.confidence(family, kind)
    return row


def _geo_precision(place: Row | None) -> str | None:
    return None if place is None else geo_precision(place.get("kind"))
