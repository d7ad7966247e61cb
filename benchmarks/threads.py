"""Decode and prompt threads on a quiet machine and with one core kept busy (issue #16 item 2).

Usage: .venv/bin/python benchmarks/threads.py [--default-only] [--out benchmarks/results/threads.json]

For each (decode threads, prompt threads) pair, one warm assistant with the default preset
answers four seed questions quiet and four with a `while :; do :; done` loop holding one core
(bounded: it is killed after each answer), in turn, three rounds. Reports medians of
first token, total and decode speed, and the busy/quiet ratios. Needs indexes/default (make index).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402

QUESTIONS = [
    "What did Putin say about the treaty?",
    "Has Iran asked Russia for military aid?",
    "Who is Maria Zakharova?",
    "What did Putin and Xi denounce?",
]


def _timed(
    assistant: Assistant, question: str, texts: dict[str, set[str]]
) -> tuple[float, float, float]:
    answer = assistant.ask(question)
    texts.setdefault(question, set()).add(answer.answer)
    t = answer.timings
    decode_s = max(1e-6, t.total_s - (t.first_token_s or 0.0))
    return (t.first_token_s or 0.0, t.total_s, answer.completion_tokens / decode_s)


def measure(assistant: Assistant, rounds: int) -> dict[str, Any]:
    """Answers taken in turn quiet and with a loop holding one core, so that whatever else the
    shared machine does meanwhile hits both alike. Every question is asked both ways each
    round, never twice in a row (a repeated prompt would be served from llama.cpp's cache)."""
    shift = len(QUESTIONS) // 2
    order = [(QUESTIONS[i], QUESTIONS[(i + shift) % len(QUESTIONS)]) for i in range(len(QUESTIONS))]
    rows: dict[str, list[tuple[float, float, float]]] = {"quiet": [], "one_core_busy": []}
    texts: dict[str, set[str]] = {}  # a question's answers, quiet and busy: threads change none
    for _ in range(rounds):
        for quiet_question, busy_question in order:
            rows["quiet"].append(_timed(assistant, quiet_question, texts))
            hog = subprocess.Popen(["bash", "-c", "while :; do :; done"])
            try:
                rows["one_core_busy"].append(_timed(assistant, busy_question, texts))
            finally:
                hog.kill()
                hog.wait()
    result: dict[str, Any] = {
        mode: {
            name: round(statistics.median(r[i] for r in got), 3)
            for i, name in enumerate(("first_token_s", "total_s", "decode_tok_s"))
        }
        for mode, got in rows.items()
    }
    result["same_answers"] = all(len(found) == 1 for found in texts.values())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--default-only", action="store_true", help="only the shipped default")
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked")
    args = parser.parse_args()
    cores = os.cpu_count() or 2
    pairs = sorted({(cores, cores), (max(1, cores - 1), cores), (1, 1)}, reverse=True)
    if args.default_only:
        pairs = [(0, 0)]  # n_threads=0: generation.py picks both
    results: dict[str, Any] = {"cores": cores, "runs": []}
    for decode, prompt in pairs:
        assistant = Assistant.from_settings(load_settings(n_threads=decode))
        if prompt:
            assistant.generator.n_threads_batch = prompt  # type: ignore[attr-defined]
        decode = assistant.generator.n_threads  # type: ignore[attr-defined]
        prompt = assistant.generator.n_threads_batch  # type: ignore[attr-defined]
        assistant.ask("A first question to load the model and evaluate the prompt's prefix?")
        got = measure(assistant, args.rounds)
        quiet, busy = got["quiet"], got["one_core_busy"]
        run = {
            "decode_threads": decode,
            "prompt_threads": prompt,
            "quiet": quiet,
            "one_core_busy": busy,
            "busy_over_quiet_total": round(busy["total_s"] / quiet["total_s"], 2),
            "busy_decode_share": round(busy["decode_tok_s"] / quiet["decode_tok_s"], 2),
            "same_answers_quiet_and_busy": got["same_answers"],
        }
        results["runs"].append(run)
        print(json.dumps(run), flush=True)
        del assistant
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
