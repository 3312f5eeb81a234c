"""Every output table's schema, declared once.

The writer casts to these schemas, the tests check against them, and the data
dictionary in the README is generated from the descriptions below
(``python -m pipeline docs``).
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa


def _field(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


_STR_LIST = pa.list_(pa.string())
_TS_UTC = pa.timestamp("us", tz="UTC")

#: One change an analyst's correction made to a row: values as JSON, so a row keeps what the machine said.
_CHANGE = pa.struct(
    [
        pa.field("correction_id", pa.string()),
        pa.field("field", pa.string()),
        pa.field("before", pa.string()),
        pa.field("after", pa.string()),
    ]
)


def _corrected(what: str) -> list[pa.Field]:
    """The columns of a row that analysts' corrections (``--corrections``) can change."""
    return [
        _field(
            "rejected",
            pa.bool_(),
            f"True when a correction rejected the {what} (or its article): it stays here, out of events and reports.",
            nullable=False,
        ),
        _field("corrected", pa.bool_(), f"True when a correction changed or confirmed the {what}.", nullable=False),
        _field(
            "corrections",
            pa.list_(_CHANGE),
            "Each change corrections made to this row: `correction_id`, the `field`, the machine's value "
            "(`before`) and the corrected one (`after`), both as JSON. Empty for a row as the machine made it.",
            nullable=False,
        ),
    ]


#: The run that wrote a row's file, on every table: a month partition carried over keeps the run that wrote it.
RUN_ID = _field(
    "run_id",
    pa.string(),
    "The run that wrote this row's file (`runs.run_id`); a month partition carried over unchanged keeps "
    "the run that wrote it.",
    nullable=False,
)


ARTICLES = pa.schema(
    [
        _field(
            "article_id",
            pa.string(),
            "Stable id: hash of `source_file` and `content_hash`; joins every other table.",
            nullable=False,
        ),
        _field(
            "source_file",
            pa.string(),
            "Path of the input file, relative to the seeds folder (POSIX separators).",
            nullable=False,
        ),
        _field(
            "source_format",
            pa.string(),
            "Reader that parsed the file: `dated_text`, `markdown`, `html` or `text`.",
            nullable=False,
        ),
        _field(
            "encoding",
            pa.string(),
            "Text encoding the file was decoded with (`utf-8`, `utf-8-sig`, or a detected one).",
            nullable=False,
        ),
        _field(
            "outlet",
            pa.string(),
            "Publishing outlet, where the text names itself (dateline, wire tag, copyright, credit line).",
        ),
        _field("title", pa.string(), "Headline, where the source gives one."),
        _field(
            "authors",
            _STR_LIST,
            "Bylined authors (people who wrote the piece, not people quoted).",
            nullable=False,
        ),
        _field("published", pa.date32(), "Publication date (from the date line, front matter or page metadata)."),
        _field("url", pa.string(), "Canonical URL, where the source gives one."),
        _field(
            "body",
            pa.string(),
            "Cleaned text: NFC-normalised, boilerplate removed, paragraphs separated by a blank line. "
            "All character offsets in other tables index into this string.",
            nullable=False,
        ),
        _field("word_count", pa.int32(), "Number of words in `body`.", nullable=False),
        _field(
            "content_hash",
            pa.string(),
            "SHA-256 (first 32 hex digits) of the case- and whitespace-folded body; equal for exact copies.",
            nullable=False,
        ),
        _field(
            "file_sha256",
            pa.string(),
            "SHA-256 of the input file's bytes, to tell when a file changed.",
            nullable=False,
        ),
        _field(
            "duplicate_of",
            pa.string(),
            "`article_id` of the earlier article this one repeats (exact copy or near-duplicate "
            "by MinHash similarity of word shingles); null for originals.",
        ),
        _field(
            "topics",
            _STR_LIST,
            "Topic tags of the article: `talks`, `strikes`, and finer tags within them (`casualties`, `energy`, "
            "`territory`, `security_guarantees`, `humanitarian`); rules in `pipeline/data/topics.yaml`.",
            nullable=False,
        ),
        _field(
            "warnings",
            _STR_LIST,
            "What the reader could not find or had to guess (no date, fallback encoding ...).",
            nullable=False,
        ),
        _field(
            "pipeline_version",
            pa.string(),
            "The release and a fingerprint of the content of everything that made this row (the package's code, "
            "rules and gazetteer files, the Python version, the parsing libraries' versions), as "
            "`0.6.0+<16 hex digits>`; an incremental run reuses a row only under the same one.",
            nullable=False,
        ),
        _field(
            "ingested_at",
            _TS_UTC,
            "When this version of the file was first ingested (kept across re-runs while the file is unchanged).",
            nullable=False,
        ),
        *_corrected("article"),
        RUN_ID,
    ]
)

