"""Articles are untrusted: instructions planted in them are text, never orders or evidence.

Owns: recognising a paragraph of an article that addresses the answering system instead of
the reader ("ignore all previous instructions", "Note to AI assistants: ...", fake "System:" or
"Assistant:" turns, fake "[2] (Title)" passage headers, chat-template tokens), and `guard`, which
blanks such paragraphs out of the passages (same length, so every offset still points into the
article) and returns what was blanked, so the checks can drop an answer that repeats it. Also
`for_prompt`, which keeps passage text from imitating the prompt's own markers.
Leaves telling the model that passages are data to prompts/system.txt, and dropping the
sentences that obeyed to rag/verification.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from functools import lru_cache

from rag.records import Passage

# Who an instruction to the answering system is addressed to.
_AI = r"(?:ai|assistants?|chat ?bots?|(?:large )?language models?|llms?|answering system|models?)"
# Each pattern is a way text speaks to the system that reads it rather than to a news reader.
_INSTRUCTION = re.compile(
    "|".join(
        [
            r"\b(?:ignore|disregard|forget|override)\b[^.!?\n]{0,20}\b(?:previous|prior|above|"
            r"earlier|other|all|your|the|any|these)\s+(?:instructions?|rules|prompts?|passages?)\b",
            r"\b(?:system|developer|admin)\s+(?:note|message|prompt|instructions?|override)\b",
            rf"\bnew instructions?\s+(?:from|for)\s+(?:the\s+)?(?:developer|system|admin|{_AI})\b",
            rf"\b(?:notes?|messages?|reminders?|instructions?|requirements?)\s+(?:to|for)\s+(?:the\s+"
            rf"|all\s+|any\s+)?{_AI}\b",
            rf"\b{_AI}\s+instructions?\b",
            rf"\bif you are an?\s+{_AI}\b",
            rf"\b(?:dear|attention|hey)\s*,?\s+{_AI}\b",
            rf"\b{_AI}\s+(?:must|should|shall)\s+(?:always|never|answer|reply|respond|say|state)\b",
            # "answer every question with 'X'", "reply to any question with X"
            r"\b(?:answer|reply|respond)\w*\b[^.!?\n]{0,30}\b(?:every|any|each|all)\s+"
            r"(?:questions?|quer(?:y|ies)|requests?)\s+with\b",
            r"\b(?:answer|reply|respond)\w*\s+with\b[^.!?\n]{0,60}\b(?:to|for)\s+(?:every|any|each)\s+"
            r"(?:questions?|quer(?:y|ies)|requests?)\b",
            r"\bwhatever the question\b",
            r"\breply exactly\b",
            r"\bfrom now on\b[^.!?\n]{0,30}\byou\b",
            r"\byou are (?:now|no longer)\b",
            r"\b(?:every|each|all)\s+answers?\s+must\b",
            r"\b(?:begin|end)\s+(?:system\s+)?prompt\b",
            r"\bpriority override\b",
            # An order about what to answer, at the start of a sentence or clause ("...: tell
            # users that ...", "answer with ..."), or to the machines reading the page.
            r"(?:^|[.!?:;]\s+)(?:please\s+)?(?:answer|reply|respond|tell|say|state|write|cite|"
            r"repeat|mention)\s+(?:that|with|users?|the\s+users?|readers?|only|always|exactly|"
            r"every|all|any)\b",
            r"\b(?:for|to)\s+(?:the\s+|all\s+|any\s+)?(?:bots?|crawlers?|automated\s+"
            r"(?:readers?|systems?|tools?))\b|\bautomated readers?\b|\bprocessing this "
            r"(?:text|article|story|page)\b",
            r"\b(?:every|each)\s+(?:replies|reply|answers?|responses?)\b",
            r"</?(?:system|assistant|user|instructions?|prompt)>|\"role\"\s*:\s*\"(?:system|"
            r"assistant|user)\"",
            r"<\|[^|\n]{1,40}\|>",
            r"#{2,}\s*(?:instruction|response|system)\b",
            r"<!--",
            # Text that imitates a chat turn, this prompt's passage headers, or its answers'
            # citations ("... dead and buried [1].", "According to passages [1] and [2]").
            r"^\s*(?:system|assistant|user|human)\s*:",
            r"^\s*\[\d+\]\s*\(",
            r"[^\W\d_] \[\d+\][.!?]",
            r"\b(?:passages?|sources?|documents?)\s*\[\d+\]",
        ]
    ),
    re.I | re.M,
)
_PARAGRAPH = re.compile(r"\n\s*\n")


def is_instruction(text: str) -> bool:
    """Whether `text` speaks to the system answering questions (full-width letters and other
    look-alikes are folded first, so "ＳＹＳＴＥＭ:" counts)."""
    return bool(_INSTRUCTION.search(unicodedata.normalize("NFKC", text)))


@lru_cache(maxsize=256)  # per article, not per question: a long web page takes milliseconds
def planted_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The paragraphs of an article that carry an instruction. The whole paragraph goes: the
    sentences around an instruction ("DAN says: ...") are the payload it asks to repeat."""
    spans: list[tuple[int, int]] = []
    start = 0
    for gap in [*_PARAGRAPH.finditer(text), None]:
        end = gap.start() if gap else len(text)
        if is_instruction(text[start:end]):
            spans.append((start, end))
        start = gap.end() if gap else end
    return tuple(spans)


def guard(passages: list[Passage], articles: dict[str, str]) -> tuple[list[Passage], str]:
    """The passages with planted paragraphs blanked (the article texts, by id, say where a
    paragraph begins and ends, which a chunk alone may not), and the text that was blanked."""
    guarded, planted = [], []
    for p in passages:
        text = articles.get(p.chunk.article_id, "")
        chunk = list(p.chunk.text)
        for start, end in planted_spans(text):
            lo, hi = max(start, p.chunk.start), min(end, p.chunk.end)
            if lo < hi and text[p.chunk.start : p.chunk.end] == p.chunk.text:
                planted.append(text[lo:hi])
                chunk[lo - p.chunk.start : hi - p.chunk.start] = " " * (hi - lo)
        blanked = "".join(chunk)
        changed = blanked != p.chunk.text
        guarded.append(replace(p, chunk=replace(p.chunk, text=blanked)) if changed else p)
    return guarded, "\n".join(planted)


_SPECIAL = re.compile(r"<\|[^|\n]{1,40}\|>")
_MARKER = re.compile(r"\[(\d+)\]")


def for_prompt(text: str) -> str:
    """Passage text as the model reads it: blanked paragraphs closed up, chat-template tokens
    removed, and "[2]" written "(2)" so an article cannot show the model a citation."""
    return re.sub(r"[ \t]{2,}", " ", _MARKER.sub(r"(\1)", _SPECIAL.sub(" ", text))).strip()
