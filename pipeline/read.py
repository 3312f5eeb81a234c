"""Readers: turn one input file's bytes into a raw article (metadata fields plus raw text).

Formats:

* ``dated_text``: plain text whose first line is `` date YYYY-MM-DD <first paragraph>``;
* ``markdown``: Markdown with YAML front matter (title, date, author, url ...);
* ``html``: a saved web page; main text and metadata extracted with trafilatura;
* ``text``: anything else that decodes as text: body only, publication date unknown.

Every function here is pure: bytes and a name in, a :class:`RawArticle` out, or
:class:`~pipeline.errors.RejectedInput` with a reason a user can act on.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from pipeline import yamltext
from pipeline.errors import RejectedInput, RulesError

log = logging.getLogger(__name__)


def _not_discarding(record: logging.LogRecord) -> bool:
    """trafilatura warns "discarding data" when it finds no main text in a page; the reader says so itself,
    as the file's reject reason, so that one warning is kept off the console (its others are not)."""
    return not record.getMessage().startswith("discarding data")


logging.getLogger("trafilatura.core").addFilter(_not_discarding)

#: Files above this size are rejected (a news article is a few kB; a 50 MiB "article" is a mistake).
DEFAULT_MAX_BYTES = 2 * 2**20

_DATE_LINE = re.compile(r"\A[ \t]*date[ \t]+(?P<date>\S*\d\S*)[ \t]*(?P<rest>[^\n]*)")
_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_HTML_SNIFF = re.compile(r"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
_MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"\x7fELF")
_ALLOWED_CONTROLS = {"\n", "\r", "\t", "\f"}
#: Control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) other than the allowed ones.
_CONTROLS = re.compile(
    "["
    + "".join(re.escape(chr(c)) for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in _ALLOWED_CONTROLS)
    + "]"
)


@dataclass
class RawArticle:
    """What a reader found in one file, before cleaning."""

    source_file: str
    source_format: str
    encoding: str
    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: dt.date | None = None
    url: str | None = None
    outlet: str | None = None
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- decoding


#: Byte-order marks, longest first (a UTF-32 LE mark begins with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
#: At most this many bytes that are not UTF-8 (or one in a thousand, if more) in a file otherwise
#: UTF-8 are replaced, with a warning, rather than taken as a sign of another encoding.
_STRAY_BYTES = 3


