"""API overhead: the same questions through `rag serve` (streamed, the `openai` client on
loopback) and through the in-process Assistant, first token and total. Target: within 5%.

Usage: .venv/bin/python benchmarks/api_overhead.py [--rounds 3] [--model PRESET] [--out FILE]

`rag serve` runs as a child process over a fresh index of seeds/ in a temp folder, and this
process opens the same index with `Assistant.from_settings`, so all sides answer from the same
passages, each with its own copy of the model (default preset). After one warm-up answer each,
every round asks every question every way, one after the other (the order alternates by round,
so that load on the shared machine hits all alike); the idle sides wait. First token: from
sending the request (or calling `stream`) to the first piece of answer text; total: to the
finished answer with its sources. The in-process answer is timed on the main thread (as
`rag ask` runs it) and on a worker thread (as the server runs it). Questions are answered by
the model (no "What did X say?", which the code answers). Output: results/api-overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.api_load import rag_serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
QUESTIONS = [
    "Which Russian ministry cautioned Washington?",
    "Did Iran ask Russia for military aid?",
    "What does the treaty with Iran not oblige Russia to do?",
    "How should the dispute be settled, according to Moscow and Beijing?",
]
WARM_UP = "Who is Maria Zakharova?"
# The in-process answer both on the main thread (as `rag ask`) and on a worker thread (as the
# server runs it): the checks' embedding after the text was seen to take longer on the main one.
SIDES = ("api", "in_process", "in_process_worker_thread")
ENV = {"HF_HUB_OFFLINE": "1"}


def through_api(client: Any, model: str, question: str) -> dict[str, Any]:
    sent = time.perf_counter()
    first, text, sources = None, [], None
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": question}], stream=True
    )
    for chunk in stream:
        choice = chunk.choices[0]
        if choice.delta.content:
            first = first or time.perf_counter() - sent
            text.append(choice.delta.content)
        if choice.finish_reason:
            sources = (chunk.model_extra or {}).get("sources")
    total = time.perf_counter() - sent
    return {"first_token_s": first, "total_s": total, "text": "".join(text), "cited": bool(sources)}


def in_process(assistant: Any, question: str) -> dict[str, Any]:
    from rag.records import Answer

    sent = time.perf_counter()
    first, text, cited = None, [], False
    for item in assistant.stream(question):
        if isinstance(item, Answer):
            cited = bool(item.citations)
        else:
            first = first or time.perf_counter() - sent
            text.append(item)
    total = time.perf_counter() - sent
    return {"first_token_s": first, "total_s": total, "text": "".join(text), "cited": cited}


def summary(rows: list[dict[str, Any]], local_side: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("first_token_s", "total_s"):
        api = statistics.median(r["api"][key] for r in rows)
        local = statistics.median(r[local_side][key] for r in rows)
        # Paired: the same question in the same round, asked back to back.
        ratios = sorted(r["api"][key] / r[local_side][key] for r in rows)
        out[key] = {
            "api_median": round(api, 3), "in_process_median": round(local, 3),
            "overhead_ms_median": round(1000 * statistics.median(
                r["api"][key] - r[local_side][key] for r in rows), 1),
            "ratio_of_medians": round(api / local, 3),
            "paired_ratio_median": round(statistics.median(ratios), 3),
            "within_5_percent": abs(api / local - 1) <= 0.05,
        }  # fmt: skip
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--out", type=Path, default=RESULTS / "api-overhead.json")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 10:
        raise SystemExit("bounded: --rounds 1..10")
    from openai import OpenAI

    from rag.assistant import Assistant
    from rag.config import load_settings

    rows: list[dict[str, Any]] = []
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    with (
        tempfile.TemporaryDirectory(prefix="rag-api-overhead-") as tmp,
        rag_serve(Path(tmp), args.model, ENV) as base_url,
    ):
        client = OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=600)
        # One assistant (and model) per in-process side: a model asked the same question twice in
        # a row reuses its cache, which the server's model never gets.
        settings = load_settings(index=str(Path(tmp) / "idx"), model=args.model)
        local = {side: Assistant.from_settings(settings) for side in SIDES[1:]}
        for assistant in local.values():
            assistant.load()
        worker = ThreadPoolExecutor(1)
        through_api(client, args.model, WARM_UP)
        in_process(local["in_process"], WARM_UP)
        worker.submit(in_process, local["in_process_worker_thread"], WARM_UP).result()
        for round_ in range(args.rounds):
            for question in QUESTIONS:
                row: dict[str, Any] = {"round": round_, "question": question}
                sides = list(SIDES) if round_ % 2 == 0 else list(reversed(SIDES))
                for side in sides:
                    if side == "api":
                        row["api"] = through_api(client, args.model, question)
                    elif side == "in_process":
                        row[side] = in_process(local[side], question)
                    else:  # as the server runs it: on a worker thread
                        row[side] = worker.submit(in_process, local[side], question).result()
                row["same_text"] = row["api"]["text"].strip() == row["in_process"]["text"].strip()
                rows.append(row)
                print(
                    f"round {round_} {question[:40]:<40} first token api "
                    f"{row['api']['first_token_s']:.2f} s / in-process "
                    f"{row['in_process']['first_token_s']:.2f} s; total "
                    f"{row['api']['total_s']:.2f} / {row['in_process']['total_s']:.2f} s "
                    f"(worker thread {row['in_process_worker_thread']['total_s']:.2f} s)",
                    flush=True,
                )
    report = {
        "model": args.model, "rounds": args.rounds, "questions": QUESTIONS,
        "cores": os.cpu_count(), "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "summary": {side: summary(rows, side) for side in SIDES[1:]},
        "same_text": sum(r["same_text"] for r in rows), "answers": len(rows),
        "rows": [{k: ({n: x for n, x in v.items() if n != "text"} if k in SIDES else v)
                  for k, v in r.items()} for r in rows],
    }  # fmt: skip
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