REJECTS = pa.schema(
    [
        _field("source_file", pa.string(), "Path of the rejected file, relative to the seeds folder.", nullable=False),
        _field("reason", pa.string(), "Why the file was not ingested.", nullable=False),
        _field(
            "kind",
            pa.string(),
            "`input`: the file itself is unusable (empty, binary, over the size limit, broken front matter, a link "
            "out of the seeds folder ...); `budget`: over the time budget of one article (tried again on the next "
            "run); `unreadable`: it could not be read this time, and the rows of its last good read are kept; "
            "`failure`: the pipeline failed on it (a bug: `reason` names the exception).",
            nullable=False,
        ),
        _field("stage", pa.string(), "Where it stopped: `list`, `read`, `clean`, `tag` or `extract`.", nullable=False),
        _field(
            "seen_at",
            _TS_UTC,
            "When this version of the file was first rejected (kept across re-runs while the file is unchanged).",
            nullable=False,
        ),
        _field("file_sha256", pa.string(), "SHA-256 of the file's bytes (null if it could not be read)."),
        RUN_ID,
    ]
)

_ARTICLE_ID = _field("article_id", pa.string(), "The article (`articles.article_id`).", nullable=False)
_SENTENCE_IDX = _field("sentence_idx", pa.int32(), "Sentence number within the article, from 0.", nullable=False)


#: The article's ``duplicate_of``, on each table of claims: ``WHERE duplicate_of IS NULL`` keeps originals.
_DUPLICATE_OF = _field(
    "duplicate_of",
    pa.string(),
    "The article's `articles.duplicate_of`: null when the article is an original, else the `article_id` it "
    "repeats. Filter on null before summing figures, or republished copies count twice.",
)


def _span(what: str) -> list[pa.Field]:
    return [
        _field("start", pa.int32(), f"Offset of the {what}'s first character in `articles.body`.", nullable=False),
        _field("end", pa.int32(), f"Offset just past the {what}'s last character in `articles.body`.", nullable=False),
    ]


def _place_fields(what: str) -> list[pa.Field]:
    return [
        _field("country", pa.string(), f"ISO 3166-1 alpha-2 country of the {what}."),
        _field("admin1", pa.string(), f"First-level region (oblast, krai ...) of the {what}, English name."),
        _field("admin1_code", pa.string(), "ISO 3166-2 code of `admin1` (e.g. UA-63)."),
        _field("lat", pa.float64(), f"Latitude of the {what} (WGS84), from the gazetteer."),
        _field("lon", pa.float64(), f"Longitude of the {what} (WGS84), from the gazetteer."),
    ]


SENTENCES = pa.schema(
    [
        _ARTICLE_ID,
        _SENTENCE_IDX,
        *_span("sentence"),
        _field("text", pa.string(), "The sentence, exactly `body[start:end]`.", nullable=False),
        _field("tags", _STR_LIST, "Topic tags of the sentence (same vocabulary as `articles.topics`).", nullable=False),
        RUN_ID,
    ]
)

