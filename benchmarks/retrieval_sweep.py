"""Retrieval quality by chunk size: recall@1/3/5, MRR and top-score statistics, no LLM involved.

Usage: .venv/bin/python benchmarks/retrieval_sweep.py [--sizes 40 60 80 120 160] [--out FILE]
Builds a throw-away index per chunk size for the seed article and for the Solana source, then
ranks every dataset question with the same Retriever the assistant uses.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.articles import find_files, load_articles  # noqa: E402
from rag.datasets import load_dataset  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.evaluation import is_relevant  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.store import Index, build_index  # noqa: E402

SETS = {
    "seed": (ROOT / "seeds", ROOT / "evals" / "seed.jsonl"),
    "solana": (
        ROOT.parent / "shared" / "eval" / "blockchain_solana" / "source.txt",
        ROOT.parent / "shared" / "eval" / "blockchain_solana" / "rag_dataset.json",
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[40, 60, 80, 120, 160])
    parser.add_argument("--overlap", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    embedder = make_embedder("all-minilm-l6-v2")
    rows = []
    for name, (source, dataset) in SETS.items():
        items = load_dataset(dataset)
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "idx"
                started = time.perf_counter()
                build_index(
                    path, load_articles(find_files([source]), print), embedder, size, args.overlap
                )
                build_s = time.perf_counter() - started
                index = Index(path)
                retriever = Retriever(index, embedder)
                ranks, top_answerable, top_unanswerable = [], [], []
                for item in items:
                    query = " ".join([*item.history[-1:], item.question])
                    ranked = retriever.retrieve(query, 5, -1.0, 10**9)
                    if item.answerable:
                        ranks.append(
                            next((p.n for p in ranked if is_relevant(p.chunk.text, item)), None)
                        )
                        top_answerable.append(ranked[0].score)
                    else:
                        top_unanswerable.append(ranked[0].score)
                n = len(ranks)
                row = {
                    "set": name, "chunk_tokens": size, "chunks": len(index), "build_s": round(build_s, 1),
                    **{f"recall@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in (1, 3, 5)},
                    "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
                    "top_score_answerable_p10": round(sorted(top_answerable)[len(top_answerable) // 10], 3),
                    "top_score_unanswerable_median": round(statistics.median(top_unanswerable), 3)
                    if top_unanswerable else None,
                }  # fmt: skip
                index.close()
                rows.append(row)
                print(json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
