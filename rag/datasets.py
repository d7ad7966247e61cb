"""Evaluation sets on disk -> EvalItem records, and the index each set is asked against.

Owns three formats: the project's JSONL (`evals/seed.jsonl`), a LlamaIndex
LabelledRagDataset JSON, and RealTime QA weeks (`WEEK_qa.jsonl`, whose articles are the web
pages in the sibling `WEEK_gcs.jsonl`, read by `feeds` as `rag index` reads them). For RealTime QA it also builds the week's index (or
reuses it: the folder name carries a hash of the articles file). Leaves grading to `evaluation`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.articles import Article
from rag.embedding import Embedder
from rag.errors import RagError
from rag.feeds import read_feed
from rag.store import build_index, resolve_index

RTQA_SUFFIX = "_qa.jsonl"
RTQA_ARTICLES = "_gcs.jsonl"


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    history: list[str] = field(default_factory=list)
    answers: list[list[str]] = field(default_factory=list)  # every group must match, any member
    support: list[str] = field(default_factory=list)  # verbatim article text holding the answer
    contexts: list[str] = field(default_factory=list)  # LlamaIndex reference contexts
    reference: str | None = None  # LlamaIndex reference answer
    answerable: bool = True
    choices: list[str] = field(default_factory=list)  # RealTime QA's four options
    gold: int | None = None  # index of the right option
    with_options: bool = True  # the options follow the question ("... Options: A; B; C; D.")


def expand(paths: Iterable[Path]) -> list[Path]:
    """Dataset files; a folder stands for the RealTime QA weeks (or else the .jsonl files) in it."""
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob(f"*{RTQA_SUFFIX}")) or sorted(path.glob("*.jsonl"))
            if not found:
                raise RagError(f"no dataset files (*.jsonl) in {path}")
            out.extend(found)
        else:
            out.append(path)
    return out


def is_realtimeqa(path: Path) -> bool:
    return path.name.endswith(RTQA_SUFFIX)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RagError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise RagError(f"dataset {path} is not UTF-8 text") from None


def load_dataset(path: Path, open_questions: bool = False) -> list[EvalItem]:
    """The items of a RealTime QA week, a LlamaIndex LabelledRagDataset JSON (`examples[]`) or
    the project's JSONL. `open_questions` asks RealTime QA questions without their options."""
    raw = _read(path)
    if is_realtimeqa(path):
        return _realtimeqa(path, raw, open_questions)
    stripped = raw.lstrip()
    if stripped.startswith("{") and '"examples"' in stripped[:200]:
        try:
            examples = json.loads(raw)["examples"]
            return [
                EvalItem(
                    id=f"q{i + 1:03d}",
                    question=ex["query"],
                    contexts=list(ex.get("reference_contexts") or []),
                    reference=ex.get("reference_answer"),
                )  # fmt: skip
                for i, ex in enumerate(examples)
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise RagError(f"{path} is not a LabelledRagDataset: {exc}") from None
    items = []
    for number, row in _rows(path, raw, "a dataset line"):
        try:
            turns = row.get("turns") or [row["question"]]
            support = row.get("support")
            items.append(
                EvalItem(
                    id=str(row.get("id", number)),
                    question=turns[-1],
                    history=list(turns[:-1]),
                    answers=[list(g) for g in row.get("answers") or []],
                    support=[support] if isinstance(support, str) else list(support or []),
                    answerable=bool(row.get("answerable", True)),
                )  # fmt: skip
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RagError(f"{path}:{number}: not a dataset line ({exc})") from None
    if not items:
        raise RagError(f"{path} holds no questions")
    return items


def _rows(path: Path, raw: str, what: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) for every non-blank line."""
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise RagError(f"{path}:{number}: not {what} ({exc})") from None
        if not isinstance(row, dict):
            raise RagError(f"{path}:{number}: not {what} (not a JSON object)")
        yield number, row


def options_question(question: str, choices: list[str]) -> str:
    """RealTime QA's multiple-choice form: "Q? Options: A; B; C; D."."""
    return f"{question.strip()} Options: {'; '.join(c.strip() for c in choices)}."


def _realtimeqa(path: Path, raw: str, open_questions: bool) -> list[EvalItem]:
    items = []
    for number, row in _rows(path, raw, "a RealTime QA line"):
        try:
            question, choices = row["question_sentence"], [str(c) for c in row["choices"]]
            gold = int(row["answer"][0])
            if not 0 <= gold < len(choices):
                raise ValueError(f"answer {gold} is not one of {len(choices)} choices")
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise RagError(f"{path}:{number}: not a RealTime QA line ({exc})") from None
        items.append(
            EvalItem(
                id=str(row.get("question_id", number)),
                question=question if open_questions else options_question(question, choices),
                answers=[[choices[gold]]],
                choices=choices,
                gold=gold,
                with_options=not open_questions,
            )
        )
    if not items:
        raise RagError(f"{path} holds no questions")
    return items


def realtimeqa_articles(qa_path: Path) -> tuple[Path, list[Article]]:
    """The week's web pages from the sibling WEEK_gcs.jsonl, read by `feeds` (one Article per
    url, the first copy winning, the title as the text's first paragraph)."""
    gcs = qa_path.with_name(qa_path.name[: -len(RTQA_SUFFIX)] + RTQA_ARTICLES)
    if not gcs.is_file():
        raise RagError(f"cannot read dataset {gcs}: no such file")
    return gcs, read_feed(gcs, what="a RealTime QA search result")


def realtimeqa_index_name(gcs: Path) -> str:
    """indexes/realtimeqa-WEEK-HASH: a changed articles file gets a new index, an unchanged one
    is reused."""
    digest = hashlib.sha256(gcs.read_bytes()).hexdigest()[:12]
    week = gcs.name[: -len(RTQA_ARTICLES)]
    return f"realtimeqa-{week}-{digest}"


def realtimeqa_index(
    qa_path: Path,
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    on_progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Build the week's index under indexes/, or reuse it when the articles are unchanged
    (build_index re-embeds only articles whose text hash changed, so a second run writes
    nothing)."""
    gcs, articles = realtimeqa_articles(qa_path)
    path = resolve_index(realtimeqa_index_name(gcs))
    build_index(path, articles, embedder, chunk_tokens, chunk_overlap, on_progress=on_progress)
    return path
