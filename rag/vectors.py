"""Chunk vectors by row number: the `VectorIndex` seam and its FAISS backend.

An index keeps two things apart, as txtai keeps its `ann/` backends apart from its database:
the article and chunk records (SQLite in `index`, Postgres in `pgindex`) and the vectors of
the chunks, found by row. Readers search the vectors through `VectorIndex`; FAISS (exact or
HNSW, chosen by `store` when it builds) answers for the local folder index, pgvector
(`pgindex.PgVectors`) for a Postgres store. Writing vectors stays with each store's builder:
FAISS writes one file, pgvector rows go in with their chunks in one transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    """L2-normalised chunk vectors, each under its chunk's row number."""

    def __len__(self) -> int: ...

    def search(
        self, query: np.ndarray, k: int, rows: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """query: (dim,) float32, L2-normalised. The k nearest as (row, cosine), best first;
        with `rows`, the k nearest among those rows only (a scope: an outlet, dates)."""
        ...

    def get(self, rows: Sequence[int]) -> np.ndarray:
        """The stored vectors of these rows: (len(rows), dim) float32."""
        ...


class FaissVectors:
    """A FAISS index (flat or HNSW-flat: both keep each vector whole) whose ids are rows."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(
        self, query: np.ndarray, k: int, rows: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        if len(self) == 0:
            return []
        x = query.reshape(1, -1).astype(np.float32)  # (1, dim)
        if rows is None:
            scores, found = self.index.search(x, min(k, len(self)))
        else:
            scores, found = self.index.search(x, k, params=self._among(rows, k))
        return [(int(r), float(s)) for r, s in zip(found[0], scores[0], strict=True) if r >= 0]

    def _among(self, rows: Collection[int], k: int) -> faiss.SearchParameters:
        """Search parameters that let only `rows` through."""
        if isinstance(self.index, faiss.IndexHNSW):
            # Filtering inside the graph walk skips out-of-scope nodes: look wider for them.
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]  # not in stubs
            params.efSearch = 4 * k
        else:
            params = faiss.SearchParameters()
        params.sel = faiss.IDSelectorBatch(np.fromiter(rows, dtype=np.int64))
        return params

    def get(self, rows: Sequence[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.index.d), dtype=np.float32)
        found = self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        return np.asarray(found, dtype=np.float32)  # (len(rows), dim)