MENTIONS = pa.schema(
    [
        _ARTICLE_ID,
        _SENTENCE_IDX,
        *_span("mention"),
        _field("text", pa.string(), "The words as written, exactly `body[start:end]`.", nullable=False),
        _field("label", pa.string(), "`PERSON`, `ORG` or `PLACE`.", nullable=False),
        _field("name", pa.string(), "Canonical name (Zelenskyy -> Volodymyr Zelensky, Kiev -> Kyiv).", nullable=False),
        _field("entity_id", pa.string(), "Stable id of the canonical entity (`entities.entity_id`).", nullable=False),
        _field(
            "kind",
            pa.string(),
            "Place kind (country, region, city, town, village, area ...), org kind, or a person's role.",
        ),
        _field(
            "source",
            pa.string(),
            "How it was found: `gazetteer`, `pattern:<rule>` (title + name, name + said ...), `surname` "
            "(a bare surname resolved within the article), with `+region` when a city name stood for its region.",
            nullable=False,
        ),
        *_place_fields("place (null for people and organisations)"),
        RUN_ID,
    ]
)

ENTITIES = pa.schema(
    [
        _field("entity_id", pa.string(), "Stable id of the canonical entity.", nullable=False),
        _field("label", pa.string(), "`PERSON`, `ORG` or `PLACE`.", nullable=False),
        _field("name", pa.string(), "Canonical name.", nullable=False),
        _field("kind", pa.string(), "Place kind, org kind, or a person's role."),
        *_place_fields("place"),
        _field("aliases_seen", _STR_LIST, "Every spelling found in the articles, sorted.", nullable=False),
        _field("mentions", pa.int32(), "Number of mentions.", nullable=False),
        _field("articles", pa.int32(), "Number of articles that mention it.", nullable=False),
        RUN_ID,
    ]
)


def _evidence() -> list[pa.Field]:
    return [
        _ARTICLE_ID,
        _SENTENCE_IDX,
        *_span("evidence sentence"),
        _field(
            "evidence", pa.string(), "The sentence the row was read from, exactly `body[start:end]`.", nullable=False
        ),
    ]


FIGURES = ("drones", "missiles", "drones_downed", "missiles_downed", "killed", "injured")
_ESTIMATE = pa.struct(
    [
        pa.field("field", pa.string()),
        pa.field("words", pa.string()),
        pa.field("value", pa.int32()),
    ]
)
_HEDGE = pa.struct([pa.field("field", pa.string()), pa.field("words", pa.string())])
_FIGURE_TEXT = {
    "drones": "Drones launched",
    "missiles": "Missiles launched",
    "drones_downed": "Drones shot down or intercepted",
    "missiles_downed": "Missiles shot down or intercepted",
    "killed": "People killed",
    "injured": "People injured",
}

