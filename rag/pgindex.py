"""Reading a Postgres + pgvector store: `PgIndex` answers what `index.Index` answers.

Owns: the reads (vectors through `PgVectors`, keywords through Postgres full-text search,
chunks, articles, wire-copy groups), `hybrid`, the whole hybrid search as one SQL query, and
`query`, which opens a dropped connection again and turns driver errors into one line.
Every read sees the latest committed build, so several processes share one database without
reopening anything. Building the store is `pgstore`'s job; ranking policy is `retrieval`'s.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Collection, Hashable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from rag.articles import Article
from rag.errors import RagError
from rag.index import (
    EARLIEST,
    FORMAT_VERSION,
    INDEXES_DIR,
    ArticleInfo,
    Index,
    Manifest,
    authors_from_json,
)
from rag.pgstore import connect, read_meta, reason, redact
from rag.records import Chunk

if TYPE_CHECKING:
    import psycopg

# The query beam of the HNSW graph. Retrieval asks for 30 candidates; with a beam of 200 the
# graph returns the exact top 30 for nearly every BBC headline (benchmarks/pgstore.py).
EF_SEARCH = 200
ARTICLE_COLUMNS = "id, title, source, text, sha256, outlet, url, published, authors"


def article_from_row(row: Sequence[Any]) -> Article:
    """An Article from a row of ARTICLE_COLUMNS."""
    return Article(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], authors_from_json(row[8])
    )


# Up to this many search terms are scored; a question has a handful (`retrieval.keywords`).
MAX_TERMS = 32
# Keyword search scores a chunk as BM25 does: for each term it contains, the term's inverse
# document frequency (rare words count more: Postgres's own ts_rank has no IDF, and ranking
# by it lost 0.07 of BBC's lexical recall@5) times ts_rank for that term, which saturates with
# repeats and, with normalisation 1, divides by the log of the chunk's length. The document
# frequencies are counted per query through the GIN index.
KEYWORDS = """
WITH q(q) AS MATERIALIZED (SELECT phraseto_tsquery('english', t) FROM unnest(%s::text[]) AS t),
terms AS MATERIALIZED (  -- counted once per term, not once per matching chunk
    SELECT q, ln(1 + (n - df + 0.5) / (df + 0.5)) AS idf FROM (
        SELECT q.q, (SELECT COUNT(*) FROM rag_chunks WHERE tsv @@ q.q) AS df,
               (SELECT value::float FROM rag_meta WHERE key = 'chunks') AS n
        FROM q WHERE numnode(q.q) > 0) AS counted)
SELECT c.row, SUM(t.idf * ts_rank(c.tsv, t.q, 1)) AS score
FROM rag_chunks c JOIN terms t ON c.tsv @@ t.q
GROUP BY c.row ORDER BY score DESC, c.row"""


def uploads_home(url: str) -> Path:
    """indexes/store-DATABASE-HASH (absolute): its .uploads folder keeps the files uploaded into
    this store from this machine. The store holds their text; the copy ties an upload's name to
    its article (the same name again updates it), as beside a folder index."""
    database = re.sub(r"[^\w.-]", "_", urlsplit(url).path.strip("/")) or "postgres"
    digest = hashlib.sha256(redact(url).encode()).hexdigest()[:8]  # the same with any password
    return (INDEXES_DIR / f"store-{database}-{digest}").absolute()


def terms_params(terms: Sequence[str]) -> list[list[str]]:
    """KEYWORDS' one parameter: the terms as a text array."""
    return [list(terms)[:MAX_TERMS]]


class PgVectors:
    """pgvector's HNSW index over rag_chunks.embedding: a `vectors.VectorIndex`."""

    def __init__(self, index: PgIndex) -> None:
        self.pg = index

    def __len__(self) -> int:
        return len(self.pg)

    def search(
        self, query: np.ndarray, k: int, rows: Collection[int] | None = None
    ) -> list[tuple[int, float]]:
        # <#> is the negated inner product: the cosine of L2-normalised vectors, negated. The
        # graph's order is re-sorted with ties (copies of one text) by row, as FAISS gives them.
        # A scope is a filter in the same query; the graph walk goes on until k rows pass it.
        scope = "" if rows is None else "WHERE row = ANY(%(rows)s)"
        cur = self.pg.query(
            f"SELECT row, -distance FROM (SELECT row, embedding <#> %(q)s AS distance "
            f"FROM rag_chunks {scope} ORDER BY embedding <#> %(q)s LIMIT %(k)s) AS nearest "
            "ORDER BY distance, row",
            {"q": query, "k": k, "rows": None if rows is None else list(rows)},
        )
        return [(int(r), float(s)) for r, s in cur]

    def get(self, rows: Sequence[int]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.pg.manifest.dim), dtype=np.float32)
        cur = self.pg.query(
            "SELECT row, embedding FROM rag_chunks WHERE row = ANY(%s)", (list(rows),)
        )
        # pgvector's adapter gives a Vector (binary results) or an ndarray (text results).
        found = {int(r): v.to_numpy() if hasattr(v, "to_numpy") else v for r, v in cur}
        if len(found) < len(set(rows)):
            raise RagError(f"chunks {sorted(set(rows) - set(found))} are gone from the store")
        return np.array([found[r] for r in rows], dtype=np.float32).reshape(len(rows), -1)


