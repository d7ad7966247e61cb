"""Prompt evaluation and decode speed of raw llama.cpp: the build for this CPU (rag/cpu.py, the
one installed) against the portable AVX2 build the project used before (issue #16 item 1).

Usage: .venv/bin/python benchmarks/cpu_build.py [--rounds 3] [--prompt-tokens 500] [--out F]

The portable wheel comes from the same keyed cache as the installed one (built once if missing,
about 4 minutes on 2 cores) and is unpacked into a private folder put first on PYTHONPATH, so
the two builds run as separate processes against the same model, prompt and threads. Rounds
alternate between the builds so that load on a shared machine hits both alike. Each process
also reports the kernels its build uses (llama_print_system_info).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag import cpu  # noqa: E402

PORTABLE = cpu.cmake_args({"avx", "avx2", "fma", "f16c", "bmi2"})

# One timed run in a fresh process: evaluate the prompt, then decode greedily token by token.
CHILD = """
import json, os, sys, time
import llama_cpp
from rag import cpu
from rag.config import load_settings
from rag.models import resolve_model

n_prompt, n_decode, threads, batch = (int(a) for a in sys.argv[1:5])
llm = llama_cpp.Llama(str(resolve_model(load_settings().model)), n_ctx=2048, n_threads=threads,
                      n_threads_batch=batch, n_batch=512, verbose=False)
text = open(os.path.join(os.getcwd(), "seeds", "000_6d30a0e044389692.txt")).read()
tokens = llm.tokenize(text.encode())[:n_prompt]
start = time.perf_counter()
llm.eval(tokens)
prompt_s = time.perf_counter() - start
start = time.perf_counter()
for _ in range(n_decode):
    llm.eval([llm.sample(temp=0.0)])
decode_s = time.perf_counter() - start
print(json.dumps({"kernels": cpu.kernels(), "llama_file": llama_cpp.__file__,
                  "prompt_tok_s": len(tokens) / prompt_s, "decode_tok_s": n_decode / decode_s}))
"""


def portable_build() -> Path:
    """The portable wheel unpacked into a folder of its own, built into the keyed cache once."""
    target = cpu.wheel_dir(PORTABLE) / "unpacked"
    if not (target / "llama_cpp").is_dir():
        pip = str(Path(sys.executable).with_name("pip"))
        built = cpu.wheel(pip, PORTABLE)
        install = [pip, "install", "--quiet", "--no-deps", "--target", str(target), str(built)]
        subprocess.run(install, check=True)
    return target


def run_once(python_path: str | None, args: list[str]) -> dict[str, Any]:
    env = dict(os.environ)
    if python_path:
        env["PYTHONPATH"] = python_path
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"the benchmark child failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prompt-tokens", type=int, default=500)
    parser.add_argument("--decode-tokens", type=int, default=48)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/cpu-build.json")
    opts = parser.parse_args()
    cores = os.cpu_count() or 2
    # The product's defaults (generation.py): decode on all cores but one, prompts on all.
    threads = [str(opts.prompt_tokens), str(opts.decode_tokens), str(max(1, cores - 1)), str(cores)]
    builds = {"this_cpu": None, "portable_avx2": str(portable_build())}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in builds}
    loads = []
    for i in range(opts.rounds):
        for name, path in builds.items():
            loads.append(os.getloadavg()[0])
            runs[name].append(run_once(path, threads))
            print(f"round {i + 1} {name}: {json.dumps(runs[name][-1])}", flush=True)

    def median(name: str, key: str) -> float:
        return round(statistics.median(r[key] for r in runs[name]), 1)

    result: dict[str, Any] = {
        "what": "raw llama.cpp, default model, prompt eval and greedy decode tok/s per build",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu_flags": sorted(f for f in cpu.cpu_flags() if "avx" in f or "amx" in f),
        "threads": {"decode": int(threads[2]), "prompt": int(threads[3])},
        "prompt_tokens": opts.prompt_tokens,
        "builds": {
            name: {
                "kernels": runs[name][0]["kernels"],
                "prompt_tok_s": median(name, "prompt_tok_s"),
                "decode_tok_s": median(name, "decode_tok_s"),
                "rounds": [
                    {k: round(r[k], 1) for k in ("prompt_tok_s", "decode_tok_s")}
                    for r in runs[name]
                ],
            }
            for name in builds
        },  # fmt: skip
        "load_average_1min": [round(x, 2) for x in loads],
        "target": "prompt eval >= 1.5 x the portable build on an AVX-512 CPU",
    }
    for key in ("prompt_tok_s", "decode_tok_s"):
        ratio = median("this_cpu", key) / max(1e-9, median("portable_avx2", key))
        result[f"ratio_{key}"] = round(ratio, 2)
    opts.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k.startswith("ratio")}))


if __name__ == "__main__":
    main()
