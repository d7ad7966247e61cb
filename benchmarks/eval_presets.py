"""Run `rag eval` for every model preset on the dev set and the Solana set; print a README table.

Usage: .venv/bin/python benchmarks/eval_presets.py [--presets ...] [--sets seed solana] [--no-verify]
Writes benchmarks/results/eval-<set>-<preset>[-noverify].json. The Solana source is indexed into
indexes/solana first if that index is missing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SOLANA = ROOT.parent / "shared" / "eval" / "blockchain_solana"
SETS = {
    "seed": (ROOT / "evals" / "seed.jsonl", "default", ROOT / "seeds"),
    "solana": (SOLANA / "rag_dataset.json", "solana", SOLANA / "source.txt"),
}
PRESETS = ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m"]
RAG = [sys.executable, "-m", "rag"]


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def row(name: str, preset: str, verify: bool, s: dict) -> str:
    r, a, f, c, sp = s["retrieval"], s["answers"], s["refusals"], s["citations"], s["speed"]
    answers = pct(a["correct"]) if a["correct"] is not None else f"F1 {a['token_f1']:.2f}"
    return (
        f"| {name} | {preset}{'' if verify else ' (no verify)'} | {pct(r['recall@1'])} / {pct(r['recall@5'])}"
        f" | {answers} | {pct(f['abstention'])} | {pct(f['false_abstention'])} | {pct(c['recall'])}"
        f" | {pct(c['precision'])} | {pct(c['verbatim_quotes'])} | {sp['first_token_s']['median']}"
        f" / {sp['total_s']['median']} | {sp['decode_tok_s']['median']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", nargs="+", default=PRESETS)
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    lines = []
    for name in args.sets:
        dataset, index, source = SETS[name]
        if not (ROOT / "indexes" / index / "manifest.json").exists():
            subprocess.run([*RAG, "index", str(source), "--index", index], cwd=ROOT, check=True)
        for preset in args.presets:
            suffix = "-noverify" if args.no_verify else ""
            out = RESULTS / f"eval-{name}-{preset}{suffix}.json"
            cmd = [
                *RAG,
                "eval",
                "--dataset",
                str(dataset),
                "--index",
                index,
                "--model",
                preset,
                "--json",
                str(out),
            ]
            if args.no_verify:
                cmd.append("--no-verify")
            subprocess.run(
                cmd, cwd=ROOT, check=True, stdout=sys.stderr
            )  # the table alone on stdout
            lines.append(
                row(name, preset, not args.no_verify, json.loads(out.read_text())["summary"])
            )
    print(
        "| set | preset | recall@1 / @5 | correct | abstention | false abst. | cit. recall | cit. precision | verbatim | first token / total s | decode tok/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
