"""What the chat shows and exports: an Answer as HTML, its sources panel, the conversation as Markdown.

Owns: escaping (every piece of article or answer text goes through `html.escape`, so an article
holding `<script>` shows as text), `[n]` markers as links with the quote on hover, the quote
highlighted inside its passage by offsets, paragraph labels, each source's byline (outlet linked
to its url, date, authors) and the cost line. Plain functions
without Gradio, so they are tested directly. Leaves layout, events and state to `rag.chat`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rag.records import Answer, Citation, Passage, byline_text

ArticleText = Callable[[str], str]  # article id -> article text (raises if it is gone)

_MARKER = re.compile(r"\[(\d+)\]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
NO_SOURCES = '<div class="rag-sources"><p class="rag-muted">Sources of the last answer appear here.</p></div>'


@dataclass
class Turn:
    """One exchange of a conversation: what was asked, and either an Answer or an error."""

    question: str
    answer: Answer | None = None
    error: str = ""
    html: str = ""  # the assistant message as shown, kept so re-rendering the chat is cheap


def esc(text: str) -> str:
    """Escape for HTML text and attributes; newlines become <br> so that the message stays one
    HTML block for the chat's Markdown renderer (a blank line would end the block)."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def paragraph_number(text: str, offset: int, title: str = "") -> int:
    """1-based paragraph (blank-line separated) holding `offset`; a first paragraph that is just
    the title is not counted, since readers count paragraphs of the body."""
    before = len(_PARAGRAPH_BREAK.findall(text[:offset])) + 1
    first = _PARAGRAPH_BREAK.split(text.strip(), maxsplit=1)[0].strip()
    if title and first == title.strip() and before > 1:
        before -= 1
    return before


def _paragraph_label(lookup: ArticleText, article_id: str, offset: int, title: str) -> str:
    try:
        text = lookup(article_id)
    except Exception:  # the article was removed since: the label is a nicety, not essential
        return ""
    return f"paragraph {paragraph_number(text, offset, title)}"


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escaped `text` with each [start, end) span (offsets into `text`) wrapped in <mark>."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(esc(text[pos:start]))
        out.append(f"<mark>{esc(text[start:end])}</mark>")
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)


def _hover(n: int, citations: Sequence[Citation], passages: Sequence[Passage]) -> str:
    quotes = [c for c in citations if c.n == n]
    if quotes:
        return f"{quotes[0].title}: " + " … ".join(f"“{c.quote}”" for c in quotes)
    passage = next((p for p in passages if p.n == n), None)
    return passage.title if passage else f"source {n}"


def link_markers(text: str, citations: Sequence[Citation], passages: Sequence[Passage]) -> str:
    """Escaped answer text whose [n] markers link to source n and show its quote on hover."""
    out, pos = [], 0
    for match in _MARKER.finditer(text):
        n = int(match.group(1))
        out.append(esc(text[pos : match.start()]))
        out.append(
            f'<a class="rag-cite" href="#src-{n}" title="{esc(_hover(n, citations, passages))}">'
            f"[{n}]</a>"
        )
        pos = match.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def cost_line(answer: Answer) -> str:
    """Seconds, passages read, and what was searched for when that differs from the question."""
    used = len(answer.passages)
    parts = [f"{answer.timings.total_s:.1f} s", f"{used} passage{'' if used == 1 else 's'}"]
    if answer.searched_for and answer.searched_for.strip() != answer.question.strip():
        parts.append(f"searched for: “{answer.searched_for}”")
    if answer.verification:
        parts.append(f"checked against the articles: {answer.verification}")
    return " · ".join(parts)


def render_question(question: str) -> str:
    return f'<div class="rag-question">{esc(question)}</div>'


def render_partial(text: str) -> str:
    """The answer while it streams: plain escaped text (markers are linked once it is final)."""
    return f'<div class="rag-answer rag-streaming">{esc(text)}▍</div>'


def render_answer(answer: Answer) -> str:
    """The finished answer: linked markers, then the cost in small print."""
    body = link_markers(answer.answer, answer.citations, answer.passages)
    return (
        f'<div class="rag-answer">{body}'
        f'<div class="rag-cost"><small>{esc(cost_line(answer))}</small></div></div>'
    )


def render_error(message: str) -> str:
    return f'<div class="rag-error">⚠ {esc(message)}</div>'