STRIKES = pa.schema(
    [
        _field("strike_id", pa.string(), "Stable id of the claim (article, sentence, place).", nullable=False),
        *_evidence(),
        _field(
            "date",
            pa.date32(),
            "Day of the attack (a night attack takes the morning's date); "
            "the publication date when the article gives none.",
        ),
        _field("date_precision", pa.string(), "`day`, `month` or `year`."),
        _field("place", pa.string(), "Canonical place attacked; the country for nationwide figures."),
        *_place_fields("place attacked"),
        _field("geo_precision", pa.string(), "`town`, `region` or `country`."),
        _field(
            "place_source",
            pa.string(),
            "How the place was found: `sentence` (named in the figure's clause), `clause` (another clause of "
            "the sentence), `previous_sentence` or `next_sentence` (a sentence telling the same incident), "
            "`article` (the only place the article reports hit), `nationwide` (a launch or interception "
            "tally with no place: the defending country), `attack` (a toll of the whole attack with no place: "
            "the country attacked); null when no place could be told.",
        ),
        _field("attacker", pa.string(), "`Russia` or `Ukraine`, where stated or clear from the place."),
        _field(
            "weapons",
            _STR_LIST,
            "Weapons named: drone, missile, ballistic missile, glide bomb, artillery ...",
            nullable=False,
        ),
        *[
            _field(
                f,
                pa.int32(),
                f'{_FIGURE_TEXT[f]}, as stated ("at least 4" is 4; vague amounts are in `estimates`, never here).',
            )
            for f in FIGURES
        ],
        _field(
            "has_figures",
            pa.bool_(),
            "False for a row that only says a place was hit (no figure column is set).",
            nullable=False,
        ),
        _field("qualifiers", _STR_LIST, "Hedges on the figures: at least, more than, nearly ...", nullable=False),
        _field(
            "hedges",
            pa.list_(_HEDGE),
            'The hedge of each hedged figure: the figure column and its words ("more than 370 drones" gives '
            "`drones` and `more than`). A figure with no entry was stated plainly.",
            nullable=False,
        ),
        _field(
            "estimates",
            pa.list_(_ESTIMATE),
            'Vague amounts ("hundreds of drones", "dozens of people"): the figure column they would go to, '
            "the words used, and the value ACLED's coding gives them. Kept out of the figure columns and "
            "out of event minima and maxima.",
            nullable=False,
        ),
        _field(
            "targets", _STR_LIST, "What was hit: energy, residential, medical, education, transport ...", nullable=False
        ),
        _field("claimed_by", pa.string(), "Who the figures are attributed to (canonical name, or the words used)."),
        _field("event_type", pa.string(), "ACLED sub-event type.", nullable=False),
        _field("cameo_code", pa.string(), "CAMEO event code (195 aerial weapons, 194 artillery).", nullable=False),
        _field(
            "confidence",
            pa.float64(),
            "0-1: the measured probability that the row is right, for rows of its family (with figures: each "
            "figure right; without: the place right) and evidence kind (`confidence_basis`), counted on the "
            "first look of real articles (pipeline/data/extract/calibration.yaml, docs/quality.md).",
            nullable=False,
        ),
        _field(
            "confidence_basis",
            pa.string(),
            "The evidence kind `confidence` was measured for: how the place was found (`place in sentence`, "
            "`nationwide`, `place in neighbouring sentence`, `place from the article`, `no place`: also a "
            "figure several places share).",
        ),
        _DUPLICATE_OF,
        *_corrected("claim"),
        RUN_ID,
    ]
)

TALKS = pa.schema(
    [
        _field("talk_id", pa.string(), "Stable id of the report (article, sentence, venue).", nullable=False),
        *_evidence(),
        _field(
            "other_sentences",
            pa.list_(pa.int32()),
            "Further sentences of the article the row's dates, parties and delegates were read from.",
            nullable=False,
        ),
        _field("venue", pa.string(), "Canonical city where the meeting is held.", nullable=False),
        _field("country", pa.string(), "ISO alpha-2 country of the venue."),
        _field(
            "start_date",
            pa.date32(),
            "First day; the publication date for an undated round said to be under way or just ended; "
            "null when the article does not date it.",
        ),
        _field("end_date", pa.date32(), "Last day, where a range is given."),
        _field("date_precision", pa.string(), "`day`, `month` or `year`."),
        _field("parties", _STR_LIST, "Countries at the table (canonical names).", nullable=False),
        _field(
            "mediators",
            _STR_LIST,
            "Countries hosting or mediating the meeting (a mediator that sends envoys is also a party).",
            nullable=False,
        ),
        _field("delegates", _STR_LIST, "People taking part in the meeting (canonical names).", nullable=False),
        _field("format", pa.string(), "`bilateral`, `trilateral` or `multilateral`."),
        _field(
            "status", pa.string(), "`held`, `ongoing`, `planned` or `cancelled`, as of publication.", nullable=False
        ),
        _field(
            "topics", _STR_LIST, "What is on the table: territory, security guarantees, ceasefire ...", nullable=False
        ),
        _field("cameo_code", pa.string(), "CAMEO code: 046 negotiate, 040 consult.", nullable=False),
        _field(
            "confidence",
            pa.float64(),
            "0-1: the measured probability that the round's venue is right, for rounds of its evidence kind "
            "(`confidence_basis`), counted on the first look of real articles "
            "(pipeline/data/extract/calibration.yaml, docs/quality.md).",
            nullable=False,
        ),
        _field(
            "confidence_basis",
            pa.string(),
            "The evidence kind `confidence` was measured for: `dated` (a start day was found), `undated`, or "
            "`no party named` (kept in an article about this war though no party of the round is known).",
        ),
        _DUPLICATE_OF,
        *_corrected("claim"),
        RUN_ID,
    ]
)

