"""Who said what: the attributed direct quotes of an article, and the queries behind `rag quotes`.

Owns the `Quote` record, `extract_quotes` (quote marks from `rag.quotemarks`, speakers from
`rag.attribution`) with its cache per article text (in memory and in cache_dir()/quotes), and
finding, filtering and formatting one speaker's quotes. Leaves name handling to `rag.speakers`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rag import grammar
from rag.articles import Article
from rag.attribution import attribute_spans
from rag.models import cache_dir
from rag.speakers import NAME_RE, strip_titles
from rag.speakers import speaker_matches as speaker_matches
from rag.speech import SENTENCE_END as SENTENCE_END


@dataclass(frozen=True)
class Quote:
    speaker: str  # a full name without titles, or an organisation ("Kremlin")
    text: str  # the quoted words, verbatim: article_text[start:end]
    start: int
    end: int
    verb: str  # the speech verb of the attribution ("said"); a quote continuing another has its
    attribution_start: int  # where the speaker is named: the name, pronoun or role words
    attribution_end: int


# The modules whose code decides the quotes: a change to any of them is a new cache version.
DECIDED_BY = ("attribution", "grammar", "mentions", "quotemarks", "quotes", "speakers", "speech")


def extract_quotes(text: str) -> list[Quote]:
    """The direct quotes in text whose speaker can be told, in text order."""
    return list(_extract(text))


@lru_cache(maxsize=256)
def _extract(text: str) -> tuple[Quote, ...]:
    # Kept per article text, in memory and on disk: the chat and `rag serve` ask about the same
    # articles again, every `rag quotes` and "what did X say" reads them again, and a quote the
    # rules leave open costs a parse (rag.grammar), about 20 ms a paragraph.
    path = _folder() / f"{_digest(text)}.json"
    try:
        return tuple(Quote(**q) for q in json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        pass
    found = tuple(
        Quote(s.speaker, text[span.start : span.end], span.start, span.end, s.verb, s.at, s.to)
        for span, s in attribute_spans(text)
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps([asdict(q) for q in found], ensure_ascii=False))
        os.replace(tmp, path)  # whole or not at all, even with two processes at once
    except OSError:
        pass  # a read-only cache only costs time
    return found


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@lru_cache(maxsize=1)
def _folder() -> Path:
    """This code version's cache folder; those of other versions are removed, once a process."""
    folder = cache_dir() / "quotes" / _version()
    if folder.parent.is_dir():
        for old in folder.parent.iterdir():
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return folder


@lru_cache(maxsize=1)
def _version() -> str:
    """A hash of the code that decides the quotes, and of the parser model's name."""
    digest = hashlib.sha256(grammar.MODEL.encode())
    for name in DECIDED_BY:
        digest.update((Path(__file__).parent / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def named_in(name: str, text: str) -> bool:
    """Whether the text names the speaker: a capitalised name that `speaker_matches` it. An
    article that never names X holds no quote of X, so it need not be read for one."""
    for m in NAME_RE.finditer(text):
        found = re.sub(r"['’]s$", "", m.group())
        if speaker_matches(name, strip_titles(found) or found):
            return True
    return False


def _context(text: str, quote: Quote) -> str:
    """The quote with the sentences it sits in and its attribution, within its paragraph."""
    lo, hi = min(quote.start, quote.attribution_start), max(quote.end, quote.attribution_end)
    para_start = text.rfind("\n", 0, lo) + 1
    para_end = text.find("\n", hi)
    para_end = len(text) if para_end < 0 else para_end
    ends = [m.end() for m in SENTENCE_END.finditer(text, para_start, lo)]
    after = SENTENCE_END.search(text, hi, para_end)
    return text[ends[-1] if ends else para_start : after.start() + 1 if after else para_end]


def is_about(text: str, quote: Quote, about: str) -> bool:
    """Every word of the topic occurs (case-insensitive, as a word start) in the quote or the
    sentence around it: "treaty" finds "treaty's", not "retreaty"."""
    words = re.findall(r"\w+", about.lower())
    context = _context(text, quote).lower()
    return bool(words) and all(re.search(rf"\b{re.escape(w)}", context) for w in words)


def quotes_by(
    articles: Iterable[Article], name: str, about: str | None = None
) -> list[tuple[Article, Quote]]:
    """Every quote of the named speaker ("Putin" finds "Vladimir Putin"), optionally only
    those about a topic, in article then text order."""
    found = []
    for article in articles:
        if not named_in(name, article.text):
            continue
        for quote in extract_quotes(article.text):
            if speaker_matches(name, quote.speaker) and (
                about is None or is_about(article.text, quote, about)
            ):
                found.append((article, quote))
    return found


def format_quote(article: Article, quote: Quote) -> str:
    """Two plain lines: who said what, then where (title, outlet, date, url or file, offsets)."""
    byline = ", ".join(part for part in (article.outlet, article.published) if part)
    return (
        f"{quote.speaker}: “{quote.text}”\n"
        f"    {article.title}{f' — {byline}' if byline else ''} "
        f"({article.url or article.source}, characters {quote.start}-{quote.end})"
    )


def quote_dict(article: Article, quote: Quote) -> dict[str, Any]:
    """The JSON form: article id, title, source, speaker, text, start, end, then the article's
    outlet, url and published date ("" when unknown)."""
    return {
        "article_id": article.id,
        "title": article.title,
        "source": article.source,
        "speaker": quote.speaker,
        "text": quote.text,
        "start": quote.start,
        "end": quote.end,
        "outlet": article.outlet,
        "url": article.url,
        "published": article.published,
    }
