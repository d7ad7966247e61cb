"""Wire copies: articles that are near-copies of one story form a group, and retrieval shows one
passage per group.

Owns: the shingles and MinHash signature of an article, matching a new article against the
groups so far (`Grouper`, incremental: LSH finds candidates, their exact Jaccard decides), which
copy represents a group (the earliest by `published`, then by insertion order), and `collapse`,
which shows one copy's passages per group and names the other outlets that ran it. Storing the groups is
`store`'s job (the `groups` table), looking them up `index`'s; ranking stays in `retrieval`.

How near is a copy? Measured on 68 labelled pairs (evals/wire_pairs.jsonl: the most similar
article pairs of the RealTime QA weeks and of BBC, read and labelled 36 copy / 32 not copy;
benchmarks/wires.py prints the separation). On 5-word shingles every copy had Jaccard >= 0.55 (a
story re-run with a new lede and small edits, or updated later the same day) and every other
pair <= 0.47 (a follow-up story that repeats the background paragraphs), so the threshold sits
between them at 0.5: no errors, 0.03-0.05 from either side (the exact Jaccard decides, so
MinHash's estimate error, about 0.04, only matters to LSH's candidates). 3-word
shingles separate the same pairs with a narrower gap (0.53 / 0.59). Texts under 80 words are
never grouped: two near-empty pages holding only the same newsletter box had Jaccard 0.68.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from rag.articles import Article
from rag.records import Chunk, Passage

if TYPE_CHECKING:  # index imports faiss; collapse only needs its lookups
    from rag.index import Index

SHINGLE_WORDS = 5
THRESHOLD = 0.5  # exact Jaccard of the shingle sets at or above which two articles are copies
MIN_WORDS = 80  # shorter texts are mostly page furniture: never grouped
NUM_PERM = 128  # MinHash size: the estimate's error is about 0.04 at Jaccard 0.5
# LSH only proposes candidates, so it is set below THRESHOLD to miss few true copies; the exact
# Jaccard check then turns the near misses away.
LSH_THRESHOLD = 0.35
# Fixed: signatures stored in an index must stay comparable across runs and datasketch versions.
SEED, SCHEME = 1, "affine32"  # affine32: 32-bit hash values, 512 bytes a signature

_WORD = re.compile(r"[^\W_]+")


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[bytes]:
    """The text's overlapping runs of n lower-cased words (none below MIN_WORDS words)."""
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return set()
    return {" ".join(words[i : i + n]).encode() for i in range(len(words) - n + 1)}


def jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def signature(shingle_set: set[bytes]) -> np.ndarray:
    """(NUM_PERM,) uint32 MinHash values of a shingle set."""
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME)
    m.update_batch(list(shingle_set))
    return np.asarray(m.hashvalues, dtype=np.uint32)


class Grouper:
    """Assigns articles to groups one at a time, as they are indexed.

    A new article joins the group of the most similar earlier article whose Jaccard reaches
    THRESHOLD, else starts a group. Groups are never merged or split afterwards, so an article's
    group id stays put across incremental builds. Cost: BBC's 2,092 distinct texts group in
    1.6 s from scratch (embedding them takes minutes); an incremental build restores the stored
    signatures of 2,091 articles in 0.1 s.
    """

    def __init__(self) -> None:
        from datasketch import MinHashLSH

        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._texts: dict[str, str] = {}
        self._shingles: dict[str, set[bytes]] = {}  # computed when a candidate needs checking
        self.rows: dict[str, tuple[int, int, bytes]] = {}  # id -> (group, order, signature)
        self._next_group = self._next_order = 0

    def restore(self, article: Article, group: int, order: int, sig: bytes) -> None:
        """Take back an article from an earlier build, in the group it was given then."""
        self._remember(article, group, order, np.frombuffer(sig, dtype=np.uint32))

    def add(self, article: Article) -> int:
        """Group a new article; returns its group id."""
        own = shingles(article.text)
        sig = signature(own)
        group = self._match(article.id, own, sig)
        if group is None:
            group = self._next_group
        self._shingles[article.id] = own
        self._remember(article, group, self._next_order, sig)
        return group

    def _match(self, article_id: str, own: set[bytes], sig: np.ndarray) -> int | None:
        """The group of the most similar earlier article at or above THRESHOLD, if any."""
        if not own:
            return None
        from datasketch import LeanMinHash

        query = LeanMinHash(seed=SEED, hashvalues=sig, scheme=SCHEME)
        best, best_j = None, THRESHOLD
        for other in self._lsh.query(query):
            if other == article_id:
                continue
            if other not in self._shingles:
                self._shingles[other] = shingles(self._texts[other])
            j = jaccard(own, self._shingles[other])
            if j >= best_j:
                best, best_j = self.rows[other][0], j
        return best

    def _remember(self, article: Article, group: int, order: int, sig: np.ndarray) -> None:
        self.rows[article.id] = (group, order, sig.astype(np.uint32).tobytes())
        self._texts[article.id] = article.text
        self._next_group = max(self._next_group, group + 1)
        self._next_order = max(self._next_order, order + 1)
        # A short text's empty shingle set has an all-max signature: it can match nothing.
        if (sig != np.iinfo(np.uint32).max).any():
            from datasketch import LeanMinHash

            self._lsh.insert(article.id, LeanMinHash(seed=SEED, hashvalues=sig, scheme=SCHEME))


def collapse(passages: Sequence[Passage], index: Index) -> list[Passage]:
    """The passages minus those from other copies of a story already shown, renumbered from 1.

    Per group, the article of the best-ranked passage is the one shown (all its passages stay,
    so a single long article keeps its several passages); passages from the group's other
    articles are dropped. The story is cited from the group's earliest copy when that copy holds
    the text of every passage kept (it ran first; the others re-ran it), else from the article
    shown, so one story never cites two copies; `also_in` names the other outlets that ran it.
    Articles of an index built before groups stand alone.
    """
    kept: list[tuple[int | str, Passage]] = []
    shown: dict[int | str, str] = {}  # story (group, or article when ungrouped) -> article shown
    for p in passages:
        article_id = p.chunk.article_id
        group = index.group_of(article_id)
        story: int | str = group if group is not None else article_id
        if shown.setdefault(story, article_id) == article_id:
            kept.append((story, p))
    members: dict[int | str, list[Article]] = {}  # earliest first; [] for a story of one article
    for story, _ in kept:
        if story not in members:
            ids = index.group_members(story) if isinstance(story, int) else []
            members[story] = [index.article(m) for m in ids] if len(ids) > 1 else []
    out = []
    for story, p in kept:
        texts = [q.chunk.text for s, q in kept if s == story]
        out.append(_attributed(p, members[story], texts))
    return [replace(p, n=n) for n, p in enumerate(out, 1)]


def _attributed(p: Passage, members: list[Article], texts: list[str]) -> Passage:
    """`p` cited from the earliest member (members come earliest first) when it holds all the
    `texts` kept from the story, with the other members' outlets as `also_in`."""
    if len(members) < 2:
        return p
    first = members[0]
    if first.id != p.chunk.article_id and all(t in first.text for t in texts):
        start = first.text.index(p.chunk.text)
        chunk = Chunk(
            f"{first.id}@{start}", first.id, p.chunk.text, start, start + len(p.chunk.text)
        )
        p = Passage(
            p.n, chunk, first.title, first.source, p.score, first.outlet, first.url,
            first.published, first.authors,
        )  # fmt: skip
    others = (m.outlet for m in members if m.id != p.chunk.article_id)
    return replace(p, also_in=tuple(dict.fromkeys(o for o in others if o and o != p.outlet)))
