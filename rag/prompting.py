"""Prompt templates from prompts/, filled with the numbered passages and the question.

Owns: loading the templates (shipped inside the wheel as the `rag.prompts` package) and building
the chat messages: system.txt, then the worked examples of examples.json as earlier chat turns
(small models copy a shown format far more reliably than a described one, and as separate turns
they do not leak into the answer), then answer.txt. The static prefix is identical for every
question, so llama.cpp reuses its evaluated state and the examples cost nothing after the first.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from rag.errors import RagError
from rag.generation import Message
from rag.records import REFUSAL, Passage
from rag.untrusted import for_prompt


@cache
def load_prompt(name: str) -> str:
    try:
        return (resources.files("rag.prompts") / f"{name}.txt").read_text(encoding="utf-8").strip()
    except (FileNotFoundError, ModuleNotFoundError):
        raise RagError(f"prompt template {name}.txt is missing from the installation") from None


@cache
def examples() -> tuple[Message, ...]:
    try:
        raw = (resources.files("rag.prompts") / "examples.json").read_text(encoding="utf-8")
        return tuple(Message(m["role"], m["content"]) for m in json.loads(raw))
    except (FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"prompt examples.json is missing or malformed: {exc}") from None


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(
        f"[{p.n}] ({for_prompt(p.title)}) {for_prompt(p.chunk.text)}" for p in passages
    )


def build_messages(question: str, passages: list[Passage]) -> list[Message]:
    user = load_prompt("answer").format(passages=format_passages(passages), question=question)
    return [Message("system", load_prompt("system")), *examples(), Message("user", user)]


# What a small model copies from the prompt instead of answering: passage headers ("[2] (Title)"
# or "Source 2:", the passage text after them is kept), the "Question:" line, labels.
_HEADER = re.compile(r"^\s*(?:\[\d+\]\s*\([^)]*\)|(?:source|passage|document)\s*\d+\s*:)\s*", re.I)
_PROMPT_LINE = re.compile(r"^\s*(?:question|passages?)\s*:", re.I)
_ANSWER_LABEL = re.compile(r"^\s*answer\s*:\s*", re.I)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W\d_]+", text.lower()))


def strip_echo(text: str) -> str:
    """The model's answer without text it copied from the prompt's scaffolding.

    Drops echoed passage headers (keeping the passage text after them), "Question:" lines, and any sentence of the worked
    examples (their storm and mayor must never appear in an answer about the news). Passage
    sentences the model quotes as its answer are kept: that is the answer, cited."""
    leftovers = {
        _words(sentence)
        for m in examples()
        for sentence in re.split(r"(?<=[.!?»])\s+|\n+", re.sub(r"\[\d+\]\s*\(.*?\)", "", m.content))
        if len(sentence.split()) >= 4
    } - {_words(REFUSAL)}
    lines = []
    for line in text.splitlines():
        if _PROMPT_LINE.match(line):
            continue
        line = _ANSWER_LABEL.sub("", _HEADER.sub("", line))
        sentences = re.split(r"(?<=[.!?»\]])\s+(?=[A-Z«\"])", line)
        lines.append(" ".join(x for x in sentences if _words(x) not in leftovers))
    return "\n".join(line for line in lines if line.strip()).strip()


def template_text() -> str:
    """Everything in the prompt but the passages and the question, for budgeting."""
    fixed = [load_prompt("system"), *(m.content for m in examples())]
    return "\n".join([*fixed, load_prompt("answer").format(passages="", question="")])
