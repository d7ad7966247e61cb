"""Building an index: add, update and remove articles (see `index` for the folder layout).

Owns: building an index atomically (write a sibling temp folder, then swap it in, so a crash,
Ctrl-C or a full disk leaves the old index whole), one writer at a time (`locking`), reusing the
vectors of unchanged articles, skipping duplicates, pruning, rebuilding a damaged index, and
storing the wire-copy groups `wires` assigns (a `groups` table).
Reading an index is `index`'s job; its names are re-exported here for the modules that import
them from here. The `store` setting can name a Postgres database instead of a folder
(`pgstore`, `pgindex`); `backends` chooses between the two.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from rag.articles import Article, is_gone, load_article
from rag.chunking import chunk_text
from rag.embedding import Embedder
from rag.errors import RagError
from rag.index import (
    ARTICLE_COLUMNS,
    DATABASE,
    FORMAT_VERSION,
    INDEXES_DIR,
    MANIFEST,
    VECTORS,
    ArticleInfo,
    Index,
    Manifest,
    article_from_row,
    now,
    recover_swap,
    resolve_index,
)
from rag.locking import writer_lock
from rag.wires import Grouper

__all__ = [
    "DATABASE", "FORMAT_VERSION", "INDEXES_DIR", "MANIFEST", "VECTORS", "ArticleInfo",
    "BuildReport", "Index", "Manifest", "build_index", "resolve_index",
]  # fmt: skip

# Chunks per embed call. The embedder sorts each call's texts by length before batching them, so
# bigger calls pad less: on BBC, calls of 64 padded 36% more tokens than one sorted call and
# indexed at 0.84x raw encode speed; calls of 512 pad 6% more (benchmarks/README.md).
EMBED_BATCH = 512
# Above this many vectors the index is an approximate HNSW graph instead of exact search. Exact
# search took 24 ms per question at 36k vectors and 324 ms at 1M, the graph about 1 ms; its
# recall@10 was 0.998 on the real BBC vectors but 0.76 on 1M synthetic ones
# (benchmarks/README.md). Tests lower the threshold to exercise the switch.
APPROXIMATE_ABOVE = 100_000
HNSW_M = 32  # links per node: the usual choice for 384-d text vectors
HNSW_EF_CONSTRUCTION = 80  # build-time beam: higher builds slower, links better
HNSW_EF_SEARCH = 256  # query-time beam; saved in the file, so a loaded index keeps it

SCHEMA = """
CREATE TABLE articles (id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
                       text TEXT NOT NULL, sha256 TEXT NOT NULL, added TEXT NOT NULL,
                       outlet TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
                       published TEXT NOT NULL DEFAULT '', authors TEXT NOT NULL DEFAULT '[]');
