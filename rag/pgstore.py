"""A Postgres + pgvector store: connecting, its tables, and building it incrementally.

Setting `store` to a postgresql:// URL puts the articles, chunks, vectors (pgvector, HNSW) and
keywords (Postgres full-text search) in that database instead of a folder under indexes/.
Owns: checking and redacting the URL, one-line errors for a server that cannot be reached or
has no pgvector, the `rag_*` tables, and `build_pg`: add, update, remove and prune articles in
ONE transaction, so a killed run leaves the database as it was and readers (several `rag
serve` processes may share it) see either the old articles or the new ones. Unchanged
articles (same content hash) keep their chunks and vectors. One writer at a time, by an
advisory lock. Reading the store is `pgindex`'s job; the local folder index is `store`'s.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from rag.articles import Article
from rag.chunking import chunk_text
from rag.embedding import Embedder
from rag.errors import RagError
from rag.index import FORMAT_VERSION, now
from rag.wires import Grouper

if TYPE_CHECKING:
    import psycopg

    from rag.store import BuildReport

SCHEMES = ("postgresql", "postgres")
EMBED_BATCH = 512  # chunks per embed call, as `store` embeds them (see its comment)
WRITER_LOCK = 0x7261_6701  # the advisory lock key one writer holds ("rag" + 1)
# HNSW graph settings: pgvector's defaults (m 16, ef_construction 64) already find the exact
# top 30 for nearly every BBC headline; a wider query beam (ef_search, set per connection in
# `pgindex`) buys the rest.
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64

TABLES = """
CREATE TABLE rag_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rag_articles (id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
    text TEXT NOT NULL, sha256 TEXT NOT NULL, added TEXT NOT NULL,
    outlet TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
    published TEXT NOT NULL DEFAULT '', authors TEXT NOT NULL DEFAULT '[]');
