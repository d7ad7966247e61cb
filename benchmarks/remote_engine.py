"""Remote engine vs in-process model: time to first token through `--llm-url` (llama-cpp-python's
OpenAI-compatible server, `python -m llama_cpp.server`) against the same GGUF run in-process.

Owns: starting the server on loopback with the in-process model's threads, context and batch, and
timing both Assistants on the same answerable dev questions, interleaved (the engine that goes
first alternates by round), after one warm-up answer each. Both go through the whole Assistant
(retrieval, prompt, checks), so the difference is the engine and the HTTP hop. The target
(issue #13): the remote first token within 10% of the in-process one.

    .venv/bin/python benchmarks/remote_engine.py [--rounds 3] [--questions 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from rag.articles import find_files, load_articles  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.models import resolve_model  # noqa: E402
from rag.records import Answer  # noqa: E402
from rag.store import build_index  # noqa: E402

DEV_SET = ROOT / "evals" / "seed.jsonl"
SEEDS = ROOT / "seeds"
OUT = ROOT / "benchmarks" / "results" / "remote-engine.json"
PRESET = "qwen2.5-coder-1.5b"  # the default preset


def questions(n: int) -> list[str]:
    items = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    return [i["question"] for i in items if "question" in i and i.get("answerable", True)][:n]


def start_server(model: Path, settings: Settings, threads: int, batch_threads: int) -> Any:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", str(settings.n_ctx), "--n_threads", str(threads),
        "--n_threads_batch", str(batch_threads), "--n_batch", "512",
        # The server computes logits for every prompt token by default (for `logprobs`); over
        # Qwen's 152k-word vocabulary that made its prompts 30% slower per token (7.0 against
        # 5.0 ms) and its first token 1.14x the in-process one. One answer needs the last only.
        "--logits_all", "false",
    ]  # fmt: skip
    log = Path(tempfile.mkdtemp(prefix="llama-server-")) / "server.log"
    with log.open("w") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            sys.exit(f"llama_cpp.server exited; see {log}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return proc, url, command
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"llama_cpp.server did not start in 300 s; see {log}")
        time.sleep(0.5)


def timed(assistant: Assistant, question: str) -> dict[str, Any]:
    answer = assistant.ask(question)
    assert isinstance(answer, Answer)
    return {
        "first_token_s": answer.timings.first_token_s,
        "total_s": answer.timings.total_s,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    }


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per engine and the remote/in-process ratios, over pairs of the same question in
    the same round where both engines produced a token (the quote path answers without one)."""
    pairs = [
        (a, b)
        for a in runs
        for b in runs
        if a["engine"] == "in_process" and b["engine"] == "remote"
        and (a["round"], a["question"]) == (b["round"], b["question"])
        and a["first_token_s"] is not None and b["first_token_s"] is not None
    ]  # fmt: skip
    summary: dict[str, Any] = {"pairs": len(pairs)}
    for i, name in enumerate(("in_process", "remote")):
        summary[name] = {
            "first_token_median_s": median([p[i]["first_token_s"] for p in pairs]),
            "total_median_s": median([p[i]["total_s"] for p in pairs]),
        }
    first = [s["first_token_median_s"] for s in (summary["in_process"], summary["remote"])]
    total = [s["total_median_s"] for s in (summary["in_process"], summary["remote"])]
    summary["first_token_ratio"] = round(first[1] / first[0], 3)
    summary["first_token_ratio_per_question_median"] = median(
        [b["first_token_s"] / a["first_token_s"] for a, b in pairs]
    )
    summary["first_token_extra_s_median"] = median(
        [b["first_token_s"] - a["first_token_s"] for a, b in pairs]
    )
    summary["total_ratio"] = round(total[1] / total[0], 3)
    summary["target_within_10pct"] = first[1] / first[0] <= 1.10
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--resummarise", action="store_true",
                        help="only recompute the summary of the runs already in --out")  # fmt: skip
    opts = parser.parse_args()
    if opts.resummarise:
        result = json.loads(opts.out.read_text(encoding="utf-8"))
        result["summary"] = {
            "all_rounds": summarise(result["runs"]),
            "after_first_round": summarise([r for r in result["runs"] if r["round"] > 0]),
        }
        opts.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(json.dumps(result["summary"], indent=1))
        return

    cores = os.cpu_count() or 2
    load_start = [round(x, 2) for x in os.getloadavg()]
    threads = max(1, cores - 1)  # LlamaGenerator's default, fixed here for both engines
    work = Path(tempfile.mkdtemp(prefix="remote-engine-"))
    index = work / "seed"
    settings = Settings(index=str(index), model=PRESET, n_threads=threads)
    embedder = make_embedder(settings.embedder)
    build_index(index, load_articles(find_files([SEEDS]), print), embedder, 60, 1)

    proc, url, command = start_server(resolve_model(PRESET), settings, threads, cores)
    try:
        engines = {
            "in_process": Assistant.from_settings(settings),
            "remote": Assistant.from_settings(settings.replace(llm_url=url)),
        }
        for assistant in engines.values():
            assistant.load()
            assistant.ask("Who is Maria Zakharova?")  # warm: the prompt's fixed head is cached
        asked = questions(opts.questions)
        runs: list[dict[str, Any]] = []
        for round_ in range(opts.rounds):
            order = list(engines) if round_ % 2 == 0 else list(reversed(engines))
            for question in asked:
                for name in order:
                    run = {"round": round_, "engine": name, "question": question}
                    runs.append(run | timed(engines[name], question))
                    print(json.dumps(runs[-1]), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    summary = {
        "all_rounds": summarise(runs),
        # The first round can meet other work still running; later ones show the steady state.
        "after_first_round": summarise([r for r in runs if r["round"] > 0]),
    }
    result = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": cores},
        # Other work on the machine slows both engines alike (interleaved) but widens the spread.
        "load_average": {"start": load_start, "end": [round(x, 2) for x in os.getloadavg()]},
        "model": PRESET,
        "threads": {"decode": threads, "prompt": cores},
        "server": " ".join(command[1:]),
        "rounds": opts.rounds,
        "questions": asked,
        "summary": summary,
        "runs": runs,
    }
    opts.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