CREATE TABLE chunks (row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,
                     article_id TEXT NOT NULL REFERENCES articles(id),
                     start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE chunks_fts USING fts5(text, content='chunks', content_rowid='row',
                                           tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE groups (article_id TEXT PRIMARY KEY REFERENCES articles(id),
                     group_id INTEGER NOT NULL, ord INTEGER NOT NULL, signature BLOB NOT NULL);
CREATE INDEX groups_group ON groups(group_id);
"""


@dataclass(frozen=True)
class BuildReport:
    articles: int  # articles in the index after the build
    added: int  # articles (re)embedded in this run
    chunks: int
    seconds: float
    removed: int = 0
    skipped: int = 0  # articles with the same text as one already stored


def build_index(
    path: Path,
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
    """Add or update `articles` in the index at `path` (created if missing), and drop the
    articles whose ids are in `remove` and, with `prune`, those whose files are gone.

    Unchanged articles keep their chunks and vectors; changed ones are re-chunked and
    re-embedded; a new one with the same text as a stored one is skipped. `rebuild` re-chunks
    and re-embeds everything already stored as well (re-reading the files the manifest names
    when store.sqlite is unreadable). When nothing changed, nothing is written.

    One writer at a time: another waits until this one is done, then builds on what it stored
    (with wait=False it fails at once instead). `say` hears one-line notes such as the wait and
    the skips; by default they go to stderr.
    """
    say = say or _to_stderr
    new_articles = {a.id: a for a in articles}  # files are read before waiting for the lock
    with writer_lock(path, wait, say):
        # Everything from here reads the index as the previous writer left it.
        return _build(
            path, new_articles, embedder, chunk_tokens, chunk_overlap, rebuild, on_progress,
            set(remove), prune, say,
        )  # fmt: skip


def _build(
    path: Path,
    new_articles: dict[str, Article],
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    rebuild: bool,
    on_progress: Callable[[int, int], None] | None,
    remove: set[str],
    prune: bool,
    say: Callable[[str], None],
) -> BuildReport:
    started = time.perf_counter()
    recover_swap(path)
    old: Index | None = None
    gone = remove - set(new_articles)
    kept: list[Article] = []
    skipped = 0
    if (path / MANIFEST).is_file() and not rebuild:
        # An index from an older format is upgraded by re-embedding what it stores.
        with contextlib.suppress(RagError):
            rebuild = Manifest.read(path).format_version != FORMAT_VERSION
    if rebuild and ((path / DATABASE).exists() or (path / MANIFEST).exists()):
        # Re-embed what is stored, reading only the articles table so that an index from an
        # older format, or one whose manifest is damaged, can still be rebuilt.
        stored = _stored_articles(path, bool(new_articles), say)
        gone |= _pruned(stored, new_articles, say) if prune else set()
        stored = [a for a in stored if a.id not in gone]
        skipped = _drop_duplicates(new_articles, stored, say)
        for article in stored:
            new_articles.setdefault(article.id, article)
    elif (path / MANIFEST).is_file():
        old = Index(path)
        m = old.manifest
        if (m.embedder, m.chunk_tokens, m.chunk_overlap) != (
            embedder.name,
            chunk_tokens,
            chunk_overlap,
        ):
            old.close()
            raise RagError(
                f"index {path} was built with embedder={m.embedder} chunk_tokens={m.chunk_tokens} "
                f"chunk_overlap={m.chunk_overlap}; to rebuild with the current settings run: "
                f"rag index --rebuild --index {path}"
            )
        unknown = gone - set(old.manifest.articles)
        if unknown:
            old.close()
            raise RagError(
                f"no article {', '.join(sorted(unknown))} in index {path}; see: rag list --index {path}"
            )
        stored = old.articles()
        gone |= _pruned(stored, new_articles, say) if prune else set()
        stored = [a for a in stored if a.id not in gone]
        skipped = _drop_duplicates(new_articles, stored, say)
        kept = [a for a in stored if a.id not in new_articles]
    elif path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise RagError(f"{path} exists and is not an index; choose another --index")
    for article_id, article in list(new_articles.items()):
        if old is not None and old.manifest.articles.get(article_id) == article.sha256:
            kept.append(old.article(article_id))
            del new_articles[article_id]
    if old is not None and not new_articles and not gone and old.has_groups:
        report = BuildReport(len(kept), 0, len(old), time.perf_counter() - started, 0, skipped)
        old.close()
        return report  # nothing to do: no file is touched, so an unchanged re-index is cheap

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(path)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        rows = _write(
            tmp, old, kept, new_articles, embedder, chunk_tokens, chunk_overlap, on_progress
        )
        if old is not None:
            old.close()
        _swap(tmp, path)
    except (OSError, sqlite3.Error) as exc:  # a full disk, no permission...
        shutil.rmtree(tmp, ignore_errors=True)
        raise RagError(f"cannot write index {path}: {_reason(exc)}; nothing was changed") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            old.close()
    return BuildReport(
        len(kept) + len(new_articles), len(new_articles), rows, time.perf_counter() - started,
        len(gone), skipped,
    )  # fmt: skip


def _write(
    tmp: Path,
    old: Index | None,
    kept: list[Article],
    new_articles: dict[str, Article],
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    on_progress: Callable[[int, int], None] | None,
) -> int:
    """Write the whole new index into `tmp`; returns its number of chunks."""
    db = sqlite3.connect(tmp / DATABASE)
    try:
        db.executescript(SCHEMA)
        fresh = [
            c
            for a in new_articles.values()
            for c in chunk_text(a.id, a.text, chunk_tokens, chunk_overlap)
        ]
        index = _vector_index(embedder.dim, _chunk_count(old, kept) + len(fresh))
        row = 0
        for article in kept:  # copy chunks and vectors across, no re-embedding
            assert old is not None
            _insert_article(db, article, old.added(article.id))
            cur = old.db.execute(
                "SELECT row, id, start, end, text FROM chunks WHERE article_id = ? ORDER BY row",
                (article.id,),
            )
            copied = cur.fetchall()
            db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [(row + j, c[1], article.id, c[2], c[3], c[4]) for j, c in enumerate(copied)],
            )
            if copied:
                old_rows = np.array([c[0] for c in copied], dtype=np.int64)
                index.add(old.vectors.reconstruct_batch(old_rows))  # (n, dim) float32
            row += len(copied)
        for article in new_articles.values():
            _insert_article(db, article, old.added(article.id) if old else now())
        if on_progress:
            on_progress(0, len(fresh))  # the total is known now; the first batch takes a while
        for i in range(0, len(fresh), EMBED_BATCH):
            batch = fresh[i : i + EMBED_BATCH]
            vectors = embedder.embed([c.text for c in batch])  # (len(batch), dim) float32
            index.add(vectors)
            db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (row + j, c.id, c.article_id, c.start, c.end, c.text)
                    for j, c in enumerate(batch)
                ],
            )
            row += len(batch)
            if on_progress:
                on_progress(min(i + EMBED_BATCH, len(fresh)), len(fresh))
        db.execute("INSERT INTO chunks_fts(rowid, text) SELECT row, text FROM chunks")
        db.executemany(
            "INSERT INTO groups VALUES (?, ?, ?, ?)",
            [(i, *row) for i, row in _groups(old, kept, new_articles).rows.items()],
        )
        db.commit()
    finally:
        db.close()
    _write_vectors(index, tmp / VECTORS)
    everything = kept + list(new_articles.values())
    manifest = Manifest(
        FORMAT_VERSION, embedder.name, embedder.dim, chunk_tokens, chunk_overlap, now(),
        {a.id: a.sha256 for a in everything}, {a.id: a.source for a in everything},
    )  # fmt: skip
    (tmp / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    return row


def _groups(old: Index | None, kept: list[Article], new_articles: dict[str, Article]) -> Grouper:
    """Wire-copy groups: kept articles stay in theirs, each new one joins a matching group or
    starts one (an index from before groups has its kept articles grouped here, once)."""
    grouper = Grouper()
    stored = {}
    if old is not None and old.has_groups:
        cur = old.db.execute("SELECT article_id, group_id, ord, signature FROM groups")
        stored = {r[0]: r[1:] for r in cur}
    for article in kept:
        if article.id in stored:
            grouper.restore(article, *stored[article.id])
    for article in [a for a in kept if a.id not in stored] + list(new_articles.values()):
        grouper.add(article)
    return grouper


def _write_vectors(index: faiss.Index, file: Path) -> None:
    """Through a Python file, whose errors raise: faiss's own file writer only prints a failed
    close (a full disk) to stderr and leaves a truncated file behind."""
    try:
        with open(file, "wb") as f:
            writer = faiss.PyCallbackIOWriter(f.write)  # type: ignore[attr-defined]  # (SWIG-made)
            faiss.write_index(index, writer)
    except RuntimeError as exc:  # faiss's own errors while writing
        raise OSError(f"{_reason(exc)} ({file.name})") from None


def _reason(exc: BaseException) -> str:
    """One line: 'No space left on device: FILE' from an OSError, else the last line of the message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    lines = str(exc).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


def _pruned(
    stored: list[Article], given: dict[str, Article], say: Callable[[str], None]
) -> set[str]:
    """Ids of the stored articles (other than the ones given again) whose files are gone."""
    gone = set()
    for article in stored:
        if article.id in given:
            continue
        state = is_gone(article)
        if state is None:
            say(
                f"warning: kept {article.source}: it was indexed from another folder, so whether "
                "its file is gone can only be told from there"
            )
        elif state:
            gone.add(article.id)
    return gone


def _drop_duplicates(
    new_articles: dict[str, Article], stored: list[Article], say: Callable[[str], None]
) -> int:
    """Drop the new articles whose text a stored one already has; an update is never dropped."""
    texts = {a.sha256: a.source for a in stored if a.id not in new_articles}
    ids = {a.id for a in stored}
    dropped = 0
    for article in list(new_articles.values()):
        if article.id not in ids and article.sha256 in texts:
            say(f"warning: {article.source} has the same text as {texts[article.sha256]}; skipped")
            del new_articles[article.id]
            dropped += 1
    return dropped


def _vector_index(dim: int, size: int) -> faiss.Index:
    """Exact inner-product search up to APPROXIMATE_ABOVE vectors, an HNSW graph beyond."""
    if size <= APPROXIMATE_ABOVE:
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _chunk_count(old: Index | None, kept: list[Article]) -> int:
    """Chunks the kept articles bring across from the old index."""
    if old is None or not kept:
        return 0
    counts = dict(old.db.execute("SELECT article_id, COUNT(*) FROM chunks GROUP BY article_id"))
    return sum(counts.get(a.id, 0) for a in kept)


def _remove_abandoned(path: Path) -> None:
    """Delete temp folders left by builds that were killed (their process is gone)."""
    for tmp in path.parent.glob(f".{path.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stored_articles(path: Path, files_given: bool, say: Callable[[str], None]) -> list[Article]:
    """What a rebuild re-embeds: the articles table or, when store.sqlite is unreadable or gone,
    the files the manifest names as they are now (a file that is gone is lost)."""
    try:
        db = sqlite3.connect(f"file:{path / DATABASE}?mode=ro", uri=True)
        try:
            columns = {r[1] for r in db.execute("PRAGMA table_info(articles)")}
            if "authors" in columns:
                rows = db.execute(f"SELECT {ARTICLE_COLUMNS} FROM articles").fetchall()
                return [article_from_row(r) for r in rows]
            # Format 3 and before stored no metadata: those articles come back without it
            # (indexing their files again reads it).
            rows = db.execute("SELECT id, title, source, text, sha256 FROM articles").fetchall()
        finally:
            db.close()
        return [Article(*r) for r in rows]
    except sqlite3.Error as exc:
        problem = f"{path / DATABASE} is unreadable ({exc})"
    try:
        sources = Manifest.read(path).sources
    except RagError:
        sources = {}
    found = [a for s in sources.values() if Path(s).is_file() and (a := load_article(Path(s), say))]
    if not found and not files_given:
        raise RagError(
            f"{problem} and the manifest names no file that still exists; index the files "
            f"again with: rag index --rebuild --index {path} FILES..."
        )
    lost = len(sources) - len(found)
    say(
        f"warning: {problem}; rebuilding from the {len(found)} files the manifest names"
        + (f" ({lost} of them are gone)" if lost else "")
    )
    return found


def _insert_article(db: sqlite3.Connection, article: Article, added: str) -> None:
    a = article
    db.execute(
        "INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a.id, a.title, a.source, a.text, a.sha256, added, a.outlet, a.url, a.published,
            json.dumps(list(a.authors), ensure_ascii=False),
        ),
    )  # fmt: skip


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _swap(tmp: Path, path: Path) -> None:
    """Two renames; between them the old copy is kept as .NAME.old, which recover_swap restores."""
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        path.rename(old)
    try:
        tmp.rename(path)
    except OSError:
        if old.exists() and not path.exists():
            old.rename(path)  # put the old index back at once rather than on the next load
        raise
    shutil.rmtree(old, ignore_errors=True)
