"""JSON Lines feeds: one article per line, or RealTime QA's web search results, as Articles.

Owns reading a `.jsonl` file into Articles. A line is either an article,
`{"title", "text", "url"?, "published"?, "authors"?, "source"?}` (`source` is the outlet), or a
RealTime QA `WEEK_gcs.jsonl` row, `{"search_result": [{url, title, text, authors,
publish_date}, ...]}`. Articles are deduplicated by url (the first copy wins); an article's id
is the sha1 of its url, or of `FILE:LINE` when it has none, and its source is the url or
`FILE:LINE`. The title is the text's first paragraph, so that it is searchable and quotable.
A bad line is a one-line RagError naming FILE:LINE. Leaves files of other kinds to `articles`
and evaluation sets to `datasets`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag import boilerplate
from rag.articles import Article, byline, read_decoded, sha256
from rag.errors import RagError


def read_feed(
    path: Path, warn: Callable[[str], None] = lambda _: None, what: str = "a feed line"
) -> list[Article]:
    """The articles of a feed, in file order. `what` names a line in errors ("not a feed line").
    An entry without text is skipped (RealTime QA has a few), with a warning for an article
    line; a file with no article at all is an error."""
    raw = _read(path)
    source = path.resolve()
    articles: dict[str, Article] = {}  # url (or FILE:LINE) -> article
    for number, line in enumerate(raw.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("not a JSON object")
            if "search_result" in row:
                entries = row["search_result"]
                if not isinstance(entries, list):
                    raise TypeError('"search_result" is not a list')
                found = [_article(e, f"{source}:{number}", "publish_date") for e in entries]
            else:
                found = [_article(row, f"{source}:{number}", "published", strict=True)]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RagError(f"{path}:{number}: not {what} ({_reason(exc)})") from None
        for article in found:
            if article is None:
                if "search_result" not in row:
                    warn(f"skipped {path}:{number}: no text")
                continue
            articles.setdefault(article.source, article)
    if not articles:
        raise RagError(f"{path} holds no articles")
    return list(articles.values())


def _article(entry: Any, where: str, date_key: str, strict: bool = False) -> Article | None:
    """One entry as an Article, or None when it has no text. `strict` (an article line of our
    own format) also requires `text` to be there and to be a string."""
    if not isinstance(entry, dict):
        raise TypeError("an entry is not a JSON object")
    body = entry["text"] if strict else entry.get("text")
    if strict and not isinstance(body, str):
        raise TypeError('"text" is not a string')
    body = boilerplate.strip(str(body or "").replace("\r\n", "\n").strip())
    url = str(entry.get("url") or "").strip()
    title = " ".join(str(entry.get("title") or "").split())
    if not body:
        return None
    text = f"{title}\n\n{body}" if title else body
    key = url or where
    meta = byline(entry.get("source") or "", url, entry.get(date_key) or "", entry.get("authors"))
    return Article(
        hashlib.sha1(key.encode("utf-8")).hexdigest()[:16], title or url or Path(where).name,
        key, text, sha256(text), meta.outlet, meta.url, meta.published, meta.authors,
    )  # fmt: skip


def _read(path: Path) -> str:
    decoded = read_decoded(path)
    if decoded is None:
        raise RagError(f"{path} is not text")
    return decoded[0]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
