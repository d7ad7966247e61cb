"""How far retrieval lets RealTime QA go: where the right option is, week by week.

Usage: .venv/bin/python benchmarks/realtimeqa_ceiling.py [--eval FILE.json ...] [--out FILE]

For every question of the eight weeks in ../shared/corpora/realtimeqa (read in place), the share
whose right option is named (by the grader's own rule, `named_options`):
  - in any article of the week (the most any retriever over these pages could show);
  - among the 60 fused candidates of the hybrid search, options included in the query (what a
    reranker could still reach);
  - in the passages the assistant shows the model, with options (default) and without (`--open`).
With `--eval` (JSON written by `rag eval`), it adds how often the answer was right when the
passages named the right option and when they did not: the reader's share of the misses.
No model is loaded; it takes about a minute. Writes benchmarks/results/realtimeqa-ceiling.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import load_settings  # noqa: E402
from rag.datasets import load_dataset, realtimeqa_index  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.filters import is_latest  # noqa: E402
from rag.questions import named_options, split_options  # noqa: E402
from rag.retrieval import KEYWORD_WEIGHT, Retriever, fuse, keywords  # noqa: E402
from rag.store import Index  # noqa: E402

WEEKS = ROOT.parent / "shared" / "corpora" / "realtimeqa"


def week_counts(
    qa: Path, retriever: Retriever, top_k: int, budget: int, min_score: float
) -> dict[str, Any]:
    articles = [retriever.index.article(a.id).text for a in retriever.index.article_infos()]
    counts = {
        "questions": 0,
        "in_articles": 0,
        "in_candidates": 0,
        "shown_options": 0,
        "shown_open": 0,
    }
    shown: dict[str, list[bool]] = {}  # id -> the passages shown [with, without options] name it
    for item in load_dataset(qa):
        assert item.gold is not None
        gold, choices = item.gold, item.choices

        def names(text: str) -> bool:
            return gold in named_options(text, choices)  # noqa: B023  # used in this iteration only

        base, options = split_options(item.question)
        query = retriever.embedder.embed([item.question])[0]
        dense = [r for r, _ in retriever.index.search(query, 30)]
        lexical = retriever.index.keyword_search(keywords(item.question), 30)
        pool = retriever.index.chunks(fuse((dense, 1.0), (lexical, KEYWORD_WEIGHT)))
        with_options = retriever.retrieve(
            item.question, top_k, min_score, budget, options, None, is_latest(item.question)
        )
        bare = retriever.retrieve(base, top_k, min_score, budget, (), None, is_latest(base))
        counts["questions"] += 1
        counts["in_articles"] += any(names(t) for t in articles)
        counts["in_candidates"] += any(names(c.text) for c in pool.values())
        hits = [any(names(p.chunk.text) for p in ps) for ps in (with_options, bare)]
        counts["shown_options"] += hits[0]
        counts["shown_open"] += hits[1]
        shown[item.id] = hits
    return {"counts": counts, "shown": shown}


def reader(eval_file: Path, shown: dict[str, list[bool]]) -> dict[str, Any]:
    """Right answers when the shown passages named the right option, and when they did not."""
    data = json.loads(eval_file.read_text())
    mode = int(next(iter(data["datasets"].values()))["settings"]["open"])
    tally = {"named": [0, 0], "not_named": [0, 0]}
    for week in data["datasets"].values():
        for r in week["results"]:
            if r["id"] in shown:
                cell = tally["named" if shown[r["id"]][mode] else "not_named"]
                cell[0] += bool(r["correct"])
                cell[1] += 1
    return {k: {"right": v[0], "of": v[1]} for k, v in tally.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--eval", type=Path, nargs="*", default=[], help="rag eval --json outputs")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/realtimeqa-ceiling.json"
    )
    args = parser.parse_args()
    s = load_settings()
    embedder = make_embedder(s.embedder)
    weeks: dict[str, Any] = {}
    shown: dict[str, list[bool]] = {}
    for qa in sorted(WEEKS.glob("*_qa.jsonl")):
        path = realtimeqa_index(qa, embedder, s.chunk_tokens, s.chunk_overlap)
        retriever = Retriever(Index(path), embedder, s.retrieval)
        result = week_counts(qa, retriever, s.top_k, s.context_tokens, s.min_score)
        weeks[qa.name[:8]] = result["counts"]
        shown.update(result["shown"])
        print(qa.name[:8], result["counts"], flush=True)
    total = {k: sum(w[k] for w in weeks.values()) for k in next(iter(weeks.values()))}
    print("all", total)
    out: dict[str, Any] = {"weeks": weeks, "total": total, "top_k": s.top_k}
    for f in args.eval:
        out[f"reader: {f.name}"] = reader(f, shown)
        print(f.name, out[f"reader: {f.name}"])
    args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
