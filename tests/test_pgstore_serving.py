"""The Postgres store under load it was not built for: searching among a scope's rows, and a
connection that drops mid-run. Against the real Postgres of `test_pgstore` (its fixtures), with
the fake embedder and a scripted model."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest

import rag.pgstore
from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import RagError
from rag.pgindex import PgIndex
from rag.pgstore import build_pg, redact
from rag.store import Index, build_index
from tests import test_pgstore
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.test_pgstore import article, news

# Its Postgres and a fresh database per test (one server for both modules: see pg_server).
pg_server, pg_url = test_pgstore.pg_server, test_pgstore.pg_url

SETTINGS = Settings(top_k=3, min_score=0.1, verify=False, model="smollm2-135m")
BUDGET = "Who approved the budget?"
REPLY = "The city council approved the budget [1]."


def admin_of(url: str) -> tuple[str, str]:
    """The test database's name, and a URL of the server's own database to manage it from."""
    database = urlsplit(url).path.strip("/")
    return database, url.replace(f"/{database}?", "/postgres?")


def test_searching_among_rows_finds_only_them_in_both_stores(
    pg_url: str, tmp_path: Path, embedder: FakeEmbedder
) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    build_index(tmp_path / "idx", news(), embedder, 60, 1)
    local, pg = Index(tmp_path / "idx"), PgIndex(pg_url)
    query = embedder.embed(["the budget and the harbour after the storm"])[0]
    for index in (local, pg):
        rows = frozenset(index.rows_of([article("harbour", "").id, article("rail", "").id]))
        among = index.search(query, 30, rows)
        assert {r for r, _ in among} == set(rows)  # all of them, as k is larger
        exact = sorted(index.cosine(query, sorted(rows)).items(), key=lambda rs: -rs[1])
        assert [r for r, _ in among] == [r for r, _ in exact]
        assert np.allclose([s for _, s in among], [s for _, s in exact], atol=1e-5)
        assert [r for r, _ in index.search(query, 1, rows)] == [exact[0][0]]
    assert not hasattr(pg, "vectors")  # no FAISS imitation left


def test_a_dropped_connection_is_opened_again_or_is_one_line(
    pg_url: str, embedder: FakeEmbedder
) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    index = PgIndex(pg_url)
    assistant = Assistant(SETTINGS, index, embedder, ScriptedGenerator(REPLY, REPLY))
    database, admin_url = admin_of(pg_url)
    with psycopg.connect(admin_url, autocommit=True) as admin:

        def cut() -> None:  # as a restart of Postgres ends every session
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )

        cut()
        assert len(index.articles()) == 3  # opened again, and the read run once more
        cut()
        admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")  # still down
        with pytest.raises(RagError) as caught:
            assistant.ask(BUDGET)
        message = str(caught.value)
        assert message.startswith(f"cannot connect to the store {redact(pg_url)}")
        assert "\n" not in message
        admin.execute(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")  # back up
        assert assistant.ask(BUDGET).answer == REPLY
        index.query("SET statement_timeout = 1")
        with pytest.raises(RagError, match="failed to answer: canceling statement"):
            index.query("SELECT pg_sleep(1)")


class Cutting(FakeEmbedder):
    """Ends every session of the database while the build is embedding its second batch."""

    def __init__(self, admin: psycopg.Connection, database: str) -> None:
        super().__init__()
        self.admin, self.database = admin, database

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.calls:
            self.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.database,),
            )
        return super().embed(texts)


def test_a_build_whose_connection_drops_changes_nothing(
    pg_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    before = [(i.id, i.chunks) for i in PgIndex(pg_url).article_infos()]
    monkeypatch.setattr(rag.pgstore, "EMBED_BATCH", 1)
    database, admin_url = admin_of(pg_url)
    more = [article(f"extra{i}", f"Story number {i} about the harbour.") for i in range(3)]
    with psycopg.connect(admin_url, autocommit=True) as admin, pytest.raises(RagError) as caught:
        build_pg(pg_url, more, Cutting(admin, database), 60, 1)
    assert str(caught.value).startswith(f"cannot write the store {redact(pg_url)}: ")
    assert str(caught.value).endswith("; nothing was changed") and "\n" not in str(caught.value)
    assert [(i.id, i.chunks) for i in PgIndex(pg_url).article_infos()] == before
