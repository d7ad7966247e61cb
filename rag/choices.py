"""Answers to choice questions: the option the model meant, or the option an article supports.

Owns the two repairs of a choice answer (questions with options, see `questions`): reading an
answer that names no option exactly as the option it means, and choosing the option a passage
sentence supports when the model picked none, or one no article mentions. Leaves deciding when
to repair to `verification`.
"""

from __future__ import annotations

import re

from rag.citations import strip_markers
from rag.embedding import Embedder
from rag.questions import named_options, nearest_option
from rag.records import REFUSAL, Checked, Passage
from rag.support import SupportJudge
from rag.text import sentence_spans


def read_as_option(answer: str, options: list[str]) -> tuple[str, str]:
    """A choice answer that names no option exactly, rewritten as the option it means, with its
    citations ("a ruling overturning Roe vs Wade [4]" -> "A ruling that overturned Roe vs Wade
    [4]."). Returns the answer and a note ("" if unchanged)."""
    if not options or named_options(strip_markers(answer), options):
        return answer, ""
    i = nearest_option(strip_markers(answer), options)
    if i is None:
        return answer, ""
    marks = "".join(dict.fromkeys(re.findall(r"\[\d+\]", answer)))
    short = " ".join(strip_markers(answer).split()[:12])
    return f"{options[i]} {marks}.".replace(
        " .", "."
    ), f"Read the answer “{short}” as the option “{options[i]}”."


def choose_option(
    question: str,
    options: list[str],
    passages: list[Passage],
    embedder: Embedder,
    why: str,
    closest: bool = False,
) -> Checked:
    """The option that a passage sentence supports best, as the answer to `question`; if no
    sentence naming an option supports it, refuse.

    With `closest` (the model picked an option its passages don't support), an option no
    sentence supports outright may still be shown: the one named in the sentence closest to the
    question. The judge's name and number vetoes rarely pass a news sentence here, as it seldom
    repeats every name of a long quiz question ("NASA ... commercial spaceport ... Where?"). On
    RealTime QA's tuning weeks this changed 5 answers (3 right, 2 wrong -> 3 right), on the
    held-out weeks 8 (all wrong -> right)."""
    judge = SupportJudge(embedder)
    best: tuple[float, int, int] | None = None  # (score, option, passage number)
    nearest: tuple[float, int, int] | None = None
    for passage in passages:
        text = passage.chunk.text
        for sentence in (text[s:e] for s, e in sentence_spans(text)):
            for i in named_options(sentence, options):
                verdict = judge.judge(f"{question} {options[i]}", sentence)
                score = verdict.lexical + verdict.semantic
                if verdict.supported and (best is None or score > best[0]):
                    best = (score, i, passage.n)
                if nearest is None or score > nearest[0]:
                    nearest = (score, i, passage.n)
    if best is not None:
        _, i, n = best
        note = f"The model's answer {why}; shown instead: the option an article supports."
        return Checked(f"{options[i]} [{n}].", False, note)
    if closest and nearest is not None:
        _, i, n = nearest
        note = (
            f"The model's answer {why}; shown instead: the option named in the article "
            "sentence closest to the question."
        )
        return Checked(f"{options[i]} [{n}].", False, note)
    return Checked(REFUSAL, True, f"The model's answer {why}, and no article supports one.")
