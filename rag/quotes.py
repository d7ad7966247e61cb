"""Who said what: the attributed direct quotes of an article, and the queries behind `rag quotes`.

Owns the `Quote` record, `extract_quotes` (quote marks from `rag.quotemarks`, speakers from
`rag.attribution`) and finding, filtering and formatting one speaker's quotes. Leaves name
handling to `rag.speakers`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rag.articles import Article
from rag.attribution import attribute_spans
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


def extract_quotes(text: str) -> list[Quote]:
    """The direct quotes in text whose speaker can be told, in text order."""
    return [
        Quote(s.speaker, text[span.start : span.end], span.start, span.end, s.verb, s.at, s.to)
        for span, s in attribute_spans(text)
    ]


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
