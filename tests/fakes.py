"""Deterministic stand-ins for the two model-backed parts: no mocks, real behaviour, no weights."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import numpy as np

from rag.chunking import count_tokens
from rag.generation import Message, Usage

STOP = {"what", "that", "with", "from", "this", "about", "said", "have", "their", "which", "were"}


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get similar vectors, so search is meaningful."""

    def __init__(self, dim: int = 4096, name: str = "fake") -> None:
        self.name = name
        self.dim = dim
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                if len(word) < 4 or word in STOP:
                    continue
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim
                out[i, bucket] += 1.0
            norm = np.linalg.norm(out[i])
            if norm:
                out[i] /= norm
        return out  # (n, dim) float32, L2-normalised


class ScriptedGenerator:
    """Replies with scripted texts in order and records every prompt it was given."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list[list[Message]] = []
        self.usage = Usage()
        self.temperature = 0.0
        self.loads = 0
        self.warmed: list[Message] | None = None

    def load(self) -> None:
        self.loads += 1

    def count_tokens(self, text: str) -> int:
        return count_tokens(text)  # cl100k, as an engine that cannot count would estimate

    def warm(self, messages: list[Message]) -> bool:
        self.warmed = messages
        return False

    def stream(self, messages: list[Message]) -> Iterator[str]:
        self.prompts.append(messages)
        reply = self.replies.pop(0) if self.replies else "The articles don't say."
        pieces = re.findall(r"\S+\s*|\s+", reply)
        yield from pieces
        self.usage = Usage(sum(len(m.content.split()) for m in messages), len(pieces))
