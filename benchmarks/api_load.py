"""Load: `rag serve` under concurrent `openai` clients. Loopback only and bounded, on the tiny
preset (smollm2-135m).

Usage: .venv/bin/python benchmarks/api_load.py [--clients 20] [--questions 3]

`rag serve` runs as a child process on 127.0.0.1 over a fresh index of seeds/ in a temp folder.
`--clients` threads, each with its own `openai` client, start together and each ask the
`--questions` questions in turn (streamed and plain alternately, the second one as a follow-up
of the first). Checked: every request is answered (finish_reason "stop") and carries sources;
nothing is interleaved: the answers are produced one at a time (the streamed answers' first to
last token spans do not overlap), and every answer to the same question is the same text. At
most clients × questions requests, each with a 300 s timeout, the whole run at most 15 minutes.
Output: results/api-load.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MODEL = "smollm2-135m"
# Questions the tiny model answers with a citation on the seed article (greedy decoding).
QUESTIONS = [
    "What did Russia urge Washington to do?",
    "Which Russian ministry cautioned Washington?",
    "What did the Kremlin say about Israel's actions?",
]
ENV = {
    "RAG_MAX_ANSWER_TOKENS": "48", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
    "RAG_N_THREADS": os.environ.get("RAG_N_THREADS", "1"),
}  # fmt: skip
DEADLINE_S = 900


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def rag_serve(work: Path, model: str, env: dict[str, str]) -> Iterator[str]:
    """`rag serve` on a free loopback port over an index of seeds/ in `work`; yields /v1."""
    port = free_port()
    log = (work / "serve.log").open("w")
    shutil.copytree(ROOT / "seeds", work / "seeds")
    server = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", "--model", model, "--port", str(port),
         "--index", str(work / "idx")],
        cwd=work, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while True:
            if server.poll() is not None:
                raise SystemExit(f"rag serve exited:\n{(work / 'serve.log').read_text()[-3000:]}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r,
            ):
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("rag serve did not get ready in 10 minutes")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def ask(client: Any, messages: list[dict[str, str]], stream: bool) -> dict[str, Any]:
    """One request; its text, sources and times (seconds since the request was sent)."""
    sent = time.monotonic()
    if not stream:
        done = client.chat.completions.create(model=MODEL, messages=messages)
        extra = done.model_extra or {}
        return {
            "stream": False, "sent": sent, "total_s": time.monotonic() - sent,
            "text": done.choices[0].message.content, "finish": done.choices[0].finish_reason,
            "sources": extra.get("sources"), "frames_without_choices": 0,
        }  # fmt: skip
    text: list[str] = []
    first = last = finish = sources = checked = None
    bare = 0
    for chunk in client.chat.completions.create(model=MODEL, messages=messages, stream=True):
        if not chunk.choices:
            bare += 1
            continue
        choice = chunk.choices[0]
        if choice.delta.content:
            now = time.monotonic()
            first = first or now
            last = now
            text.append(choice.delta.content)
        if choice.finish_reason:
            finish, sources = choice.finish_reason, (chunk.model_extra or {}).get("sources")
            checked = (chunk.model_extra or {}).get("answer")
    shown = checked if finish and checked else "".join(text).strip()
    return {
        "stream": True, "sent": sent, "total_s": time.monotonic() - sent, "text": shown,
        "first_token_s": (first - sent) if first else None, "span": (first, last),
        "finish": finish, "sources": sources, "frames_without_choices": bare,
    }  # fmt: skip


def client_run(base_url: str, n_questions: int, start: threading.Barrier) -> list[dict[str, Any]]:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=300)
    start.wait()
    results = []
    history: list[dict[str, str]] = []
    for i in range(n_questions):
        question = QUESTIONS[i % len(QUESTIONS)]
        messages = [*history, {"role": "user", "content": question}] if i == 1 else [
            {"role": "user", "content": question}
        ]  # fmt: skip
        try:
            result = ask(client, messages, stream=i % 2 == 0)
        except Exception as exc:  # counted, not raised: the run reports every failure
            result = {"error": f"{type(exc).__name__}: {exc}", "stream": i % 2 == 0}
        result["question"] = question
        results.append(result)
        history = [{"role": "user", "content": question}]
    return results


def overlaps(spans: list[tuple[float, float]]) -> int:
    """Pairs of consecutive first-to-last-token spans that overlap (answers interleaved)."""
    spans = sorted(spans)
    return sum(1 for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1])


def run(n_clients: int, n_questions: int) -> dict[str, Any]:
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="rag-api-load-") as tmp,
        rag_serve(Path(tmp), MODEL, ENV) as base_url,
    ):
        barrier = threading.Barrier(n_clients)
        out: list[list[dict[str, Any]]] = [[] for _ in range(n_clients)]

        def worker(i: int) -> None:
            out[i] = client_run(base_url, n_questions, barrier)

        threads = [
            threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n_clients)
        ]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(1.0, DEADLINE_S - (time.monotonic() - started)))
        wall = time.monotonic() - t0
    results = [r for rs in out for r in rs]
    errors = [r["error"] for r in results if "error" in r]
    ok = [r for r in results if "error" not in r]
    answered = [r for r in ok if r["finish"] == "stop"]
    with_sources = [r for r in answered if r["sources"]]
    texts: dict[str, set[str]] = {}
    for r in answered:
        texts.setdefault(r["question"] + (" (follow-up)" if not r["stream"] else ""), set()).add(
            r["text"]
        )
    spans = [r["span"] for r in answered if r["stream"] and r["span"][0] is not None]
    totals = sorted(r["total_s"] for r in answered)
    firsts = sorted(r["first_token_s"] for r in answered if r.get("first_token_s") is not None)
    expected = n_clients * n_questions
    return {
        "clients": n_clients, "questions_per_client": n_questions, "requests": expected,
        "finished_threads": sum(not t.is_alive() for t in threads),
        "answered": len(answered), "with_sources": len(with_sources), "errors": errors[:10],
        "error_count": len(errors),
        "frames_without_choices": sum(r.get("frames_without_choices", 0) for r in ok),
        "streamed_spans_overlapping": overlaps(spans),
        "distinct_answers_per_question": {q: len(t) for q, t in texts.items()},
        "wall_s": round(wall, 1),
        "answers_per_s": round(len(answered) / wall, 2) if wall else None,
        "total_s": {
            "p50": round(statistics.median(totals), 2) if totals else None,
            "p95": round(totals[int(0.95 * (len(totals) - 1))], 2) if totals else None,
            "max": round(totals[-1], 2) if totals else None,
        },
        "first_token_s_streamed": {
            "min": round(firsts[0], 2) if firsts else None,
            "max": round(firsts[-1], 2) if firsts else None,
        },
        "passed": len(answered) == expected and len(with_sources) == expected and not errors
        and overlaps(spans) == 0 and all(len(t) == 1 for t in texts.values()),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "api-load.json")
    args = parser.parse_args()
    if not 1 <= args.clients <= 50 or not 1 <= args.questions <= 10:
        raise SystemExit("bounded: --clients 1..50, --questions 1..10")
    report = {
        "model": MODEL, "env": ENV, "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "questions": QUESTIONS, **run(args.clients, args.questions),
    }  # fmt: skip
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
