"""Questions as typed: one on the command line or many in a batch file, checked before any
model loads.

Owns: the empty and over-long question checks and reading batch files (plain lines or JSON
objects with a history). Leaves answering to `assistant` and printing to `cli`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rag.errors import RagError


def check_question(question: str, limit: int) -> None:
    """Refuse an empty or over-long question before anything loads (no tokenizer needed)."""
    if not question.strip():
        raise RagError("the question is empty")
    if len(question) > limit:
        raise RagError(
            f"the question is {len(question)} characters long; the limit is {limit} "
            "(max_question_chars)"
        )


def _batch_line(line: str, limit: int) -> tuple[str, list[str]]:
    """The question and history of one non-blank batch line; a RagError says what is wrong."""
    if not line.startswith("{"):
        check_question(line, limit)
        return line, []
    try:
        item = json.loads(line)
    except ValueError:
        raise RagError("not valid JSON") from None
    if not isinstance(item, dict) or not isinstance(item.get("question"), str):
        raise RagError('not a JSON object with a "question" string')
    history = item.get("history", [])
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        raise RagError('"history" must be a list of strings')
    check_question(item["question"], limit)
    return item["question"], history


def batch_items(source: str, limit: int) -> list[tuple[str, list[str], str]]:
    """(question, history, error) per non-blank line. The whole file is read and checked before
    the model loads, so an unreadable file fails at once; a bad line is reported, not fatal."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
        text = data.decode("utf-8-sig")  # a BOM from Notepad is not part of the first question
    except OSError as exc:
        raise RagError(f"cannot read {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise RagError(f"cannot read {source}: not UTF-8 (byte {exc.start})") from None
    items: list[tuple[str, list[str], str]] = []
    for number, line in enumerate(text.split("\n"), 1):  # numbered as an editor shows them
        line = line.strip()
        if not line:
            continue
        try:
            items.append((*_batch_line(line, limit), ""))
        except RagError as exc:
            items.append((line, [], f"line {number}: {exc}"))
    if not items:
        raise RagError(f"no questions in {source}")
    return items
