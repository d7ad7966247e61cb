"""Prompt templates from prompts/, filled with the numbered passages and the question.

Owns: loading the templates (shipped inside the wheel as the `rag.prompts` package) and building
the chat messages: system.txt, then the worked examples of examples.json as earlier chat turns
(small models copy a shown format far more reliably than a described one, and as separate turns
they do not leak into the answer), then answer.txt. The static prefix is identical for every
question, so llama.cpp reuses its evaluated state and the examples cost nothing after the first.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from rag.errors import RagError
from rag.generation import Message
from rag.retrieval import Passage

REFUSAL = "The articles don't say."


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
    return "\n\n".join(f"[{p.n}] ({p.title}) {p.chunk.text}" for p in passages)


def build_messages(question: str, passages: list[Passage]) -> list[Message]:
    user = load_prompt("answer").format(passages=format_passages(passages), question=question)
    return [Message("system", load_prompt("system")), *examples(), Message("user", user)]


def template_text() -> str:
    """Everything in the prompt but the passages and the question, for budgeting."""
    fixed = [load_prompt("system"), *(m.content for m in examples())]
    return "\n".join([*fixed, load_prompt("answer").format(passages="", question="")])