QUOTES = pa.schema(
    [
        _field("quote_id", pa.string(), "Stable id of the quote.", nullable=False),
        _ARTICLE_ID,
        _SENTENCE_IDX,
        *_span("quoted words"),
        _field("speaker", pa.string(), 'Canonical speaker; "he said" resolves to the last person named.'),
        _field("text", pa.string(), "The quoted words, exactly `body[start:end]`.", nullable=False),
        _field("channel", pa.string(), "X, Telegram, statement, address, audio message, press conference ..."),
        _field(
            "confidence",
            pa.float64(),
            "0-1: the measured probability that `speaker` is right (a person or body, or empty where the "
            "article names nobody), for quotes of its evidence kind (`confidence_basis`), counted on the "
            "first look of real articles (pipeline/data/extract/calibration.yaml, docs/quality.md).",
            nullable=False,
        ),
        _field(
            "confidence_basis",
            pa.string(),
            "The evidence kind `confidence` was measured for: how the speaker was found (`attribution beside "
            "the quote`, `attribution by pronoun`, `attribution further away`, `continued quotation`, "
            "`no attribution`).",
        ),
        _DUPLICATE_OF,
        *_corrected("claim"),
        RUN_ID,
    ]
)

EVENTS = pa.schema(
    [
        _field("event_id", pa.string(), "Stable id of the reconciled event.", nullable=False),
        _field("kind", pa.string(), "`strike` or `talks`.", nullable=False),
        _field("date", pa.date32(), "Day of the strike, or first day of the round."),
        _field("end_date", pa.date32(), "Last day (talks)."),
        _field("place", pa.string(), "Place attacked, or venue of the round.", nullable=False),
        *_place_fields("place or venue"),
        _field("attacker", pa.string(), "Strikes: the attacking side most sources name."),
        _field("wave_id", pa.string(), "Strikes: the night's wave; links nationwide launch figures to places hit."),
        _field("status", pa.string(), "Talks: status in the latest report."),
        _field("parties", _STR_LIST, "Talks: every party any source names.", nullable=False),
        *[
            f
            for name in FIGURES
            for f in (
                _field(f"{name}_min", pa.int32(), f"{_FIGURE_TEXT[name]}: lowest figure any source gives."),
                _field(f"{name}_max", pa.int32(), f"{_FIGURE_TEXT[name]}: highest figure any source gives."),
                _field(
                    f"{name}_sources",
                    pa.int32(),
                    f"{_FIGURE_TEXT[name]}: number of articles giving a figure.",
                    nullable=False,
                ),
            )
        ],
        _field("claim_ids", _STR_LIST, "The `strikes.strike_id` or `talks.talk_id` rows reconciled.", nullable=False),
        _field("article_ids", _STR_LIST, "Articles reporting it (republished copies left out).", nullable=False),
        _field("outlets", _STR_LIST, "Outlets of those articles, where known.", nullable=False),
        _field("sources", pa.int32(), "Number of distinct articles.", nullable=False),
        _field("conflicting", pa.bool_(), "True when sources give different values for any figure.", nullable=False),
        _field(
            "confidence",
            pa.float64(),
            "0-1: the highest `confidence` of the claims reconciled (no more: how often several sources are all "
            "wrong was never measured).",
            nullable=False,
        ),
        _field(
            "confirmed",
            pa.bool_(),
            "True when `confidence` reaches the calibration's `confirmed` level or an analyst corrected the "
            "event or one of its claims; the reports show the others apart, as unconfirmed.",
            nullable=False,
        ),
        _field(
            "corrected",
            pa.bool_(),
            "True when a correction changed the event or one of its claims, or forced its grouping.",
            nullable=False,
        ),
        _field(
            "correction_ids",
            _STR_LIST,
            "The corrections behind it (`corrections_applied.correction_id`): of the event and of its claims.",
            nullable=False,
        ),
        RUN_ID,
    ]
)


