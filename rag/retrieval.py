"""Find the passages for a question and pack them into the prompt's token budget.

Owns: hybrid search (dense MiniLM vectors + SQLite FTS5 keywords, fused by reciprocal rank),
the Passage record handed to prompting and citations, the relevance gate (passages whose
cosine is below `min_score` are dropped; none left means "the articles don't say"), dropping
near-duplicate overlapping chunks, and the token budget. Leaves follow-up rewriting to the
assistant, which decides what text to search for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.chunking import Chunk, count_tokens
from rag.embedding import Embedder
from rag.store import Index
from rag.support import STOPWORDS

CANDIDATES = 30  # per search, before fusion
RRF_K = 60  # the usual reciprocal-rank-fusion constant: rank 1 is worth 1/61
QUESTION_WORDS = frozenset(
    ["what", "who", "whom", "whose", "when", "where", "why", "how", "which", "did", "does", "do", "is", "are", "was", "were"]
)


@dataclass(frozen=True)
class Passage:
    n: int  # 1-based number the model cites as [n]
    chunk: Chunk
    title: str
    source: str
    score: float  # cosine similarity to the question


def keywords(question: str) -> list[str]:
    """Content words worth a keyword search: no stop words, no question words."""
    words = re.findall(r"[^\W_]+", question.lower().replace("’", "'"))
    return list(
        dict.fromkeys(
            w for w in words if w not in STOPWORDS and w not in QUESTION_WORDS and len(w) > 1
        )
    )


def fuse(*rankings: list[int]) -> list[int]:
    """Reciprocal rank fusion: rows that rank well in either list come first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(scores, key=lambda r: -scores[r])


def _overlap(a: Chunk, b: Chunk) -> float:
    """Share of the shorter chunk that the two have in common."""
    if a.article_id != b.article_id:
        return 0.0
    common = min(a.end, b.end) - max(a.start, b.start)
    return max(0, common) / max(1, min(a.end - a.start, b.end - b.start))


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
        """Up to k passages, best first, each above min_score, together within budget_tokens."""
        query = self.embedder.embed([question])[0]  # (dim,) float32
        dense = self.index.search(query, CANDIDATES)
        lexical = self.index.keyword_search(keywords(question), CANDIDATES)
        order = fuse([r for r, _ in dense], lexical)[: 3 * k + 3]
        cosine = dict(dense)
        cosine.update(self.index.cosine(query, [r for r in order if r not in cosine]))
        chunks = self.index.chunks(order)
        passages: list[Passage] = []
        used = 0
        for row in order:
            chunk, score = chunks[row], cosine[row]
            if score < min_score or any(_overlap(chunk, p.chunk) > 0.5 for p in passages):
                continue
            cost = count_tokens(chunk.text) + 12  # + the "[n] (title)" header, roughly
            if passages and used + cost > budget_tokens:
                break
            used += cost
            title, source = self._meta(chunk.article_id)
            passages.append(Passage(len(passages) + 1, chunk, title, source, score))
            if len(passages) == k:
                break
        return passages
