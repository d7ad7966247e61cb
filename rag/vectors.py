"""Chunk vectors by row number: the `VectorIndex` seam and its FAISS backend.

An index keeps two things apart, as txtai keeps its `ann/` backends apart from its database:
the article and chunk records (SQLite in `index`, Postgres in `pgindex`) and the vectors of
the chunks, found by row. Readers search the vectors through `VectorIndex`; FAISS (exact or
HNSW, chosen by `store` when it builds) answers for the local folder index, pgvector
(`pgindex.PgVectors`) for a Postgres store. Writing vectors stays with each store's builder:
FAISS writes one file, pgvector rows go in with their chunks in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import faiss
import numpy as np


class VectorIndex(Protocol):
    """L2-normalised chunk vectors, each under its chunk's row number."""

    def __len__(self) -> int: ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """query: (dim,) float32, L2-normalised. The k nearest as (row, cosine), best first."""
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

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self) == 0:
            return []
        scores, rows = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, len(self)))
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def get(self, rows: Sequence[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.index.d), dtype=np.float32)
        found = self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        return np.asarray(found, dtype=np.float32)  # (len(rows), dim)