CORRECTIONS_APPLIED = pa.schema(
    [
        _field(
            "correction_id",
            pa.string(),
            "The correction: its `id` in the corrections file, else a hash of its target, action and values.",
            nullable=False,
        ),
        _field("action", pa.string(), "`reject`, `set`, `same_event` or `different_event`.", nullable=False),
        _field(
            "target",
            pa.string(),
            "The kind of id the correction names: `strike_id`, `talk_id`, `quote_id`, `article_id` or `event_id`.",
            nullable=False,
        ),
        _field("target_id", pa.string(), "The id it names.", nullable=False),
        _field(
            "table",
            pa.string(),
            "The table of the row changed (a rejected article changes its claims too).",
            nullable=False,
        ),
        _field("row_id", pa.string(), "The id of the row changed, in `table`.", nullable=False),
        _field("article_id", pa.string(), "The article of that row (null for an event)."),
        _field(
            "field",
            pa.string(),
            "The column changed; `rejected` for a rejection, `event_id` for a claim moved by `same_event` or "
            "`different_event`.",
            nullable=False,
        ),
        _field("before", pa.string(), "The machine's value, as JSON."),
        _field("after", pa.string(), "The corrected value, as JSON."),
        _field("note", pa.string(), "The correction's `note`."),
        _field("by", pa.string(), "Who made it (`by`)."),
        _field("date", pa.date32(), "When it was made (`date`)."),
        RUN_ID,
    ]
)

_TABLE_ROWS = pa.struct([pa.field("table", pa.string()), pa.field("rows", pa.int64())])

RUNS = pa.schema(
    [
        _field(
            "run_id",
            pa.string(),
            "Id of the run; sorts by start time. Its snapshot is `OUT/.versions/<run_id>`.",
            nullable=False,
        ),
        _field("flow_run_id", pa.string(), "The Prefect flow run (its page in the Prefect UI)."),
        _field("started_at", _TS_UTC, "When the run started.", nullable=False),
        _field("ended_at", _TS_UTC, "When its datasets were committed (reports are rendered after).", nullable=False),
        _field(
            "pipeline_version",
            pa.string(),
            "Version of the code and rules (`articles.pipeline_version`).",
            nullable=False,
        ),
        _field("seeds", pa.string(), "The input folder, as given.", nullable=False),
        _field(
            "inputs_sha256",
            pa.string(),
            "SHA-256 of every input file's path and content hash, ingested or rejected: equal for the same inputs.",
            nullable=False,
        ),
        _field("files_read", pa.int32(), "Input files found.", nullable=False),
        _field("files_new", pa.int32(), "Files the run before did not have.", nullable=False),
        _field("files_changed", pa.int32(), "Files whose content changed since the run before.", nullable=False),
        _field("files_removed", pa.int32(), "Files of the run before that are gone.", nullable=False),
        _field("files_rejected", pa.int32(), "Files rejected (`rejects`).", nullable=False),
        _field("rows", pa.list_(_TABLE_ROWS), "Rows of each table after the run.", nullable=False),
        _field("corrections_file", pa.string(), "The corrections file applied (null: none)."),
        _field("corrections_sha256", pa.string(), "SHA-256 of that file's bytes."),
        _field("corrections_applied", pa.int32(), "Corrections that changed or confirmed a row.", nullable=False),
        _field(
            "corrections_unmatched",
            _STR_LIST,
            "Ids of valid corrections whose target is not in the data (its article changed or is gone).",
            nullable=False,
        ),
        _field("corrections_invalid", pa.int32(), "Entries of the file skipped as malformed.", nullable=False),
    ]
)

