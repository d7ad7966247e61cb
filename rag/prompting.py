"""Prompt templates from prompts/*.txt, filled with the numbered passages and the question.

Owns: loading the templates (shipped inside the wheel as the `rag.prompts` package) and building
the chat messages. Leaves the wording itself to the .txt files.
"""

from __future__ import annotations

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


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(f"[{p.n}] ({p.title}) {p.chunk.text}" for p in passages)


def build_messages(question: str, passages: list[Passage]) -> list[Message]:
    user = load_prompt("answer").format(passages=format_passages(passages), question=question)
    return [Message("system", load_prompt("system")), Message("user", user)]


def template_text() -> str:
    """The template text without passages or question, for budgeting."""
    return load_prompt("system") + load_prompt("answer").format(passages="", question="")
