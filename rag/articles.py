"""Load .txt, .md and .html files into Article records.

Owns: walking folders, detecting the encoding, telling text from binary, HTML-to-text, titles,
stable ids, and whether an article's file is gone. Leaves chunking and storage to later stages. An article's `text` is the reference that every offset and every quote
points into, so it is produced once here and never altered afterwards.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import charset_normalizer

from rag.errors import RagError

SUFFIXES = (".txt", ".md", ".html", ".htm")
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


def article_id(path: Path) -> str:
    """Stable across runs: derived from the resolved path, not from the contents."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def make_article(path: Path, title: str, text: str) -> Article:
    # Resolved, so that --prune finds the file whatever folder it runs from.
    source = path.resolve()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Article(article_id(source), title, str(source), text, digest)


def is_gone(article: Article) -> bool | None:
    """Whether the file an article was indexed from is gone; None when that can't be told here.

    Older indexes hold sources as typed (`seeds/x.txt`). Such a path is only trusted when, from
    this folder, it resolves to the path the article's id was made from, so a --prune run from
    another folder deletes nothing."""
    if "://" in article.source:
        return False  # a web page (RealTime QA), not a file
    path = Path(article.source)
    if article_id(path) != article.id:
        return None
    return not path.is_file()


class _TextExtractor(HTMLParser):
    """Readable text from HTML: block elements become line breaks; script and style vanish."""

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
    """Return (title, text) for an HTML document."""
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


def load_article(path: Path, warn: Callable[[str], None] = lambda _: None) -> Article | None:
    """One file; None (not an exception) for an empty or binary file, after telling `warn` why.
    `warn` also hears about a file that is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RagError(f"cannot read {path}: {exc.strerror or exc}") from None
    decoded = decode(data)
    if decoded is None:
        warn(f"skipped {path}: not text")
        return None
    raw, encoding = decoded
    if encoding not in ("utf-8", "utf-8-sig"):
        warn(f"read {path} as {encoding}, as it is not UTF-8")
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if path.suffix.lower() in (".html", ".htm"):
        title, text = html_to_text(raw)
    else:
        text = raw.strip()
        title = _first_line_title(text, markdown=path.suffix.lower() == ".md")
    if not text.strip():
        warn(f"skipped {path}: empty")
        return None
    return make_article(path, title or path.stem, text)


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
            if path.suffix.lower() not in SUFFIXES:
                raise RagError(f"{path}: unsupported file type; use {', '.join(SUFFIXES)}")
            found.append(path)
        elif path.exists():
            raise RagError(f"{path}: not a regular file or folder")
        else:
            raise RagError(f"{path}: no such file or folder")
    return found


def load_articles(files: Iterable[Path], warn: Callable[[str], None]) -> Iterator[Article]:
    """Load each file, calling `warn` for the ones skipped as empty, not text, or the same text
    as an earlier file (build_index skips the ones the index already holds)."""
    seen: dict[str, tuple[str, Path]] = {}  # sha256 -> (id, path) of the first file with it
    for path in files:
        article = load_article(path, warn)
        if article is None:
            continue
        if article.sha256 not in seen:
            seen[article.sha256] = (article.id, path)
            yield article
        elif seen[article.sha256][0] != article.id:  # (the same file named twice: no warning)
            warn(f"{path} has the same text as {seen[article.sha256][1]}; skipped")