#: Every table the pipeline writes, by dataset folder name, in dictionary order.
TABLES: dict[str, pa.Schema] = {
    "articles": ARTICLES,
    "rejects": REJECTS,
    "sentences": SENTENCES,
    "mentions": MENTIONS,
    "entities": ENTITIES,
    "strikes": STRIKES,
    "talks": TALKS,
    "quotes": QUOTES,
    "events": EVENTS,
    "corrections_applied": CORRECTIONS_APPLIED,
    "runs": RUNS,
}

#: Tables written in one folder per publication month of their article (``month=2026-01``), so that an
#: incremental run rewrites only the months it touches and readers can skip the others.
PARTITIONED = ("articles", "sentences", "mentions", "strikes", "talks", "quotes")
PARTITION_COLUMN = "month"

#: The columns of ``articles`` that identify an article and its file, for de-duplication and reuse.
ARTICLE_KEY_COLUMNS = ("article_id", "source_file", "file_sha256", "content_hash", "published")
#: The columns of the last run's ``articles`` a run plans from (no bodies).
ARTICLE_STATE_COLUMNS = [*ARTICLE_KEY_COLUMNS, "pipeline_version", "ingested_at", "duplicate_of"]


def month_of(published: dt.date | None) -> str | None:
    """The partition of an article: its publication month as ``YYYY-MM`` (None when undated)."""
    return None if published is None else f"{published.year:04d}-{published.month:02d}"


#: Row order of each table as written, so that a run gives the same files however it got there.
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "articles": ("source_file",),
    "rejects": ("source_file",),
    "sentences": ("article_id", "sentence_idx"),
    "mentions": ("article_id", "start", "end", "entity_id"),
    "entities": ("entity_id",),
    "strikes": ("article_id", "start", "strike_id"),
    "talks": ("article_id", "start", "talk_id"),
    "quotes": ("article_id", "start"),
    "events": ("kind", "date", "place", "event_id"),
    "corrections_applied": ("correction_id", "table", "row_id", "field"),
    "runs": ("run_id",),
}

#: One line per table for the data dictionary.
TABLE_DESCRIPTIONS: dict[str, str] = {
    "articles": "One row per ingested article file (duplicates included, flagged by `duplicate_of`).",
    "rejects": "One row per input file that could not be ingested in the last run, with the reason.",
    "sentences": "One row per sentence of every article, with its topic tags.",
    "mentions": "One row per mention of a person, organisation or place, with its canonical entity.",
    "entities": "One row per canonical entity mentioned anywhere, with the spellings seen and counts.",
    "strikes": "One row per reported attack claim (a place, a date, figures), with the sentence it comes from.",
    "talks": "One row per report of a meeting or negotiating round, with the sentence it comes from.",
    "quotes": "One row per quotation, with its speaker and channel.",
    "events": "Claims reconciled across articles: strikes by place and date (one day either way), talks by venue "
    "and overlapping dates; every figure as min, max and number of sources.",
    "corrections_applied": "One row per change the corrections file made (`--corrections`), with the machine's value "
    "and the corrected one.",
    "runs": "The run log: one row per run that committed datasets, with what it read and wrote.",
}


def _type_name(type_: pa.DataType) -> str:
    if pa.types.is_list(type_):
        return f"list<{_type_name(type_.value_type)}>"
    return str(type_)


def data_dictionary() -> str:
    """Markdown data dictionary of every table, generated from the schemas."""
    lines: list[str] = []
    for name, schema in TABLES.items():
        lines += [f"### `{name}`", "", TABLE_DESCRIPTIONS[name], "", "| column | type | null | description |"]
        lines.append("|---|---|---|---|")
        for f in schema:
            desc = (f.metadata or {}).get(b"description", b"").decode()
            lines.append(f"| `{f.name}` | {_type_name(f.type)} | {'yes' if f.nullable else 'no'} | {desc} |")
        if name in PARTITIONED:
            lines.append(
                f"| `{PARTITION_COLUMN}` | string (partition) | no | Publication month of the article, `YYYY-MM`, "
                "from the folder name (`month=2026-01`); `undated` for articles with no publication date. |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
