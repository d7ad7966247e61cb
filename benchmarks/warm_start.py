"""Warm start from disk: time to first token of `rag ask --json` in a new process, without and
with the saved prompt-prefix state, against the same question asked second in one process, and
the wall time of those processes (loading restores or evaluates the prefix before the question).

Rounds are interleaved (cold, with state, in-process) so that load on the shared machine hits
all three alike. The runs use a private cache dir whose models/ links to the real one, so the
state files come and go without touching the user's. The in-process child also counts the
tokens llama.cpp evaluates, which shows the restored prefix really is skipped.

    .venv/bin/python benchmarks/warm_start.py [--rounds 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What did Putin say about the treaty?"
OTHER = "Who is Maria Zakharova?"  # asked first in the in-process run, to evaluate the prefix

# Loads an Assistant, asks OTHER then QUESTION, prints per-answer timings and evaluated tokens.
CHILD = """
import json, sys
from rag.assistant import Assistant
from rag.config import load_settings

assistant = Assistant.from_settings(load_settings())
assistant.load()
llm = assistant.generator.load()
evaluated = []
eval_ = llm.eval
llm.eval = lambda tokens: (evaluated.append(len(tokens)), eval_(tokens))[1]
for q in sys.argv[1:]:
    evaluated.clear()
    answer = assistant.ask(q)
    print(json.dumps({
        "question": q, "first_token_s": answer.timings.first_token_s,
        "prompt_tokens": assistant.generator.usage.prompt_tokens,
        "prompt_tokens_evaluated": evaluated[0] if evaluated else 0,
    }))
"""


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def ask(env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    data = json.loads(run([sys.executable, "-m", "rag", "ask", "--json", QUESTION], env))
    return {
        "first_token_s": data["timings"]["first_token_s"],
        "answer": data["answer"],
        # Launch to exit: loading restores (or evaluates) the fixed head before the question,
        # so the first token alone no longer shows what a missing state costs.
        "wall_s": time.perf_counter() - started,
    }


def in_process(env: dict[str, str]) -> list[dict[str, Any]]:
    out = run([sys.executable, "-c", CHILD, OTHER, QUESTION], env)
    return [json.loads(line) for line in out.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/warm-start.json")
    opts = parser.parse_args()

    from rag.models import cache_dir

    cache = Path(tempfile.mkdtemp(prefix="warm-start-"))
    (cache / "models").symlink_to(cache_dir() / "models")
    states = cache / "states"
    env = {
        **os.environ,
        "RAG_CACHE_DIR": str(cache),
        # The first token does not depend on the answer's length; shorter runs disturb less.
        "RAG_MAX_ANSWER_TOKENS": "16",
    }
    rounds = []
    for i in range(opts.rounds):
        for old in states.glob("*"):
            old.unlink()
        load = os.getloadavg()[0]
        cold = ask(env)
        (state,) = states.glob("*.state")
        saved = state.stat().st_mtime_ns
        warm = ask(env)
        assert state.stat().st_mtime_ns == saved, "the state was saved again, not restored"
        other, inproc = in_process(env)
        row = {
            "cold_first_token_s": round(cold["first_token_s"], 3),
            "state_first_token_s": round(warm["first_token_s"], 3),
            "in_process_first_token_s": round(inproc["first_token_s"], 3),
            "cold_wall_s": round(cold["wall_s"], 3),
            "state_wall_s": round(warm["wall_s"], 3),
            # The child's own first answer: a new process restoring the state, like `state`.
            "child_first_answer_first_token_s": round(other["first_token_s"], 3),
            "same_answer_cold_and_state": cold["answer"] == warm["answer"],
            "prompt_tokens": inproc["prompt_tokens"],
            # Evaluated by a process's first answer after restoring the state, and by the
            # second answer of a process: both only their own suffix.
            "first_answer_evaluated_of_prompt": [
                other["prompt_tokens_evaluated"],
                other["prompt_tokens"],
            ],
            "second_answer_evaluated_of_prompt": [
                inproc["prompt_tokens_evaluated"],
                inproc["prompt_tokens"],
            ],
            "state_file_bytes": state.stat().st_size,
            "load_average_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
        }
        rounds.append(row)
        print(f"round {i + 1}: {json.dumps(row)}", flush=True)

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 3)

    cold, warm, inproc = (median(k) for k in [
        "cold_first_token_s", "state_first_token_s", "in_process_first_token_s"
    ])  # fmt: skip
    result = {
        "what": "time to first token of `rag ask --json` in a new process: no state file "
        "(cold), with the saved prefix state, and the same question second in one process; "
        "and the wall time of the two new processes, launch to exit",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "model": os.environ.get("RAG_MODEL", "qwen2.5-coder-1.5b (default)"),
        "question": QUESTION,
        "n_threads": int(env.get("RAG_N_THREADS", 0)),  # 0: the shipped default
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        "rounds": rounds,
        "median_s": {
            "cold": cold,
            "state": warm,
            "in_process": inproc,
            "cold_wall": median("cold_wall_s"),
            "state_wall": median("state_wall_s"),
        },
        "ratio_state_vs_in_process": round(warm / inproc, 2),
        "ratio_cold_vs_in_process": round(cold / inproc, 2),
        "target": "state <= 1.25 x in_process",
    }
    busiest = max(max(r["load_average_1min"]) for r in rounds)
    if busiest > (os.cpu_count() or 1):
        result["note"] = (
            f"machine busy with other jobs (1-min load average up to {busiest} on "
            f"{os.cpu_count()} cores): times are inflated and noisy, ratios too; read the rounds"
        )
    opts.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(cache)  # models/ is a link: removed, not followed
    print(json.dumps({k: result[k] for k in ["median_s", "ratio_state_vs_in_process"]}))


if __name__ == "__main__":
    main()
