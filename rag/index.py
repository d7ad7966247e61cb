"""An index on disk, and reading it: the folder layout, the manifest, and `Index`.

An index is a folder: manifest.json + store.sqlite (articles, chunks, wire-copy groups) +
vectors.faiss.
Owns: checking the manifest on load, searching the vectors and keywords, and looking up chunks
and articles. The vectors are searched through `vectors.VectorIndex` (FAISS here); the same
reader over a Postgres database is `pgindex.PgIndex`. Building and changing an index is
`store`'s job; ranking policy is `retrieval`'s.
No pickle: vectors live in FAISS's own format, everything else in SQLite and JSON.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

import faiss
import numpy as np

from rag.articles import Article
from rag.errors import RagError
from rag.records import Chunk
from rag.vectors import FaissVectors, VectorIndex

# 2: chunks_fts keyword index; 3: articles.added; 4: articles.outlet, url, published, authors
# (the groups table came later within 4: it is optional, so an index without it still loads)
FORMAT_VERSION = 4
INDEXES_DIR = Path("indexes")
MANIFEST, DATABASE, VECTORS = "manifest.json", "store.sqlite", "vectors.faiss"


@dataclass(frozen=True)
class Manifest:
    format_version: int
    embedder: str
    dim: int
    chunk_tokens: int
    chunk_overlap: int
    built_at: str
    articles: dict[str, str] = field(default_factory=dict)  # article id -> sha256 of its text
    # article id -> source: what a rebuild re-reads when store.sqlite is lost (older indexes: {})
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        try:
            data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            # Keys a later version adds are ignored; the format version says what must match.
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})
        except (OSError, ValueError, TypeError) as exc:
            raise RagError(
                f"index {path} has an unreadable manifest ({exc}); rebuild it with: "
                f"rag index --rebuild --index {path}"
            ) from None


@dataclass(frozen=True)
class ArticleInfo:
    """What `rag list` and the chat's Articles tab show about an indexed article."""

    id: str
    title: str
    source: str
    chunks: int
    added: str  # local time it was first indexed, ISO 8601
    outlet: str = ""
    url: str = ""
    published: str = ""  # YYYY-MM-DD or ""
    authors: tuple[str, ...] = ()
    group: int | None = None  # its wire-copy group (see `wires`); None in an index without groups
    copy_of: str = ""  # the id of the group's earliest copy when this is a later copy, else ""


def resolve_index(name_or_dir: str) -> Path:
    """A bare name means indexes/NAME; anything with a path separator is a folder."""
    if os.sep in name_or_dir or "/" in name_or_dir or name_or_dir.startswith("."):
        return Path(name_or_dir)
    return INDEXES_DIR / name_or_dir