def _byline(passage: Passage) -> str:
    """ " — Reuters, 2022-06-12" with the outlet linked to the article's url; "" when unknown.
    Only http(s) urls become links: the url comes from the article, which is not trusted."""
    outlet = passage.outlet or passage.url
    if outlet and passage.url.lower().startswith(("http://", "https://")):
        outlet_html = (
            f'<a href="{esc(passage.url)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{esc(outlet)}</a>"
        )
    else:
        outlet_html = esc(outlet)
    parts = [p for p in (outlet_html, esc(passage.published)) if p]
    line = f" — {', '.join(parts)}" if parts else ""
    if passage.authors:
        line += f' <span class="rag-muted">by {esc(", ".join(passage.authors))}</span>'
    if passage.also_in:  # wire copies: the same story ran in these outlets too
        line += f' <span class="rag-muted">· also ran in {esc(", ".join(passage.also_in))}</span>'
    return line


def _source_card(passage: Passage, citations: Sequence[Citation], lookup: ArticleText) -> str:
    chunk = passage.chunk
    own = [c for c in citations if c.n == passage.n]
    # The label points at the first quote's paragraph; with no quote, at the passage's start.
    offset = own[0].start if own else chunk.start
    label = _paragraph_label(lookup, chunk.article_id, offset, passage.title)
    # Quote offsets are article offsets; the passage text starts at chunk.start.
    spans = [(c.start - chunk.start, c.end - chunk.start) for c in own]
    head = f"<b>[{passage.n}]</b> {esc(passage.title)}{_byline(passage)}"
    if label:
        head += f' <span class="rag-muted">· {esc(label)}</span>'
    return (
        f'<div class="rag-source" id="src-{passage.n}">'
        f'<div class="rag-source-head">{head}</div>'
        f'<blockquote class="rag-passage">{highlight(chunk.text, spans)}</blockquote></div>'
    )


def render_sources(answer: Answer | None, lookup: ArticleText) -> str:
    """The panel beside the chat: the passages the last answer cites, quotes highlighted."""
    if answer is None:
        return NO_SOURCES
    cited = {c.n for c in answer.citations}
    if answer.abstained or not cited:
        heading = (
            "Closest passages (not enough to answer)"
            if answer.abstained
            else "Passages read (the answer cites none)"
        )
        shown, citations = list(answer.passages), []
        if not shown:
            empty = "No passage in the index is close enough to the question."
            return (
                f'<div class="rag-sources"><h4>{heading}</h4><p class="rag-muted">{empty}</p></div>'
            )
    else:
        heading = "Sources"
        shown, citations = [p for p in answer.passages if p.n in cited], answer.citations
    cards = "".join(_source_card(p, citations, lookup) for p in shown)
    return f'<div class="rag-sources"><h4>{heading}</h4>{cards}</div>'


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The Chatbot value: one user and one assistant message per turn."""
    messages: list[dict[str, str]] = []
    for turn in turns:
        messages.append({"role": "user", "content": render_question(turn.question)})
        if turn.html:
            messages.append({"role": "assistant", "content": turn.html})
    return messages


def _quote_block(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines() or [""])


def export_markdown(turns: Sequence[Turn], lookup: ArticleText) -> str:
    """The conversation as Markdown: each question, its answer, and every citation's quote."""
    lines = ["# Conversation", ""]
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. {turn.question}", ""]
        answer = turn.answer
        if answer is None:
            lines += [f"*Error: {turn.error}*", ""]
            continue
        lines += [answer.answer, "", f"*{cost_line(answer)}*", ""]
        if answer.citations:
            lines += ["Sources:", ""]
        for c in answer.citations:
            label = _paragraph_label(lookup, c.article_id, c.start, c.title)
            where = f", {label}" if label else ""
            by = byline_text(c.outlet, c.published)
            title = f"{c.title} — {by}" if by else c.title
            lines += [
                f"[{c.n}] {title}{where} (`{c.url or c.source}`, characters {c.start}-{c.end}):",
                "",
            ]
            lines += [_quote_block(c.quote), ""]
        if answer.abstained and answer.passages:
            lines += ["Closest passages (not enough to answer):", ""]
            for p in answer.passages:
                by = byline_text(p.outlet, p.published)
                title = f"{p.title} — {by}" if by else p.title
                lines += [f"[{p.n}] {title}:", "", _quote_block(p.chunk.text), ""]
    return "\n".join(lines).rstrip() + "\n"