CREATE TABLE rag_chunks (row BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    article_id TEXT NOT NULL REFERENCES rag_articles(id) ON DELETE CASCADE,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    embedding vector({dim}) NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED);
CREATE INDEX rag_chunks_article ON rag_chunks(article_id);
CREATE INDEX rag_chunks_tsv ON rag_chunks USING gin (tsv);
CREATE TABLE rag_groups (article_id TEXT PRIMARY KEY REFERENCES rag_articles(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL, ord INTEGER NOT NULL, signature BYTEA NOT NULL);
CREATE INDEX rag_groups_group ON rag_groups(group_id);
"""
# pgvector's HNSW takes vectors of up to 2,000 dimensions; longer ones are searched exactly.
HNSW_INDEX = """
CREATE INDEX rag_chunks_embedding ON rag_chunks USING hnsw (embedding vector_ip_ops)
    WITH (m = {m}, ef_construction = {ef})
"""
HNSW_MAX_DIM = 2000
DROP = "DROP TABLE IF EXISTS rag_groups, rag_chunks, rag_articles, rag_meta"


def is_postgres(store: str) -> bool:
    """Whether the `store` setting names a Postgres database ("" is the local folder index)."""
    return urlsplit(store).scheme in SCHEMES


def redact(url: str) -> str:
    """The URL without its password (in the user part or a `password=` parameter, as libpq
    takes both), for every message, log line and eval report that shows it."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[-1]}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def passwords(url: str) -> list[str]:
    """The passwords in a store URL, as written and as libpq reads them (percent-decoded)."""
    parts = urlsplit(url)
    pairs = (pair.partition("=") for pair in parts.query.split("&"))
    found = [parts.password or ""] + [v for k, _, v in pairs if k == "password"]
    return [p for secret in found if secret for p in {secret, unquote(secret)}]


def connect(url: str, autocommit: bool = True) -> psycopg.Connection:
    """A connection with pgvector's types registered; every failure is a one-line RagError."""
    if not is_postgres(url):
        raise RagError(f"store must be a postgresql:// URL, got {redact(url)!r}")
    try:
        import psycopg
        from pgvector.psycopg import register_vector
    except ImportError:
        raise RagError(
            "a Postgres store needs psycopg and pgvector: pip install 'psycopg[binary]' pgvector"
        ) from None
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise RagError(f"cannot connect to the store {redact(url)}: {reason(exc, url)}") from None
    try:
        register_vector(conn)
    except psycopg.ProgrammingError:  # the `vector` type is unknown: no extension yet
        conn.close()
        raise RagError(
            f"no index in the store {redact(url)} (no pgvector extension there yet); build one "
            "with: rag index --store URL"
        ) from None
    return conn


def create_extension(url: str) -> None:
    """CREATE EXTENSION vector, so that a fresh database can take a store."""
    import psycopg

    if not is_postgres(url):
        raise RagError(f"store must be a postgresql:// URL, got {redact(url)!r}")
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.errors.FeatureNotSupported as exc:  # not installed on the server
        raise RagError(
            f"the Postgres server of {redact(url)} has no pgvector extension ({reason(exc, url)})"
        ) from None
    except psycopg.errors.UniqueViolation:
        pass  # another process created it at the same moment
    except psycopg.Error as exc:
        raise RagError(f"cannot connect to the store {redact(url)}: {reason(exc, url)}") from None


def reason(exc: BaseException, url: str) -> str:
    """The first line of a driver error, with the URL's password blanked should it appear."""
    lines = str(exc).strip().splitlines()
    line = lines[0] if lines else type(exc).__name__
    for secret in passwords(url):
        line = line.replace(secret, "***")
    return line


def read_meta(run: Callable[[str], Any]) -> dict[str, str] | None:
    """The store's settings (embedder, dim, chunk settings...), or None when it has no tables.
    `run` executes a statement: a connection's `execute`, or `PgIndex.query`."""
    if run("SELECT to_regclass('rag_meta')").fetchone()[0] is None:
        return None
    return {k: v for k, v in run("SELECT key, value FROM rag_meta")}


def build_pg(
    url: str,
    articles: Iterable[Article],
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    rebuild: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    remove: Iterable[str] = (),
    prune: bool = False,
    wait: bool = True,
    say: Callable[[str], None] | None = None,
) -> BuildReport:
    """`store.build_index` for a Postgres store: the same arguments, in one transaction."""
    from rag.store import BuildReport, _pruned, _to_stderr  # the local rule for "gone"

    say = say or _to_stderr
    started = time.perf_counter()
    new = {a.id: a for a in articles}
    create_extension(url)
    conn = connect(url, autocommit=False)
    try:
        with conn.transaction():
            if wait:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
            elif not conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (WRITER_LOCK,)).fetchone()[0]:  # type: ignore[index]  # fmt: skip
                raise RagError(f"another process is writing the store {redact(url)}; try again")
            meta = read_meta(conn.execute)
            if meta is not None and not rebuild:
                _check_settings(url, meta, embedder, chunk_tokens, chunk_overlap)
            stored = _stored(conn) if meta is not None else {}
            gone = set(remove) - set(new)
            unknown = gone - set(stored)
            if unknown:
                raise RagError(
                    f"no article {', '.join(sorted(unknown))} in the store {redact(url)}"
                )
            if prune:
                gone |= _pruned([s.article for s in stored.values()], new, say)
            skipped = _drop_duplicates(new, stored, gone, say)
            if rebuild:  # re-chunk and re-embed everything, in tables made for this embedder
                for article_id, old in stored.items():
                    if article_id not in gone:
                        new.setdefault(article_id, old.article)
                added = {a: stored[a].added for a in stored}
                conn.execute(DROP)
                stored, meta = {}, None  # so nothing counts as kept
            else:
                added = {a: s.added for a, s in stored.items()}
                for article_id in [i for i, a in new.items() if i in stored]:
                    if stored[article_id].article.sha256 == new[article_id].sha256:
                        del new[article_id]  # unchanged: its chunks and vectors stay
            kept = len(set(stored) - gone - set(new))  # articles left as they were
            if meta is not None and not new and not gone:
                n_chunks = conn.execute("SELECT COUNT(*) FROM rag_chunks").fetchone()[0]  # type: ignore[index]
                return BuildReport(kept, 0, n_chunks, time.perf_counter() - started, 0, skipped)
            if meta is None:
                conn.execute(TABLES.format(dim=embedder.dim))
            doomed = list(gone | (set(new) & set(stored)))
            conn.execute("DELETE FROM rag_articles WHERE id = ANY(%s)", (doomed,))  # cascades
            _insert(conn, new, added, embedder, chunk_tokens, chunk_overlap, on_progress)
            if meta is None and embedder.dim <= HNSW_MAX_DIM:
                # Built once over all rows rather than node by node: BBC's 35k in seconds.
                # One core and a bounded memory: a laptop tool shares the machine.
                conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
                conn.execute("SET LOCAL max_parallel_maintenance_workers = 0")
                conn.execute(HNSW_INDEX.format(m=HNSW_M, ef=HNSW_EF_CONSTRUCTION))
            _group(conn, new)
            n_chunks = conn.execute("SELECT COUNT(*) FROM rag_chunks").fetchone()[0]  # type: ignore[index]
            settings = {
                "chunks": str(n_chunks),  # N in the keyword search's inverse document frequency
                "format_version": str(FORMAT_VERSION), "embedder": embedder.name,
                "dim": str(embedder.dim), "chunk_tokens": str(chunk_tokens),
                "chunk_overlap": str(chunk_overlap), "built_at": now(),
            }  # fmt: skip
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO rag_meta VALUES (%s, %s) ON CONFLICT (key) "
                    "DO UPDATE SET value = EXCLUDED.value",
                    list(settings.items()),
                )
        return BuildReport(
            kept + len(new), len(new), n_chunks, time.perf_counter() - started, len(gone), skipped
        )
    except _errors() as exc:
        raise RagError(
            f"cannot write the store {redact(url)}: {reason(exc, url)}; nothing was changed"
        ) from None
    finally:
        conn.close()