class Index:
    """A loaded, read-only index."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not (path / MANIFEST).is_file():
            recover_swap(path)
        if not (path / MANIFEST).is_file():
            raise RagError(
                f"no index at {path}; build one with: rag index [PATH ...] --index {path}"
            )
        self.manifest = Manifest.read(path)
        if self.manifest.format_version != FORMAT_VERSION:
            raise RagError(
                f"index {path} has format {self.manifest.format_version}, this version reads "
                f"{FORMAT_VERSION}; rebuild it with: rag index --rebuild --index {path}"
            )
        try:
            self.db = sqlite3.connect(
                f"file:{path / DATABASE}?mode=ro", uri=True, check_same_thread=False
            )
            n_chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
            self.vectors = faiss.read_index(str(path / VECTORS))
        except (sqlite3.Error, RuntimeError) as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise RagError(
                f"index {path} is damaged ({reason}); rebuild it with: "
                f"rag index --rebuild --index {path}"
            ) from None
        self.ann: VectorIndex = FaissVectors(self.vectors)
        if self.vectors.ntotal != n_chunks or self.vectors.d != self.manifest.dim:
            raise RagError(
                f"index {path} is inconsistent; rebuild it with: rag index --rebuild --index {path}"
            )
        # Indexes written before wire-copy groups have no groups table: every article stands
        # alone until the next `rag index` adds it (no re-embedding needed).
        self.has_groups = bool(
            self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'groups'").fetchone()
        )

    def __len__(self) -> int:
        return len(self.ann)

    @property
    def where(self) -> str:
        """Where the index lives, for messages: its folder (a database URL has no password)."""
        return str(self.path)

    def search(
        self, query: np.ndarray, k: int, rows: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        """query: (dim,) float32, L2-normalised. Returns (row, cosine) pairs, best first; with
        `rows`, only those rows are searched (a scope)."""
        return self.ann.search(query, k, rows)

    def stamp(self) -> Hashable | None:
        """Identity of the newest build where this index lives (None: can't be told just now).
        A reader compares it with the one it opened to see a build by another process: every
        build writes a new manifest and swaps it in."""
        try:
            st = (self.path / MANIFEST).stat()
        except OSError:
            return None  # mid-swap, or gone: keep what is open
        return st.st_ino, st.st_mtime_ns, st.st_size

    def reopen(self) -> Index:
        """The newest build where this index lives, opened afresh."""
        return Index(self.path)

    def hybrid(
        self, query: np.ndarray, terms: list[str], k: int, weight: float, candidates: int,
        rrf_k: int,
    ) -> list[tuple[int, float, bool]] | None:  # fmt: skip
        """The hybrid search done by the store itself, if it can: the `k` best of the nearest
        vectors and keyword hits fused by reciprocal rank, as (row, cosine, a keyword hit).
        None here: a folder index searches FAISS and FTS5 apart and the Retriever fuses them."""
        return None

    def keyword_search(self, terms: list[str], k: int) -> list[int]:
        """Rows of the chunks matching any of `terms`, best BM25 first."""
        if not terms:
            return []
        query = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        try:
            cur = self.db.execute(
                "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts) LIMIT ?",
                (query, k),
            )
        except sqlite3.OperationalError:
            return []  # a query FTS5 can't parse just finds nothing by keyword
        return [int(r[0]) for r in cur]

    def vector(self, row: int) -> np.ndarray:
        """The stored (dim,) float32 vector of a chunk."""
        return self.ann.get([row])[0]

    def cosine(self, query: np.ndarray, rows: list[int]) -> dict[int, float]:
        """Cosine of the query with stored chunk vectors (flat and HNSW-flat keep them whole)."""
        vectors = self.ann.get(rows)  # (len(rows), dim) float32
        return {r: float(np.dot(v, query)) for r, v in zip(rows, vectors, strict=True)}

    def rows_of(self, article_ids: Iterable[str]) -> set[int]:
        """The rows of every chunk of these articles."""
        ids = list(article_ids)
        rows: set[int] = set()
        for start in range(0, len(ids), 500):  # SQLite takes at most 999 parameters
            batch = ids[start : start + 500]
            marks = ",".join("?" * len(batch))
            cur = self.db.execute(f"SELECT row FROM chunks WHERE article_id IN ({marks})", batch)
            rows.update(int(r[0]) for r in cur)
        return rows

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        rows = list(rows)
        marks = ",".join("?" * len(rows))
        cur = self.db.execute(
            f"SELECT row, id, article_id, text, start, end FROM chunks WHERE row IN ({marks})", rows
        )
        return {r[0]: Chunk(r[1], r[2], r[3], r[4], r[5]) for r in cur}

    def article(self, article_id: str) -> Article:
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if row is None:
            raise RagError(f"article {article_id} is not in index {self.path}")
        return article_from_row(row)

    def articles(self) -> list[Article]:
        cur = self.db.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY source")
        return [article_from_row(r) for r in cur]

    def article_infos(self) -> list[ArticleInfo]:
        cur = self.db.execute(
            "SELECT a.id, a.title, a.source, COUNT(c.row), a.added, a.outlet, a.url, "
            "a.published, a.authors FROM articles a LEFT JOIN chunks c ON c.article_id = a.id "
            "GROUP BY a.id ORDER BY a.added, a.source"
        )
        copies = self._copies()
        infos = []
        for r in cur:
            group, first = copies.get(r[0], (None, r[0]))
            values = (*r[:8], authors_from_json(r[8]), group, "" if first == r[0] else first)
            infos.append(ArticleInfo(*values))
        return infos

    def group_of(self, article_id: str) -> int | None:
        """The wire-copy group of an article; None when the index has no groups or no such article."""
        if not self.has_groups:
            return None
        row = self.db.execute(
            "SELECT group_id FROM groups WHERE article_id = ?", (article_id,)
        ).fetchone()
        return int(row[0]) if row else None

    def group_members(self, group_id: int) -> list[str]:
        """The article ids of a group, earliest copy first (by published date, undated last, then
        by the order they were indexed in)."""
        if not self.has_groups:
            return []
        cur = self.db.execute(
            f"SELECT g.article_id FROM groups g JOIN articles a ON a.id = g.article_id "
            f"WHERE g.group_id = ? ORDER BY {EARLIEST}",
            (group_id,),
        )
        return [r[0] for r in cur]

    def _copies(self) -> dict[str, tuple[int, str]]:
        """article id -> (group, id of the group's earliest copy), for every article."""
        if not self.has_groups:
            return {}
        cur = self.db.execute(
            f"SELECT g.article_id, g.group_id FROM groups g JOIN articles a ON a.id = g.article_id "
            f"ORDER BY g.group_id, {EARLIEST}"
        )
        first: dict[int, str] = {}
        out = {}
        for article_id, group in cur:
            out[article_id] = (group, first.setdefault(group, article_id))
        return out

    def added(self, article_id: str) -> str:
        row = self.db.execute("SELECT added FROM articles WHERE id = ?", (article_id,)).fetchone()
        return str(row[0]) if row else now()

    def close(self) -> None:
        self.db.close()


# The order of a group's members: the earliest dated copy first, undated ones last, then the
# order they were indexed in (`groups.ord`).
EARLIEST = "a.published = '', a.published, g.ord"

# The articles table's columns in Article's field order (`authors` is a JSON list).
ARTICLE_COLUMNS = "id, title, source, text, sha256, outlet, url, published, authors"


def article_from_row(row: tuple) -> Article:
    """An Article from a row of ARTICLE_COLUMNS."""
    return Article(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], authors_from_json(row[8])
    )


def authors_from_json(value: str | None) -> tuple[str, ...]:
    try:
        names = json.loads(value or "[]")
    except ValueError:
        return ()
    return tuple(str(n) for n in names) if isinstance(names, list) else ()


def recover_swap(path: Path) -> None:
    """Finish a swap that was interrupted between its two renames."""
    old = path.with_name(f".{path.name}.old")
    if old.is_dir() and not path.exists():
        old.rename(path)


def now() -> str:
    """Local time, ISO 8601: when an article was first indexed, when an index was built."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
