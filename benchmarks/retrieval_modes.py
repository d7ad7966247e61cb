"""Dense, lexical and hybrid retrieval side by side on three sets, no LLM involved.

Usage: .venv/bin/python benchmarks/retrieval_modes.py [--cache DIR] [--bbc-limit N] [--out FILE]

Sets:
- seed: the development set (evals/seed.jsonl) over seeds/; follow-ups are rewritten as the
  assistant rewrites them.
- solana: the LlamaIndex Solana set over its source text.
- bbc: known-item search over ../shared/corpora/bbc (2,225 articles, read in place): each
  article's headline (its first line) is the query, that article is the only relevant one, and
  the bodies are indexed without the headline line.
Reports recall@1/3/5 and MRR per passage rank (the k=5 chunks the assistant would take, merged
per article as it merges them), and the retrieve-only latency (query embedding + both searches
+ fusion + packing) p50/p95 over every query. Indexes are cached under --cache, so a second
run only ranks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.articles import Article, find_files, load_articles, make_article  # noqa: E402
from rag.datasets import load_dataset  # noqa: E402
from rag.embedding import Embedder, make_embedder  # noqa: E402
from rag.evaluation import is_relevant  # noqa: E402
from rag.records import Passage  # noqa: E402
from rag.retrieval import MODES, Retriever, search_text, standalone  # noqa: E402
from rag.store import Index, build_index  # noqa: E402

SHARED = ROOT.parent / "shared"
BBC = SHARED / "corpora" / "bbc"
DEPTH = 5  # chunks taken, as the assistant takes top_k chunks


def bbc_articles(limit: int | None) -> list[tuple[Article, str]]:
    """(article without its headline, headline) for every BBC file, read in place."""
    out = []
    for path in sorted(BBC.glob("*/*.txt"))[:limit]:
        raw = path.read_text(encoding="utf-8", errors="replace").strip()
        headline, _, body = raw.partition("\n")
        out.append((make_article(path, path.parent.name + "/" + path.stem, body.strip()), headline))
    return out


Query = tuple[str, Callable[[Passage], bool]]  # query text, is this passage relevant


def dataset_queries(dataset: Path) -> list[Query]:
    queries: list[Query] = []
    for item in load_dataset(dataset):
        if not item.answerable:
            continue
        rewritten, context = standalone(item.question, item.history)
        queries.append(
            (search_text(rewritten, context), lambda p, item=item: is_relevant(p.chunk.text, item))
        )  # type: ignore[misc]
    return queries


def measure(index: Index, embedder: Embedder, mode: str, queries: list[Query]) -> dict:
    retriever = Retriever(index, embedder, mode)
    ranks: list[int | None] = []
    seconds: list[float] = []
    for query, relevant in queries:
        started = time.perf_counter()
        passages = retriever.retrieve(query, DEPTH, -1.0, 10**9)
        seconds.append(time.perf_counter() - started)
        ranks.append(next((p.n for p in passages if relevant(p)), None))
    n = len(ranks)
    seconds.sort()
    return {
        **{f"recall@{k}": round(sum(1 for r in ranks if r and r <= k) / n, 3) for k in (1, 3, 5)},
        "mrr": round(sum(1 / r for r in ranks if r) / n, 3),
        "p50_ms": round(1000 * statistics.median(seconds), 1),
        "p95_ms": round(1000 * seconds[int(0.95 * (n - 1))], 1),
        "queries": n,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rag-bench-indexes"))
    parser.add_argument("--bbc-limit", type=int, help="only the first N BBC files (a quick run)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks/results/retrieval_modes.json"
    )
    args = parser.parse_args()
    embedder = make_embedder("all-minilm-l6-v2")
    bbc = bbc_articles(args.bbc_limit)
    sets: dict[str, tuple[list[Article], list[Query]]] = {
        "seed": (
            list(load_articles(find_files([ROOT / "seeds"]), print)),
            dataset_queries(ROOT / "evals" / "seed.jsonl"),
        ),
        "solana": (
            list(load_articles([SHARED / "eval/blockchain_solana/source.txt"], print)),
            dataset_queries(SHARED / "eval/blockchain_solana/rag_dataset.json"),
        ),
        "bbc": (
            [a for a, _ in bbc],
            [(h, lambda p, i=a.id: p.chunk.article_id == i) for a, h in bbc],  # type: ignore[misc]
        ),
    }
    rows = []
    for name, (articles, queries) in sets.items():
        path = args.cache / f"{name}-{len(articles)}"
        report = build_index(path, articles, embedder, 60, 1)
        print(f"{name}: {report.chunks} chunks, built in {report.seconds:.1f} s", flush=True)
        index = Index(path)
        for mode in MODES:
            row = {
                "set": name,
                "mode": mode,
                "chunks": len(index),
                **measure(index, embedder, mode, queries),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        index.close()
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print("\n| set | mode | recall@1 | recall@3 | recall@5 | MRR | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['set']} | {r['mode']} | {r['recall@1']:.2f} | {r['recall@3']:.2f} | "
            f"{r['recall@5']:.2f} | {r['mrr']:.2f} | {r['p50_ms']} | {r['p95_ms']} |"
        )


if __name__ == "__main__":
    main()
