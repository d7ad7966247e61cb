"""Citation markers in the model's answer, and the exact quotes they point at.

Owns: normalising markers (`[1, 2]` -> `[1][2]`), dropping numbers that name no given passage
(also while streaming), and turning each (sentence, [n]) pair into a Citation whose quote is
exactly `article.text[start:end]`: the sentence of passage n that shares the most content words
with the answer sentence. Full support checking (re-pointing, dropping unsupported sentences) is
a later stage that builds on `Citation` and `best_sentence`. Leaves the records to `records` and
words, sentences and refusal phrases to `text`, so it loads no model code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from rag.records import Citation, Passage
from rag.text import content_terms, sentence_spans

_GROUP = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")


def normalise_markers(text: str, valid: int) -> str:
    """Rewrite [1, 2] as [1][2] and drop numbers outside 1..valid."""

    def fix(match: re.Match[str]) -> str:
        numbers = [int(x) for x in re.findall(r"\d+", match.group(1))]
        return "".join(f"[{n}]" for n in dict.fromkeys(numbers) if 1 <= n <= valid)

    return _GROUP.sub(fix, text)


class MarkerFilter:
    """Streaming version of normalise_markers: holds back text only while a marker may be open."""

    def __init__(self, valid: int) -> None:
        self.valid = valid
        self._pending = ""

    def feed(self, piece: str) -> str:
        text = self._pending + piece
        cut = text.rfind("[")
        if cut != -1 and "]" not in text[cut:] and re.fullmatch(r"\[[\d\s,;]*", text[cut:]):
            self._pending, text = text[cut:], text[:cut]
        else:
            self._pending = ""
        return normalise_markers(text, self.valid)

    def flush(self) -> str:
        text, self._pending = self._pending, ""
        return normalise_markers(text, self.valid)


def strip_markers(text: str) -> str:
    return re.sub(r"\s*" + _GROUP.pattern, "", text).strip()


def answer_sentences(answer: str) -> Iterator[tuple[str, list[int]]]:
    """Each answer sentence without markers, with the passage numbers it cites."""
    # A marker after the full stop ("... Iran. [2]") belongs to the sentence before it.
    # So does one after a closing quote: "... a scenario.» [1]".
    answer = re.sub(r"([.!?][»”\"’)]*)((?:\s*\[\d+\])+)", r"\2\1", answer)
    for start, end in sentence_spans(answer):
        sentence = answer[start:end]
        numbers = [int(n) for g in _GROUP.findall(sentence) for n in re.findall(r"\d+", g)]
        yield strip_markers(sentence), list(dict.fromkeys(numbers))


def best_sentence(claim: str, passage: Passage) -> tuple[int, int, float]:
    """Article offsets of the passage sentence sharing most content words with `claim`.

    Returns (start, end, overlap) where overlap is the share of the claim's content words found
    in that sentence (0..1).
    """
    words = set(content_terms(claim))
    chunk = passage.chunk
    spans = sentence_spans(chunk.text) or [(0, len(chunk.text))]
    best = (chunk.start + spans[0][0], chunk.start + spans[0][1], 0.0)  # never the whole passage
    for s, e in spans:
        found = set(content_terms(chunk.text[s:e]))
        overlap = len(words & found) / len(words) if words else 0.0
        if overlap > best[2]:
            best = (chunk.start + s, chunk.start + e, overlap)
    return best


def cite(answer: str, passages: Iterable[Passage], article_texts: dict[str, str]) -> list[Citation]:
    """One Citation per distinct (passage, quote) the answer's markers point at, in order."""
    by_n = {p.n: p for p in passages}
    seen: set[tuple[int, int, int]] = set()
    citations: list[Citation] = []
    for claim, numbers in answer_sentences(answer):
        if not content_terms(claim):  # a bare "[1][2]" claims nothing a quote could back
            continue
        for n in numbers:
            passage = by_n.get(n)
            if passage is None:
                continue
            start, end, _ = best_sentence(claim, passage)
            if (n, start, end) in seen:
                continue
            seen.add((n, start, end))
            text = article_texts[passage.chunk.article_id]
            article_id = passage.chunk.article_id
            meta = (passage.outlet, passage.url, passage.published, passage.authors)
            quote = text[start:end]
            citations.append(
                Citation(n, article_id, passage.title, passage.source, start, end, quote, *meta)
            )
    return citations
