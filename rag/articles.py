"""Load .txt, .md and .html files into Article records.

Owns: walking folders, decoding, HTML-to-text, titles and stable ids. Leaves chunking and
storage to later stages. An article's `text` is the reference that every offset and every quote
points into, so it is produced once here and never altered afterwards.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from rag.errors import RagError

SUFFIXES = (".txt", ".md", ".html", ".htm")


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    source: str  # the file path as given
    text: str
    sha256: str  # of `text`, so a changed file is re-indexed and an unchanged one is not


def article_id(path: Path) -> str:
    """Stable across runs: derived from the resolved path, not from the contents."""
    return hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]


def make_article(path: Path, title: str, text: str) -> Article:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Article(article_id(path), title, str(path), text, digest)


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


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


def load_article(path: Path) -> Article | None:
    """One file; None (not an exception) for an empty or binary file, which callers warn about."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RagError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data.strip() or _looks_binary(data):
        return None
    # Undecodable bytes become U+FFFD rather than failing the whole run.
    raw = data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    raw = raw.lstrip("\ufeff")
    if path.suffix.lower() in (".html", ".htm"):
        title, text = html_to_text(raw)
    else:
        text = raw.strip()
        title = _first_line_title(text, markdown=path.suffix.lower() == ".md")
    if not text.strip():
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
    """Load each file, calling `warn` for the ones skipped as empty or binary."""
    for path in files:
        article = load_article(path)
        if article is None:
            warn(f"skipped {path}: empty or not text")
        else:
            yield article