def decode_bytes(data: bytes) -> tuple[str, str, str | None]:
    """Decode file bytes to text, returning the text, the encoding used and a warning (or None).

    A byte-order mark decides (UTF-8, UTF-16, UTF-32); so does the pattern of NUL bytes of UTF-16 or
    UTF-32 without one. Otherwise UTF-8, with a few stray bytes replaced; a detected legacy encoding
    only when the whole file reads as prose in it. Raises RejectedInput for empty files, binary files
    and bytes no encoding explains.
    """
    if not data.strip():
        raise RejectedInput("empty file")
    if data.startswith(_BINARY_MAGIC):
        raise RejectedInput("binary file, not text (a known binary signature)")
    encoding = next((enc for bom, enc in _BOMS if data.startswith(bom)), None) or _wide_unicode(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise RejectedInput(f"not valid {encoding.upper()} at byte {exc.start}, though it looks like it") from None
    elif b"\x00" in data[:65536]:
        raise RejectedInput("binary file, not text (NUL bytes)")
    warning = None
    if encoding is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as exc:
            text, encoding, warning = _decode_damaged(data, exc)
    controls = len(_CONTROLS.findall(text))
    if controls > max(2, len(text) // 100):
        raise RejectedInput(f"binary file, not text ({controls} control characters)")
    return text.lstrip("\ufeff"), encoding, warning


def _wide_unicode(data: bytes) -> str | None:
    """UTF-32 or UTF-16 without a byte-order mark, told by where the NUL bytes of mostly-ASCII text fall."""
    head = data[:4096]
    if len(head) < 8 or b"\x00" not in head:  # the common case, decided without counting
        return None
    for width, names in ((4, ("utf-32-le", "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        n = len(head) // width
        units = [head[i * width : (i + 1) * width] for i in range(n)]
        if width == 4:
            le = sum(u[1:] == b"\x00\x00\x00" for u in units)
            be = sum(u[:3] == b"\x00\x00\x00" for u in units)
        else:
            le = sum(u[1] == 0 and u[0] != 0 for u in units)
            be = sum(u[0] == 0 and u[1] != 0 for u in units)
        if le >= 0.6 * n:
            return names[0]
        if be >= 0.6 * n:
            return names[1]
    return None


def _decode_damaged(data: bytes, exc: UnicodeDecodeError) -> tuple[str, str, str]:
    """Bytes that are not all UTF-8: UTF-8 with a few stray bytes replaced, else a legacy encoding that fits."""
    replaced = data.decode("utf-8", errors="replace")
    stray = replaced.count("\ufffd") - data.count("\ufffd".encode())
    if stray <= max(_STRAY_BYTES, len(data) // 1000):
        return replaced, "utf-8", f"{stray} byte sequence(s) that are not UTF-8 replaced with U+FFFD"
    text, encoding, others = _decode_detected(data, exc)
    doubt = f"; {', '.join(others)} fit as well but give other letters" if others else ""
    return text, encoding, f"not UTF-8; decoded as {encoding}{doubt}"


@functools.cache
def encoding_rules() -> tuple[tuple[str, ...], float]:
    """The legacy encodings to prefer, in order, among those that fit a file about equally well, and how
    much more garbled a guess may read and still count as fitting (``data/encodings.yaml``)."""
    from pipeline.clean import load_data_file

    spec = load_data_file("encodings.yaml")
    try:
        return tuple(codecs.lookup(str(n)).name for n in spec["prefer"]), float(spec["chaos_margin"])
    except (KeyError, TypeError, ValueError, LookupError) as exc:
        raise RulesError(f"encodings.yaml: missing or malformed key {exc}") from exc


def _decode_detected(data: bytes, exc: UnicodeDecodeError) -> tuple[str, str, list[str]]:
    """Text of bytes in a legacy encoding, its name, and the other encodings that fit as well but give
    other letters (a reason to doubt them).

    The candidates are charset-normalizer's guesses that read about as ungarbled as its best (its chaos,
    within the margin of :func:`encoding_rules`). Of these, those whose text has the fewest stray symbols
    inside words ("Ze³enski" for "Zełenski") are kept, and the first in the preferred order is used (else
    charset-normalizer's first). A preferred encoding listed before it that gives the very same text names
    it: a Latin-1 file with none of Windows-1252's own bytes is Latin-1."""
    from charset_normalizer import from_bytes

    matches = [m for m in from_bytes(data) if m.encoding not in {"utf_8", "utf-8"}]
    where = f"invalid UTF-8 at byte {exc.start}"
    if not matches:
        raise RejectedInput(f"{where}, and no other text encoding fits")
    prefer, margin = encoding_rules()
    least = min(m.chaos for m in matches)
    texts: dict[str, str] = {}
    chaos: dict[str, float] = {}
    for m in matches:
        if m.chaos <= least + margin:
            texts.setdefault(codecs.lookup(m.encoding).name, str(m))
            chaos.setdefault(codecs.lookup(m.encoding).name, m.chaos)
    stray = {name: _stray_symbols(text) for name, text in texts.items()}
    fewest = min(stray.values())
    rank = {name: i for i, name in enumerate(prefer)}
    order = list(texts)
    name = min((n for n in texts if stray[n] == fewest), key=lambda n: (rank.get(n, len(rank)), order.index(n)))
    text = texts[name]
    if chaos[name] > 0.1 or not _looks_like_prose(text):
        raise RejectedInput(
            f"{where}, and no other text encoding gives readable text (best guess {matches[0].encoding})"
        )
    others = sorted(n for n, t in texts.items() if stray[n] == fewest and t != text)
    for earlier in prefer[: rank.get(name, len(prefer))]:
        if _decodes_to(data, earlier, text):
            return text, earlier, others
    return text, name, others


#: Characters that are neither letters, spaces nor punctuation a text uses: found next to a letter, the sign
#: of bytes read in the wrong encoding ("powiedzia³", "bêd¹").
_STRAY_CATEGORIES = frozenset({"No", "So", "Sm", "Sk", "Sc", "Cc", "Cf", "Co", "Cn"})


def _stray_symbols(text: str) -> int:
    """How many non-ASCII symbols stand right next to a letter (see :data:`_STRAY_CATEGORIES`; also
    inverted marks and the like, punctuation no English word touches)."""
    count = 0
    for i, ch in enumerate(text):
        if ord(ch) < 128:
            continue
        category = unicodedata.category(ch)
        if category in _STRAY_CATEGORIES or (category == "Po" and ch not in "…‧"):
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            count += before.isalpha() or after.isalpha()
    return count


@functools.cache
def plausible_published() -> tuple[dt.date, dt.date]:
    """The span of publication dates taken without a warning (``plausible_published`` in data/dates.yaml)."""
    from pipeline.clean import load_data_file

    span = load_data_file("dates.yaml").get("plausible_published") or {}
    try:
        first, last = (dt.date.fromisoformat(str(span[k])) for k in ("from", "to"))
    except (KeyError, TypeError, ValueError) as exc:
        raise RulesError(f"dates.yaml: missing or malformed key plausible_published ({exc})") from exc
    return first, last


def _decodes_to(data: bytes, encoding: str, text: str) -> bool:
    try:
        return data.decode(encoding) == text
    except UnicodeDecodeError:
        return False


def _looks_like_prose(text: str) -> bool:
    """Words separated by spaces: what a right guess gives and garbage bytes do not."""
    sample = text[:20000]
    if not sample:
        return False
    spaces = sum(ch in " \n\t" for ch in sample)  # ASCII spaces: every legacy encoding keeps them
    letters = sum(ch.isalpha() for ch in sample)
    return spaces / len(sample) >= 0.05 and letters / max(1, len(sample) - spaces) >= 0.5


# --------------------------------------------------------------------------- dates


def parse_date(value: Any, what: str = "date") -> dt.date:
    """A publication date from a date line, front matter or page metadata.

    ISO forms are read directly; anything else goes through dateparser. Raises
    RejectedInput naming the value when it is not a date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    if len(text) <= 64 and re.fullmatch(r"[\d\s./:-]+", text) is None:  # words: "24 January 2026"
        import dateparser

        parsed = dateparser.parse(text, languages=["en"], settings={"STRICT_PARSING": True})
        if parsed is not None:
            day: dt.date = parsed.date()
            return day
    raise RejectedInput(f"unparseable {what}: {text[:40]!r}")


# --------------------------------------------------------------------------- readers


def sniff_format(name: str, text: str) -> str:
    """Which reader fits: by content first (date line, front matter, HTML tags), then by suffix."""
    suffix = PurePosixPath(name).suffix.lower()
    head = text[:2048]
    if suffix in _HTML_SUFFIXES or _HTML_SNIFF.search(head):
        return "html"
    if _FRONT_MATTER_OPEN.match(text):
        return "markdown"
    if _DATE_LINE.match(text):
        return "dated_text"
    if suffix in _MARKDOWN_SUFFIXES:
        return "markdown"
    return "text"


def read_article(name: str, data: bytes) -> RawArticle:
    """Read one file's bytes (``name`` is its path relative to the seeds folder)."""
    text, encoding, warning = decode_bytes(data)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    fmt = sniff_format(name, text)
    art = _READERS[fmt](name, text)
    art.encoding = encoding
    if warning:
        art.warnings.append(warning)
    first, last = plausible_published()
    if art.published is not None and not first <= art.published <= last:
        art.warnings.append(
            f"publication date {art.published} is outside {first} to {last}: a typo or a placeholder? (kept)"
        )
    if not art.text.strip():
        raise RejectedInput(f"no article text found ({fmt})")
    return art


def _read_dated_text(name: str, text: str) -> RawArticle:
    m = _DATE_LINE.match(text)
    assert m is not None  # sniff_format checked
    published = parse_date(m.group("date"), "date in the date line")
    body = m.group("rest") + text[m.end() :]
    return RawArticle(name, "dated_text", "", body, published=published)


#: Front matter longer than this is not metadata (a page of YAML is a mistake or an attack).
_MAX_FRONT_MATTER = 64 * 1024


def _load_front_matter(text: str) -> Any:
    """The YAML of a front matter block (:func:`pipeline.yamltext.load`: dates as text, which
    :func:`parse_date` reads; aliases refused), and a block over 64 KiB refused."""
    if len(text) > _MAX_FRONT_MATTER:
        raise RejectedInput(f"broken front matter: over {_MAX_FRONT_MATTER // 1024} KiB of metadata")
    try:
        return yamltext.load(text)
    except yamltext.AliasError:
        raise RejectedInput("broken front matter: YAML aliases (*name) are not allowed in metadata") from None


def _read_markdown(name: str, text: str) -> RawArticle:
    meta: dict[str, Any] = {}
    body = text
    if _FRONT_MATTER_OPEN.match(text):
        start = text.index("\n") + 1
        close = _FRONT_MATTER_CLOSE.search(text, start)
        if close is None:
            raise RejectedInput("broken front matter: opening '---' has no closing '---'")
        try:
            loaded = _load_front_matter(text[start : close.start()])
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark is not None else ""
            raise RejectedInput(f"broken front matter: invalid YAML{where}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise RejectedInput("broken front matter: expected 'key: value' lines")
        meta = loaded or {}
        body = text[close.end() :]
    art = RawArticle(name, "markdown", "", markdown_to_text(body))
    art.title = _meta_str(meta, "title", "headline")
    art.url = _meta_str(meta, "url", "canonical_url", "link", "permalink", "source_url")
    art.outlet = _meta_str(meta, "outlet", "publisher", "source", "site_name")
    authors = meta.get("authors", meta.get("author"))
    if isinstance(authors, str):
        authors = [a.strip() for a in re.split(r"\s*(?:,|;|\band\b|&)\s*", authors)]
    if authors is not None and not isinstance(authors, list):
        authors = [authors]
    if authors:
        names = [a.strip() for a in authors if isinstance(a, str)]
        art.authors = [a for a in names if a]
        if len(names) < len(authors):
            ignored = len(authors) - len(names)
            art.warnings.append(f"front matter authors: {ignored} value(s) that are not names ignored")
    date_value = next((meta[k] for k in ("date", "published", "pubDate", "published_at") if meta.get(k)), None)
    if date_value is not None:
        if not isinstance(date_value, str | int | float | dt.date):
            raise RejectedInput(f"date in the front matter is a {type(date_value).__name__}, not a date")
        art.published = parse_date(date_value, "date in the front matter")
    else:
        art.warnings.append("front matter has no date: published unknown")
    return art


# A page whose one <article> holds only these elements, with text only inside the blocks, is read
# directly (about 25x faster than trafilatura, with the same text on every page checked); any other
# page goes to trafilatura.
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "li")
_INLINE = {"a", "em", "strong", "b", "i", "span", "br", "time", "sup", "sub", "u", "small", "abbr", "cite", "q", "mark"}
_CONTAINERS = {"article", "div", "section", "header", "ul", "ol"}


def _parse_html(text: str, for_trafilatura: bool = False) -> Any:
    """The page's element tree, or None. The parser's "huge" mode lifts libxml2's nesting limit of 256
    levels (to 2048), which real pages built of nested layout boxes can pass: past it, text is lost.
    For trafilatura, the options its own parser uses (no comments or processing instructions)."""
    import lxml.etree
    import lxml.html

    options: dict[str, Any] = {"huge_tree": True}
    if for_trafilatura:
        options |= {"collect_ids": False, "default_doctype": False, "remove_comments": True, "remove_pis": True}
    try:
        return lxml.html.fromstring(text, parser=lxml.html.HTMLParser(**options))
    except (ValueError, lxml.etree.ParserError):
        return None


def _simple_page(root: Any) -> dict[str, Any] | None:
    """The text and metadata of a simple page (one <article> of paragraphs, a publication time in its
    meta tags), as trafilatura would give them; None for any other page."""

    if root is None:
        return None
    articles = root.findall(".//article")
    if len(articles) != 1:
        return None
    meta = {str(m.get("property") or m.get("name")): m.get("content") for m in root.iter("meta") if m.get("content")}
    if not meta.get("article:published_time"):
        return None
    blocks = set(_BLOCKS)
    lines: list[str] = []
    for el in articles[0].iter():
        if not isinstance(el.tag, str):
            return None  # comments, processing instructions
        inside = any(a.tag in blocks for a in el.iterancestors())
        if el.tag in blocks and not inside:
            words = " ".join(el.text_content().split())
            if words:
                lines.append(words)
        elif el.tag in _CONTAINERS and not inside:
            if (el.text or "").strip() or any((c.tail or "").strip() for c in el):
                return None  # text outside the blocks
        elif el.tag not in _INLINE or not inside:
            return None
    # the headline: og:title, else the article's own <h1>, else the page title (trafilatura's order)
    h1 = articles[0].find(".//h1")
    page_title = root.find(".//title")
    title = meta.get("og:title") or (h1.text_content() if h1 is not None else None)
    if not title and page_title is not None:
        title = page_title.text_content()
    canonical = root.find(".//link[@rel='canonical']")
    return {
        "title": " ".join(title.split()) if title else None,
        "text": "\n".join(lines),
        "author": meta.get("author"),
        "date": str(meta["article:published_time"])[:10],  # the day as the page gives it
        "source": (canonical.get("href") if canonical is not None else None) or meta.get("og:url"),
        "sitename": meta.get("og:site_name"),
    }


def _page_author(root: Any) -> str | None:
    """The author the page's metadata names, person or organisation: ``<meta name="author">``, else the
    ``author`` of its schema.org JSON-LD ("Xinhua", "Anadolu Agency"); never the publisher."""
    if root is None:
        return None
    for m in root.iter("meta"):
        if (m.get("name") or "").lower() == "author" and (m.get("content") or "").strip():
            return str(m.get("content")).strip()
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            author = item.get("author") if isinstance(item, dict) else None
            listed = author if isinstance(author, list) else [author]
            given = [a.get("name") if isinstance(a, dict) else a for a in listed]
            names = [n.strip() for n in given if isinstance(n, str) and n.strip()]
            if names:
                return "; ".join(names)
    return None


def _read_html(name: str, text: str) -> RawArticle:
    meta = _simple_page(_parse_html(text))
    if meta is None:
        import trafilatura

        root = _parse_html(text, for_trafilatura=True)
        author = _page_author(root)  # before trafilatura prunes the tree
        extracted = trafilatura.extract(
            root if root is not None else text,
            output_format="json",
            with_metadata=True,
            include_comments=False,
            include_tables=False,
        )
        if not extracted:
            raise RejectedInput("no main text found in the HTML page")
        meta = json.loads(extracted)
        meta["author"] = meta.get("author") or author
    title = (meta.get("title") or "").strip() or None
    lines = [ln.strip() for ln in (meta.get("text") or "").split("\n") if ln.strip()]
    if lines and title and lines[0] == title:  # the headline repeated as the first line
        lines = lines[1:]
    art = RawArticle(name, "html", "", "\n\n".join(lines), title=title)
    art.url = meta.get("source") or meta.get("url") or None
    art.outlet = meta.get("source-hostname") or meta.get("sitename") or None
    if meta.get("author"):
        art.authors = [a.strip() for a in str(meta["author"]).split(";") if a.strip()]
    if meta.get("date"):
        art.published = parse_date(meta["date"], "publication date in the page metadata")
    else:
        art.warnings.append("page has no publication date: published unknown")
    return art


def _read_text(name: str, text: str) -> RawArticle:
    art = RawArticle(name, "text", "", text)
    art.warnings.append("no date line, front matter or HTML: read as plain text, published unknown")
    return art


_READERS = {
    "dated_text": _read_dated_text,
    "markdown": _read_markdown,
    "html": _read_html,
    "text": _read_text,
}


def _meta_str(meta: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = meta.get(key)
        if isinstance(value, str | int | float) and str(value).strip():
            return str(value).strip()
    return None


# --------------------------------------------------------------------------- markdown

_MD_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"<!--.*?-->", re.DOTALL), ""),  # comments
    (re.compile(r"^```.*?^```[ \t]*$", re.DOTALL | re.MULTILINE), ""),  # code fences
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their text
    (re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.MULTILINE), r"\1"),  # headings
    (re.compile(r"^\s{0,3}>\s?", re.MULTILINE), ""),  # block quotes
    (re.compile(r"^\s{0,3}(?:[-*_]\s*){3,}$", re.MULTILINE), ""),  # horizontal rules
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # bold
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"), r"\1"),  # italics
    (re.compile(r"</?[a-zA-Z][^>\n]*>"), ""),  # inline HTML tags
]


def markdown_to_text(md: str) -> str:
    """Markdown to plain text: markup goes, the words (link texts, headings, quotes) stay."""
    for pattern, repl in _MD_RULES:
        md = pattern.sub(repl, md)
    return md
