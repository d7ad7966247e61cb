"""Load .txt, .md and .html files (and, through `feeds`, .jsonl feeds) into Article records.

Owns: walking folders, detecting the encoding, telling text from binary, HTML-to-text
(trafilatura: the main text and its title, date, authors and site), front matter at the top of
.txt/.md files, titles, stable ids, and whether an article's file is gone. Boilerplate lines are
dropped here (`boilerplate`). Leaves chunking and storage to later stages. An article's `text`
is the reference that every offset and every quote points into, so it is produced once here and
never altered afterwards.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import charset_normalizer

from rag import boilerplate
from rag.errors import RagError

SUFFIXES = (".txt", ".md", ".html", ".htm")
# Feeds hold many articles; they are read only when named, never picked up from a folder walk
# (a folder may hold evaluation sets in JSON Lines too).
FEED_SUFFIXES = (".jsonl",)
# UTF-16 and UTF-32 are full of NUL bytes, so their byte order mark is checked before anything
# else; UTF-32 LE first, as its mark begins with UTF-16 LE's.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)  # fmt: skip
# Control characters (other than tab, line and page breaks) in real text are rare; random bytes
# decoded as a single-byte code page are about 10% controls.
CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
MAX_CONTROL_SHARE = 0.02


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    source: str  # the resolved file path (a url for web pages); older indexes hold it as typed
    text: str
    sha256: str  # of `text`, so a changed file is re-indexed and an unchanged one is not
    outlet: str = ""  # the site or publication, else the domain of `url`; "" when unknown
    url: str = ""
    published: str = ""  # YYYY-MM-DD, or "" when unknown
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Byline:
    """Who published an article, where and when: what a page, a front matter or a feed says."""

    outlet: str = ""
    url: str = ""
    published: str = ""
    authors: tuple[str, ...] = ()


_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")


def iso_date(value: object) -> str:
    """YYYY-MM-DD from "2022-06-12", "2022/06/12" or "2022-06-12T08:30:00Z"; "" otherwise."""
    match = _DATE.match(str(value or "").strip())
    if not match:
        return ""
    year, month, day = (int(g) for g in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return ""
    return f"{year:04d}-{month:02d}-{day:02d}"


def domain(url: str) -> str:
    """ "reuters.com" for "https://www.reuters.com/world/..."; "" for anything else."""
    if "://" not in url:
        return ""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:  # a malformed port or bracket: no domain to show
        return ""
    return host.removeprefix("www.")


def author_names(value: object) -> tuple[str, ...]:
    """Names from a list, or from one string "A, B and C" / "A; B"; blanks and repeats dropped."""
    if isinstance(value, str):
        value = re.split(r"\s*(?:;|,|\band\b|&)\s*", value)
    if not isinstance(value, list | tuple):
        return ()
    names: list[str] = []
    for name in value:
        name = " ".join(str(name).split()).strip("'\"")
        if name and name not in names:
            names.append(name)
    return tuple(names)


def byline(
    outlet: object = "", url: object = "", published: object = "", authors: object = ()
) -> Byline:
    """A Byline from loosely typed values (a page's, a front matter's, a feed line's)."""
    url = str(url or "").strip()
    outlet = " ".join(str(outlet or "").split()) or domain(url)
    return Byline(outlet, url, iso_date(published), author_names(authors))


def article_id(path: Path) -> str:
    """Stable across runs: derived from the resolved path, not from the contents."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_article(path: Path, title: str, text: str, meta: Byline = Byline()) -> Article:
    # Resolved, so that --prune finds the file whatever folder it runs from.
    source = path.resolve()
    return Article(
        article_id(source), title, str(source), text, sha256(text),
        meta.outlet, meta.url, meta.published, meta.authors,
    )  # fmt: skip


_FEED_LINE = re.compile(r"^(.*\.jsonl):(\d+)$", re.IGNORECASE)  # `feeds`' source without a url


def is_gone(article: Article) -> bool | None:
    """Whether the file an article was indexed from is gone; None when that can't be told here.

    Older indexes hold sources as typed (`seeds/x.txt`). Such a path is only trusted when, from
    this folder, it resolves to the path the article's id was made from, so a --prune run from
    another folder deletes nothing."""
    if "://" in article.source:
        return False  # a web page (RealTime QA), not a file
    feed = _FEED_LINE.match(article.source)
    if feed:  # an article of a feed without a url: gone when its feed is
        return not Path(feed.group(1)).is_file()
    path = Path(article.source)
    if article_id(path) != article.id:
        return None
    return not path.is_file()


def read_html(html: str) -> tuple[str, str, Byline]:
    """(title, text, byline) of a web page: trafilatura's main text, without menus, cookie
    banners, ads and "related stories", one paragraph per block. A fragment too small for it to
    find an article in (a few tags) is read whole by the plain extractor instead."""
    from trafilatura import bare_extraction  # imported here: it takes a second to load

    doc = bare_extraction(html, with_metadata=True, include_comments=False, deduplicate=False)
    found: dict[str, Any] = {}
    if doc is not None:
        found = doc if isinstance(doc, dict) else doc.as_dict()
    # One block per line; a blank line between them is the paragraph break the rest of `rag`
    # counts (chunking, "paragraph 3" labels).
    lines = str(found.get("text") or "").split("\n")
    text = "\n\n".join(line.strip() for line in lines if line.strip())
    if not text:
        title, text = html_to_text(html)
        return title, text, Byline()
    title = " ".join(str(found.get("title") or "").split())
    if not title:
        title = html_to_text(html)[0] or text.split("\n", 1)[0].strip()
    meta = byline(found.get("sitename"), found.get("url"), found.get("date"), found.get("author"))
    return title, text, meta


class _TextExtractor(HTMLParser):
    """Readable text from any HTML: block elements become line breaks; script and style vanish.
    The fallback for fragments trafilatura finds no article in."""

    BLOCKS = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
        "table", "section", "article", "header", "footer", "blockquote", "pre", "hr",
    }  # fmt: skip
    SKIP = {"script", "style", "noscript", "template", "head"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self.h1 = ""
        self._skip = 0
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "h1"):
            self._in = tag
        if tag in self.SKIP and tag != "head":
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and tag != "head" and self._skip:
            self._skip -= 1
        if tag == self._in:
            self._in = None
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
            return
        if self._skip:
            return
        if self._in == "h1":
            self.h1 += data
        self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """Return (title, text) for an HTML document, all of its text (see `read_html`)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    raw = "".join(parser.parts)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in raw.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = " ".join((parser.title or parser.h1).split())
    if not title:
        title = text.split("\n", 1)[0].strip()
    return title, text


_FRONT_KEY = re.compile(r"^([A-Za-z][\w-]*)\s*:\s*(.*)$")
_FRONT_FIELDS = ("title", "date", "source", "url", "author", "authors")
MAX_FRONT_LINES = 50


def front_matter(raw: str) -> tuple[dict[str, object], str]:
    """(fields, body) of a text that opens with a front matter block:

        ---
        title: Harbour budget agreed
        date: 2022-06-12
        source: The Gazette
        url: https://gazette.example.com/harbour
        authors: [Jane Smith, Tom Lee]    (or "author:", or "- name" lines below "authors:")
        ---

    Only at the very top. Anything else (no closing line, a line that is not `key: value`, an
    empty block) is not front matter: ({}, raw), and the text is read as plain text. Keys other
    than the ones above are allowed and ignored."""
    lines = raw.split("\n")
    if not lines or lines[0].rstrip() != "---":
        return {}, raw
    fields: dict[str, object] = {}
    listing: str | None = None  # the key whose "- item" lines follow
    for i, line in enumerate(lines[1 : MAX_FRONT_LINES + 1], 1):
        stripped = line.strip()
        if stripped == "---":
            if not fields:
                return {}, raw  # "---" twice is a rule in a text, not a block
            return {k: v for k, v in fields.items() if k in _FRONT_FIELDS}, "\n".join(
                lines[i + 1 :]
            )
        if not stripped or stripped.startswith("#"):
            continue
        if listing and stripped.startswith("- "):
            items = fields.setdefault(listing, [])
            if isinstance(items, list):
                items.append(_unquote(stripped[2:]))
            continue
        match = _FRONT_KEY.match(stripped)
        if not match:
            return {}, raw
        key, value = match.group(1).lower(), match.group(2).strip()
        listing = key if not value else None
        if value.startswith("[") and value.endswith("]"):
            fields[key] = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
        else:
            fields[key] = _unquote(value) if value else []
    return {}, raw


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _first_line_title(text: str, markdown: bool) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line.lstrip("#").strip() if markdown else line
    return ""


def decode(data: bytes) -> tuple[str, str] | None:
    """(text, encoding name), or None when the bytes are not text."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                return None
    if b"\x00" in data:
        return None
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # cp1252 first: it is the usual legacy encoding of Western news, and charset-normalizer's
        # pick among the Latin code pages is unreliable on short texts (it read "Café société" as
        # cp1006 and German as mac_iceland). It still rejects cp1252 for Cyrillic, Greek, Polish.
        match = (
            charset_normalizer.from_bytes(data, cp_isolation=["cp1252"]).best()
            or charset_normalizer.from_bytes(data).best()
        )
        if match is None:
            return None
        text, encoding = str(match), match.encoding
    if len(CONTROLS.findall(text)) > MAX_CONTROL_SHARE * len(text):
        return None
    return text, encoding


def read_decoded(path: Path) -> tuple[str, str] | None:
    """A file's text and the encoding it was read as; None when it is not text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RagError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode(data)


def load_article(path: Path, warn: Callable[[str], None] = lambda _: None) -> Article | None:
    """One file; None (not an exception) for an empty or binary file, after telling `warn` why.
    `warn` also hears about a file that is not UTF-8."""
    decoded = read_decoded(path)
    if decoded is None:
        warn(f"skipped {path}: not text")
        return None
    raw, encoding = decoded
    if encoding not in ("utf-8", "utf-8-sig"):
        warn(f"read {path} as {encoding}, as it is not UTF-8")
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if path.suffix.lower() in (".html", ".htm"):
        title, text, meta = read_html(raw)
        text = boilerplate.strip(text)
    else:
        fields, body = front_matter(raw)
        text = boilerplate.strip(body.strip())
        title = str(fields.get("title") or "").strip()
        title = title or _first_line_title(text, markdown=path.suffix.lower() == ".md")
        meta = byline(
            fields.get("source", ""), fields.get("url", ""), fields.get("date", ""),
            fields.get("authors") or fields.get("author") or (),
        )  # fmt: skip
    if not text.strip():
        warn(f"skipped {path}: empty")
        return None
    return make_article(path, title or path.stem, text, meta)


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders (recursively, sorted) into article files; a missing path is an error."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
            )  # fmt: skip
        elif path.is_file():
            if path.suffix.lower() not in SUFFIXES + FEED_SUFFIXES:
                kinds = ", ".join(SUFFIXES + FEED_SUFFIXES)
                raise RagError(f"{path}: unsupported file type; use {kinds}")
            found.append(path)
        elif path.exists():
            raise RagError(f"{path}: not a regular file or folder")
        else:
            raise RagError(f"{path}: no such file or folder")
    return found


def load_articles(files: Iterable[Path], warn: Callable[[str], None]) -> Iterator[Article]:
    """Load each file (a .jsonl feed gives many articles), calling `warn` for the ones skipped
    as empty, not text, or the same text as an earlier one (build_index skips the ones the index
    already holds)."""
    from rag.feeds import read_feed  # (feeds builds on this module)

    seen: dict[str, tuple[str, str]] = {}  # sha256 -> (id, source) of the first with it
    for path in files:
        if path.suffix.lower() in FEED_SUFFIXES:
            found = read_feed(path, warn)
        else:
            article = load_article(path, warn)
            found = [article] if article else []
        for article in found:
            where = str(path) if article.source == str(path.resolve()) else article.source
            if article.sha256 not in seen:
                seen[article.sha256] = (article.id, where)
                yield article
            elif seen[article.sha256][0] != article.id:  # (the same file named twice: no warning)
                warn(f"{where} has the same text as {seen[article.sha256][1]}; skipped")
