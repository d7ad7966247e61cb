"""Find the passages for a question and pack them into the prompt's token budget.

Owns: hybrid search (dense MiniLM vectors + SQLite FTS5 keywords, fused by reciprocal rank),
the relevance gate (passages whose cosine is below `min_score` are dropped; none left means
"the articles don't say"), dropping near-duplicate chunks, the token budget, and rewriting a
follow-up into a standalone question, searching only the articles a `Scope` lets through
(outlet, dates), and putting the newest relevant articles first for "latest" questions. Leaves
the Passage record to `records`, the stop and question words to `text`, and what a scope
admits to `filters`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from rag.articles import Article
from rag.chunking import count_tokens
from rag.embedding import Embedder
from rag.errors import RagError
from rag.filters import Scope
from rag.questions import named_options
from rag.records import Chunk, Passage
from rag.store import Index
from rag.text import QUESTION_WORDS, STOPWORDS
from rag.wires import collapse

CANDIDATES = 30  # per search, before fusion
# Fusion weights, set by benchmarks/retrieval_modes.py on all three sets: with k = 20 (sharper
# than the usual 60) and keywords weighted as vectors, BBC recall@5 is 0.91 against 0.89 with
# k = 60 and keywords counted double, Solana recall@1 0.86 against 0.84, the seed set unchanged.
RRF_K = 20
KEYWORD_WEIGHT = 1.0
# In a scope, vectors are compared one by one up to this many chunks (exact, a few ms); above it
# the index searches among the scope's rows (`Index.search`: a FAISS selector, a Postgres
# filter). Keyword search fetches more hits instead, in proportion to how much of the index is
# out of scope, up to this many.
EXACT_WITHIN = 4096
KEYWORD_FETCH_MAX = 5000


def keywords(question: str) -> list[str]:
    """Content words worth a keyword search: no stop words, no question words."""
    words = re.findall(r"[^\W_]+", question.lower().replace("’", "'"))
    return list(
        dict.fromkeys(
            w for w in words if w not in STOPWORDS and w not in QUESTION_WORDS and len(w) > 1
        )
    )


_PERSON = {"he": "", "she": "", "him": "", "her": "", "his": "'s"}
_DANGLING = re.compile(
    r"\b(it|its|that|this|these|those|there|they|them|their|theirs|the two|both)\b", re.I
)


def _names(question: str) -> list[str]:
    """Capitalised word runs after the first word: "Who is Maria Zakharova?" -> [Maria Zakharova]."""
    words = re.findall(r"[\w'’.-]+", question)[1:]
    runs: list[list[str]] = []
    for i, word in enumerate(words):
        if word[:1].isupper() and word.lower() not in QUESTION_WORDS and word != "I":
            if runs and i > 0 and words[i - 1] is runs[-1][-1]:
                runs[-1].append(word)
            else:
                runs.append([word])
    return [" ".join(r).rstrip(".") for r in runs]


def standalone(question: str, history: Sequence[str]) -> tuple[str, str]:
    """Rewrite a follow-up so it can be searched and answered on its own.

    A person pronoun becomes the first name in the previous question ("Did Iran ask him for
    help?" -> "Did Iran ask Putin for help?"); a reference the names can't resolve ("it", "that",
    "the two of them") keeps the previous question alongside. A rule, not the model: on the
    dev set's follow-ups it costs no answer time and retrieval is already right at rank 1.

    Returns (the rewritten question, the previous question if it must be kept alongside).
    """
    if not history:
        return question, ""
    previous = history[-1].strip()
    names = _names(previous)
    if names:
        who = " and ".join(names)

        def person(match: re.Match[str]) -> str:
            # The first name is usually the subject: "What did Putin say about Iran ...?"
            return names[0] + _PERSON[match.group(0).lower()]

        question = re.sub(r"\b(he|she|him|her|his)\b", person, question, flags=re.I)
        if len(names) > 1:
            question = re.sub(r"\b(they|them|the two of them|both of them)\b", who, question)
            question = re.sub(r"\btheir\b", who + "'s", question)
    return question, previous if not names or _DANGLING.search(question) else ""


def search_text(rewritten: str, context: str) -> str:
    """What is searched and asked: the rewritten question, with the previous one if kept."""
    return f"{rewritten} (following: {context})" if context else rewritten


def fuse(*rankings: tuple[list[int], float]) -> list[int]:
    """Weighted reciprocal rank fusion: rows that rank well in either list come first."""
    scores: dict[int, float] = {}
    for ranking, weight in rankings:
        for rank, row in enumerate(ranking, 1):
            scores[row] = scores.get(row, 0.0) + weight / (RRF_K + rank)
    return sorted(scores, key=lambda r: -scores[r])


def _touches(a: Chunk, b: Chunk) -> bool:
    """Same article, and overlapping or separated by a few characters of whitespace at most."""
    return a.article_id == b.article_id and a.start <= b.end + 3 and b.start <= a.end + 3


MODES = ("hybrid", "dense", "lexical")
# Two chunks this close in embedding space say the same thing (a story filed twice, a quote
# repeated in a follow-up piece): the second adds nothing and would crowd out other evidence.
DUPLICATE_COSINE = 0.95


class Retriever:
    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        mode: str = "hybrid",
        count: Callable[[str], int] = count_tokens,
    ) -> None:
        if mode not in MODES:
            raise RagError(f"unknown retrieval mode {mode!r}; choose one of {', '.join(MODES)}")
        self.index = index
        self.embedder = embedder
        self.mode = mode
        self.count = count  # the answer model's own tokenizer when there is one
        self._meta_cache: dict[str, Article] = {}
        self._scope_rows: dict[Scope, frozenset[int]] = {}  # this index's rows per scope

    def _meta(self, article_id: str) -> Article:
        """An article, cached: the same few articles come back often."""
        if article_id not in self._meta_cache:
            if len(self._meta_cache) > 256:
                self._meta_cache.clear()
            self._meta_cache[article_id] = self.index.article(article_id)
        return self._meta_cache[article_id]

    def in_scope(self, scope: Scope) -> frozenset[int]:
        """Rows of the chunks of every article the scope admits (all rows of an open scope)."""
        if scope not in self._scope_rows:
            if len(self._scope_rows) > 32:
                self._scope_rows.clear()
            ids = [
                a.id
                for a in self.index.article_infos()
                if scope.admits(a.outlet, a.url, a.published)
            ]
            rows = self.index.rows_of(ids)
            self._scope_rows[scope] = frozenset(rows)
        return self._scope_rows[scope]

    def _dense(self, query: np.ndarray, rows: frozenset[int] | None) -> list[tuple[int, float]]:
        """The CANDIDATES nearest chunks, among `rows` when given: (row, cosine), best first."""
        if rows is not None and len(rows) <= EXACT_WITHIN:
            scored = self.index.cosine(query, sorted(rows))
            return sorted(scored.items(), key=lambda rs: -rs[1])[:CANDIDATES]
        return self.index.search(query, CANDIDATES, rows)

    def _lexical(self, question: str, rows: frozenset[int] | None) -> list[int]:
        """The CANDIDATES best keyword hits, among `rows` when given."""
        if rows is None:
            return self.index.keyword_search(keywords(question), CANDIDATES)
        if not rows:
            return []
        # A scope holding a tenth of the chunks needs about ten times the hits to keep CANDIDATES.
        fetch = min(KEYWORD_FETCH_MAX, CANDIDATES * max(1, -(-len(self.index) // len(rows))))
        hits = self.index.keyword_search(keywords(question), fetch)
        return [r for r in hits if r in rows][:CANDIDATES]

    def retrieve(
        self,
        question: str,
        k: int,
        min_score: float,
        budget_tokens: int,
        options: Sequence[str] = (),
        scope: Scope | None = None,
        newest_first: bool = False,
    ) -> list[Passage]:
        """The k best chunks, as passages best first, relevant by keyword or cosine, in budget.

        Neighbouring or overlapping chunks of one article are merged into one passage, so the
        model reads "Putin said ... Furthermore, he clarified ..." whole and knows who "he" is.
        For a choice question, candidates that name one of its `options` come first: a passage
        that names none cannot tell the options apart (RealTime QA weeks 1-4: the right option
        is in the passages for 55% of questions instead of 46%).

        With a `scope`, only chunks of the articles it admits are searched (see `in_scope`).
        With `newest_first` (a "latest" question), the relevant candidates go newest first.
        """
        rows = self.in_scope(scope) if scope is not None and scope.active else None
        query = self.embedder.embed([question])[0]  # (dim,) float32
        size = 3 * k + 3  # fused candidates looked at
        # A store that fuses both searches itself (Postgres: one SQL query) does; the same
        # ranking, one round trip instead of three.
        one_query = (
            self.index.hybrid(query, keywords(question), size, KEYWORD_WEIGHT, CANDIDATES, RRF_K)
            if self.mode == "hybrid" and rows is None
            else None
        )
        if one_query is not None:
            order = [r for r, _, _ in one_query]
            cosine = {r: c for r, c, _ in one_query}
            lexical = [r for r, _, hit in one_query if hit]
        else:
            dense = self._dense(query, rows) if self.mode != "lexical" else []
            lexical = self._lexical(question, rows) if self.mode != "dense" else []
            order = fuse(([r for r, _ in dense], 1.0), (lexical, KEYWORD_WEIGHT))[:size]
            cosine = dict(dense)
            cosine.update(self.index.cosine(query, [r for r in order if r not in cosine]))
        chunks = self.index.chunks(order)
        if options:
            naming = {r for r in order if named_options(chunks[r].text, list(options))}
            order = [r for r in order if r in naming] + [r for r in order if r not in naming]
        keyword_hits = set(lexical)
        if newest_first:
            # The recency rule, kept simple: relevance picks the pool, the date orders it. The
            # pool is the 2k best-ranked candidates that pass the relevance gate, so a new but
            # barely related article cannot jump ahead of the evidence; within it the newest
            # article comes first, undated ones last, and equal dates keep their rank.
            relevant = [r for r in order if cosine[r] >= min_score or r in keyword_hits]
            pool = relevant[: 2 * k]
            dates = {r: self._meta(chunks[r].article_id).published for r in pool}
            newest = sorted(pool, key=lambda r: dates[r], reverse=True)  # stable for ties
            order = newest + [r for r in order if r not in dates]
        groups: list[list[Chunk]] = []  # merged chunks, in rank order of their best member
        scores: list[float] = []
        chosen: list[np.ndarray] = []  # vectors of the chunks taken, to skip near-duplicates
        used = taken = 0
        taken_rows: set[int] = set()
        # Wire copies: one story, one article shown (the first to rank); its copies in other
        # outlets give way to other stories and are named on the passage instead (wires.py).
        story_shown: dict[int | str, str] = {}
        # Two passes: first the best chunk of each article (so one long article cannot crowd out
        # the others), then the rest in rank order (so a single-article index fills up as before).
        for first_pass in (True, False):
            for row in order:
                if taken == k:  # k chunks in all, merged or not, keeps the prompt short
                    break
                chunk = chunks[row]
                # The cosine gate only rules out what keywords didn't find: off-topic questions.
                if row in taken_rows or (cosine[row] < min_score and row not in keyword_hits):
                    continue
                home = next(
                    (i for i, g in enumerate(groups) if any(_touches(chunk, c) for c in g)), None
                )
                if first_pass and any(g[0].article_id == chunk.article_id for g in groups):
                    continue
                story = self._story(chunk.article_id)
                if story_shown.get(story, chunk.article_id) != chunk.article_id:
                    continue
                vector = self.index.vector(row)
                if home is None and any(float(v @ vector) > DUPLICATE_COSINE for v in chosen):
                    continue
                cost = self.count(chunk.text) + (0 if home is not None else 12)  # "[n] (title)"
                if groups and used + cost > budget_tokens:
                    break
                chosen.append(vector)
                taken_rows.add(row)
                story_shown.setdefault(story, chunk.article_id)
                used += cost
                taken += 1
                if home is None:
                    groups.append([chunk])
                    scores.append(cosine[row])
                else:
                    groups[home].append(chunk)
                    scores[home] = max(scores[home], cosine[row])
        passages = [
            self._passage(n, group, score)
            for n, (group, score) in enumerate(zip(groups, scores, strict=True), 1)
        ]
        return collapse(passages, self.index)  # cites the earliest copy, names the others

    def _story(self, article_id: str) -> int | str:
        """The wire-copy group of an article, or the article itself when it has none."""
        group = self.index.group_of(article_id)
        return article_id if group is None else group

    def _passage(self, n: int, group: list[Chunk], score: float) -> Passage:
        article_id = group[0].article_id
        a = self._meta(article_id)
        start, end = min(c.start for c in group), max(c.end for c in group)
        chunk = group[0]
        if len(group) > 1:
            chunk = Chunk(f"{chunk.id}+{len(group) - 1}", article_id, a.text[start:end], start, end)
        return Passage(n, chunk, a.title, a.source, score, a.outlet, a.url, a.published, a.authors)