class PgIndex(Index):
    """A store in Postgres, read live: an `Index` (the Retriever and the CLI take either)."""

    def __init__(self, url: str) -> None:  # not super().__init__: that reads a folder
        self.url = url
        # Not where the index is (that is `where`): files uploaded into the store through the
        # chat or the API are kept on this machine beside this name (see `uploads_dir`).
        self.path = uploads_home(url)
        self._reconnecting = threading.Lock()
        self.conn = self._connect()
        try:
            self._meta = self._read_meta()
        except RagError:
            self.conn.close()
            raise
        self.ann = PgVectors(self)
        self.has_groups = True

    def _connect(self) -> psycopg.Connection[Any]:
        conn = connect(self.url)
        conn.execute(f"SET hnsw.ef_search = {EF_SEARCH}")
        # A scoped search keeps walking the graph until enough rows pass (pgvector >= 0.8).
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        return conn

    def query(self, sql: str, params: Any = None) -> psycopg.Cursor[Any]:
        """Run one statement. A connection that dropped (Postgres restarted, a network cut) is
        opened again and the statement run once more, as a read may be; if that fails too, one
        RagError line, never a driver traceback."""
        import psycopg

        for attempt in (1, 2):
            conn = self.conn
            try:
                if conn.closed:
                    self._reconnect(conn)
                    conn = self.conn
                return conn.execute(sql, params)
            except psycopg.OperationalError as exc:
                why = reason(exc, self.url)
                if not conn.closed:  # the server refused this statement (a timeout...)
                    raise RagError(f"the store {self.where} failed to answer: {why}") from None
                if attempt == 2:
                    raise RagError(
                        f"lost the connection to the store {self.where}: {why}"
                    ) from None
        raise AssertionError("unreachable")

    def _reconnect(self, broken: psycopg.Connection[Any]) -> None:
        with self._reconnecting:  # one new connection for every thread that saw the old one go
            if self.conn is broken:
                self.conn = self._connect()

    def _read_meta(self) -> dict[str, str]:
        meta = read_meta(self.query)
        if meta is None:
            raise RagError(
                f"no index in the store {self.where}; build one with: rag index --store URL"
            )
        if meta.get("format_version") != str(FORMAT_VERSION):
            raise RagError(
                f"the store {self.where} has format {meta.get('format_version')}, this version "
                f"reads {FORMAT_VERSION}; rebuild it with: rag index --rebuild --store URL"
            )
        return meta

    def stamp(self) -> Hashable | None:
        """The transaction that last wrote the store's settings: every build that changes
        anything rewrites them, so a new value means another build (Postgres's xmin)."""
        row = self.query("SELECT xmin::text FROM rag_meta WHERE key = 'built_at'").fetchone()
        return row[0] if row else None

    def reopen(self) -> PgIndex:
        """Itself, with the settings of the newest build (every read is live already)."""
        self._meta = self._read_meta()
        return self

    @property
    def where(self) -> str:
        return redact(self.url)

    @property
    def manifest(self) -> Manifest:  # type: ignore[override]  # read live, not from a file
        m = self._meta
        cur = self.query("SELECT id, sha256, source FROM rag_articles")
        rows = cur.fetchall()
        return Manifest(
            int(m["format_version"]), m["embedder"], int(m["dim"]), int(m["chunk_tokens"]),
            int(m["chunk_overlap"]), m["built_at"], {r[0]: r[1] for r in rows},
            {r[0]: r[2] for r in rows},
        )  # fmt: skip

    def __len__(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM rag_chunks").fetchone()[0])  # type: ignore[index]

    def keyword_search(self, terms: list[str], k: int) -> list[int]:
        """Rows of the chunks matching any of `terms`, best first by a BM25-like score."""
        terms = [t for t in terms if t.strip()]
        if not terms:
            return []
        cur = self.query(f"{KEYWORDS} LIMIT %s", (*terms_params(terms), k))
        return [int(r[0]) for r in cur]

    def hybrid(
        self, query: np.ndarray, terms: list[str], k: int, weight: float = 1.0,
        candidates: int = 30, rrf_k: int = 20,
    ) -> list[tuple[int, float, bool]]:  # fmt: skip
        """The whole hybrid search as one SQL query: the `candidates` nearest vectors and best
        keyword hits, fused by reciprocal rank as `retrieval.fuse` fuses them (same formula,
        weights and tie order: vector rank, then keyword rank), each row with its cosine and
        whether keywords found it (the Retriever's relevance gate needs both)."""
        terms = [t for t in terms if t.strip()]
        cur = self.query(
            f"""
            WITH dense AS (
                SELECT row, ROW_NUMBER() OVER (ORDER BY distance, row) AS rank FROM (
                    SELECT row, embedding <#> %s AS distance FROM rag_chunks
                    ORDER BY embedding <#> %s LIMIT %s) AS nearest),
            lexical AS (
                SELECT row, ROW_NUMBER() OVER (ORDER BY score DESC, row) AS rank
                FROM ({KEYWORDS} LIMIT %s) AS hits),
            fused AS (
                SELECT row, SUM(score) AS score, MIN(d) AS d, MIN(l) AS l FROM (
                    SELECT row, 1.0::float8 / (%s + rank) AS score, rank AS d, NULL::bigint AS l
                    FROM dense
                    UNION ALL SELECT row, %s::float8 / (%s + rank), NULL, rank FROM lexical
                ) AS ranked
                GROUP BY row ORDER BY SUM(score) DESC, MIN(d) NULLS LAST, MIN(l) LIMIT %s)
            SELECT fused.row, -(c.embedding <#> %s), fused.l IS NOT NULL
            FROM fused JOIN rag_chunks AS c ON c.row = fused.row
            ORDER BY fused.score DESC, fused.d NULLS LAST, fused.l
            """,
            (
                query, query, candidates, *terms_params(terms), candidates, rrf_k, weight, rrf_k,
                k, query,
            ),
        )  # fmt: skip
        return [(int(r[0]), float(r[1]), bool(r[2])) for r in cur]

    def chunks(self, rows: Iterable[int]) -> dict[int, Chunk]:
        cur = self.query(
            'SELECT row, id, article_id, text, start, "end" FROM rag_chunks WHERE row = ANY(%s)',
            (list(rows),),
        )
        return {int(r[0]): Chunk(r[1], r[2], r[3], r[4], r[5]) for r in cur}

    def rows_of(self, article_ids: Iterable[str]) -> set[int]:
        cur = self.query(
            "SELECT row FROM rag_chunks WHERE article_id = ANY(%s)", (list(article_ids),)
        )
        return {int(r[0]) for r in cur}

    def article(self, article_id: str) -> Article:
        row = self.query(
            f"SELECT {ARTICLE_COLUMNS} FROM rag_articles WHERE id = %s", (article_id,)
        ).fetchone()
        if row is None:
            raise RagError(f"article {article_id} is not in the store {self.where}")
        return article_from_row(row)

    def articles(self) -> list[Article]:
        cur = self.query(f"SELECT {ARTICLE_COLUMNS} FROM rag_articles ORDER BY source")
        return [article_from_row(r) for r in cur]

    def article_infos(self) -> list[ArticleInfo]:
        cur = self.query(
            "SELECT a.id, a.title, a.source, COUNT(c.row), a.added, a.outlet, a.url, "
            "a.published, a.authors FROM rag_articles a LEFT JOIN rag_chunks c "
            "ON c.article_id = a.id GROUP BY a.id ORDER BY a.added, a.source"
        )
        copies = self._copies()
        infos = []
        for r in cur.fetchall():
            group, first = copies.get(r[0], (None, r[0]))
            infos.append(
                ArticleInfo(
                    r[0], r[1], r[2], int(r[3]), r[4], r[5], r[6], r[7], authors_from_json(r[8]),
                    group, "" if first == r[0] else first,
                )
            )  # fmt: skip
        return infos

    def group_of(self, article_id: str) -> int | None:
        row = self.query(
            "SELECT group_id FROM rag_groups WHERE article_id = %s", (article_id,)
        ).fetchone()
        return int(row[0]) if row else None

    def group_members(self, group_id: int) -> list[str]:
        cur = self.query(
            f"SELECT g.article_id FROM rag_groups g JOIN rag_articles a ON a.id = g.article_id "
            f"WHERE g.group_id = %s ORDER BY {EARLIEST}",
            (group_id,),
        )
        return [r[0] for r in cur]

    def _copies(self) -> dict[str, tuple[int, str]]:
        cur = self.query(
            f"SELECT g.article_id, g.group_id FROM rag_groups g "
            f"JOIN rag_articles a ON a.id = g.article_id ORDER BY g.group_id, {EARLIEST}"
        )
        first: dict[int, str] = {}
        return {a: (g, first.setdefault(g, a)) for a, g in cur}

    def added(self, article_id: str) -> str:
        row = self.query("SELECT added FROM rag_articles WHERE id = %s", (article_id,)).fetchone()
        return str(row[0]) if row else ""

    def close(self) -> None:
        self.conn.close()