def _errors() -> type[BaseException]:
    import psycopg

    return psycopg.Error


@dataclass(frozen=True)
class _Stored:
    article: Article
    added: str  # when it was first indexed: an updated article keeps it

    @property
    def source(self) -> str:
        return self.article.source


def _stored(conn: psycopg.Connection) -> dict[str, _Stored]:
    """Every stored article by id."""
    from rag.pgindex import ARTICLE_COLUMNS, article_from_row

    cur = conn.execute(f"SELECT {ARTICLE_COLUMNS}, added FROM rag_articles")
    return {r[0]: _Stored(article_from_row(r[:-1]), r[-1]) for r in cur}


def _check_settings(
    url: str, meta: dict[str, str], embedder: Embedder, chunk_tokens: int, chunk_overlap: int
) -> None:
    built = (meta.get("embedder"), meta.get("chunk_tokens"), meta.get("chunk_overlap"))
    if built != (embedder.name, str(chunk_tokens), str(chunk_overlap)):
        raise RagError(
            f"the store {redact(url)} was built with embedder={built[0]} chunk_tokens={built[1]} "
            f"chunk_overlap={built[2]}; to rebuild with the current settings run: "
            f"rag index --rebuild --store URL"
        )


def _drop_duplicates(
    new: dict[str, Article], stored: dict[str, _Stored], gone: set[str], say: Callable[[str], None]
) -> int:
    """Drop the new articles whose text a stored one already has; an update is never dropped."""
    texts = {
        s.article.sha256: s.source for i, s in stored.items() if i not in new and i not in gone
    }
    dropped = 0
    for article in list(new.values()):
        if article.id not in stored and article.sha256 in texts:
            say(f"warning: {article.source} has the same text as {texts[article.sha256]}; skipped")
            del new[article.id]
            dropped += 1
    return dropped


def _insert(
    conn: psycopg.Connection,
    new: dict[str, Article],
    added: dict[str, str],
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    on_progress: Callable[[int, int], None] | None,
) -> None:
    """The new articles, their chunks and the chunks' vectors."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO rag_articles VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    a.id, a.title, a.source, a.text, a.sha256, added.get(a.id) or now(),
                    a.outlet, a.url, a.published, json.dumps(list(a.authors), ensure_ascii=False),
                )
                for a in new.values()
            ],
        )  # fmt: skip
    fresh = [c for a in new.values() for c in chunk_text(a.id, a.text, chunk_tokens, chunk_overlap)]
    if on_progress:
        on_progress(0, len(fresh))
    for i in range(0, len(fresh), EMBED_BATCH):
        batch = fresh[i : i + EMBED_BATCH]
        vectors = embedder.embed([c.text for c in batch])  # (len(batch), dim) float32
        with conn.cursor() as cur:
            cur.executemany(
                'INSERT INTO rag_chunks (id, article_id, start, "end", text, embedding) '
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [
                    (c.id, c.article_id, c.start, c.end, c.text, v)
                    for c, v in zip(batch, vectors, strict=True)
                ],
            )
        if on_progress:
            on_progress(min(i + EMBED_BATCH, len(fresh)), len(fresh))


def _group(conn: psycopg.Connection, new: dict[str, Article]) -> None:
    """Wire-copy groups: stored articles stay in theirs, each new one joins or starts one."""
    grouper = Grouper()
    cur = conn.execute(
        "SELECT a.id, a.text, g.group_id, g.ord, g.signature FROM rag_groups g "
        "JOIN rag_articles a ON a.id = g.article_id ORDER BY g.ord"
    )
    for article_id, text, group, order, sig in cur.fetchall():
        grouper.restore(Article(article_id, "", "", text, ""), group, order, bytes(sig))
    for article in new.values():
        grouper.add(article)
    with conn.cursor() as cur2:
        cur2.executemany(
            "INSERT INTO rag_groups VALUES (%s, %s, %s, %s)",
            [(i, *grouper.rows[i]) for i in new],
        )
