"""Where the index lives: the folder `index` names, or the Postgres database `store` names.

Owns choosing between the two for opening, building and messages, so that the commands, the
Assistant, the chat and the API never ask which one they hold. The folder index itself is
`index`'s (reading) and `store`'s (building); the database is `pgindex`'s and `pgstore`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rag.articles import Article
from rag.embedding import Embedder
from rag.index import Index, resolve_index
from rag.pgindex import PgIndex
from rag.pgstore import build_pg, redact
from rag.store import BuildReport, build_index


def open_index(index: str, store: str = "") -> Index:
    """The index the settings name: the Postgres database `store` names, else the folder
    `index` names ("" = the local folder index)."""
    return PgIndex(store) if store else Index(resolve_index(index))


def describe(index: str, store: str = "") -> str:
    """Where the settings' index lives, for messages: a folder, or a URL without its password."""
    return redact(store) if store else str(resolve_index(index))


def build_store(
    index: str,
    store: str,
    articles: Iterable[Article],
    embedder: Embedder,
    chunk_tokens: int,
    chunk_overlap: int,
    **options: Any,
) -> BuildReport:
    """`store.build_index` (same keyword options) into the Postgres database `store` names, or
    the folder `index` names when `store` is ""."""
    if store:
        return build_pg(store, articles, embedder, chunk_tokens, chunk_overlap, **options)
    return build_index(
        resolve_index(index), articles, embedder, chunk_tokens, chunk_overlap, **options
    )


def build_into(
    index: Index, articles: Iterable[Article], embedder: Embedder, **options: Any
) -> BuildReport:
    """Add or remove articles where an open index lives (its folder or its database), chunked
    as it was built. The open index keeps answering; reopen it (`Index.reopen`) to see them."""
    m = index.manifest
    if isinstance(index, PgIndex):
        return build_pg(index.url, articles, embedder, m.chunk_tokens, m.chunk_overlap, **options)
    return build_index(index.path, articles, embedder, m.chunk_tokens, m.chunk_overlap, **options)
