"""Find the passages for a question and pack them into the prompt's token budget.

Owns: the Passage record handed to prompting and citations, the relevance gate (passages below
`min_score` are dropped, and no passages means "the articles don't say"), and the budget.
Leaves hybrid keyword search and follow-up rewriting to later work; `Retriever.retrieve` is the
one seam they plug into.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.chunking import Chunk, count_tokens
from rag.embedding import Embedder
from rag.store import Index


@dataclass(frozen=True)
class Passage:
    n: int  # 1-based number the model cites as [n]
    chunk: Chunk
    title: str
    source: str
    score: float  # cosine similarity to the question


class Retriever:
    def __init__(self, index: Index, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self._titles: dict[str, tuple[str, str]] = {}

    def _meta(self, article_id: str) -> tuple[str, str]:
        if article_id not in self._titles:
            article = self.index.article(article_id)
            self._titles[article_id] = (article.title, article.source)
        return self._titles[article_id]

    def retrieve(
        self, question: str, k: int, min_score: float, budget_tokens: int
    ) -> list[Passage]:
        """Top-k passages above min_score, best first, whose texts fit in budget_tokens."""
        query = self.embedder.embed([question])[0]  # (dim,) float32
        passages: list[Passage] = []
        used = 0
        for chunk, score in self.index.search(query, k):
            if score < min_score:
                break
            cost = count_tokens(chunk.text) + 12  # + the "[n] (title)" header, roughly
            if passages and used + cost > budget_tokens:
                break
            used += cost
            title, source = self._meta(chunk.article_id)
            passages.append(Passage(len(passages) + 1, chunk, title, source, score))
        return passages
