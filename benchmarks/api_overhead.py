"""API overhead: the same questions through `rag serve` (streamed, the `openai` client on
loopback) and through the in-process Assistant, first token and total. Target: within 5%.

Usage: .venv/bin/python benchmarks/api_overhead.py [--rounds 3] [--model PRESET] [--out FILE]

`rag serve` runs as a child process over a fresh index of seeds/ in a temp folder, and this
process opens the same index with `Assistant.from_settings`, so both answer from the same
passages with their own copy of the model (default preset). After one warm-up answer each,
every round asks every question both ways, one after the other (the order alternates by round,
so that load on the shared machine hits both alike); the idle side waits. First token: from
sending the request (or calling `stream`) to the first piece of answer text; total: to the
finished answer with its sources. Questions are answered by the model (no "What did X say?",
which the code answers). Output: results/api-overhead.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
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


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("first_token_s", "total_s"):
        api = statistics.median(r["api"][key] for r in rows)
        local = statistics.median(r["in_process"][key] for r in rows)
        # Paired: the same question in the same round, asked back to back.
        ratios = sorted(r["api"][key] / r["in_process"][key] for r in rows)
        out[key] = {
            "api_median": round(api, 3), "in_process_median": round(local, 3),
            "overhead_ms_median": round(1000 * statistics.median(
                r["api"][key] - r["in_process"][key] for r in rows), 1),
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
        assistant = Assistant.from_settings(
            load_settings(index=str(Path(tmp) / "idx"), model=args.model)
        )
        assistant.load()
        through_api(client, args.model, WARM_UP)
        in_process(assistant, WARM_UP)
        for round_ in range(args.rounds):
            for question in QUESTIONS:
                row: dict[str, Any] = {"round": round_, "question": question}
                order = ("api", "in_process") if round_ % 2 == 0 else ("in_process", "api")
                for side in order:
                    if side == "api":
                        row["api"] = through_api(client, args.model, question)
                    else:
                        row["in_process"] = in_process(assistant, question)
                row["same_text"] = row["api"]["text"].strip() == row["in_process"]["text"].strip()
                rows.append(row)
                print(
                    f"round {round_} {question[:40]:<40} first token api "
                    f"{row['api']['first_token_s']:.2f} s / in-process "
                    f"{row['in_process']['first_token_s']:.2f} s; total "
                    f"{row['api']['total_s']:.2f} / {row['in_process']['total_s']:.2f} s",
                    flush=True,
                )
    report = {
        "model": args.model, "rounds": args.rounds, "questions": QUESTIONS,
        "cores": os.cpu_count(), "load_average_at_start": load_at_start,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "summary": summary(rows),
        "same_text": sum(r["same_text"] for r in rows), "answers": len(rows),
        "rows": [{**r, "api": {k: v for k, v in r["api"].items() if k != "text"},
                  "in_process": {k: v for k, v in r["in_process"].items() if k != "text"}}
                 for r in rows],
    }  # fmt: skip
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
