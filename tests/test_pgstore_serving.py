"""The Postgres store behind what serves answers: the Assistant, `rag chat`'s uploads, `rag
serve`'s API and `rag eval`, searching among a scope's rows, a connection that drops, and a
password in the store's URL that never reaches a message, a log or an eval report. Against the
real Postgres of `test_pgstore` (its fixtures), with the fake embedder and a scripted model."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

import rag.assistant
import rag.embedding
import rag.pgstore
from rag.api import build_api
from rag.assistant import Assistant
from rag.chat import ChatHandlers, ensure_index
from rag.cli import main
from rag.cli_eval import recorded
from rag.config import Settings
from rag.errors import RagError
from rag.filters import make_scope
from rag.pgindex import PgIndex, uploads_home
from rag.pgstore import build_pg, redact
from rag.store import Index, build_index
from rag.uploads import uploads_dir
from tests import test_pgstore
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.test_pgstore import article, news

# Its Postgres and a fresh database per test (one server for both modules: see pg_server).
pg_server, pg_url = test_pgstore.pg_server, test_pgstore.pg_url

SETTINGS = Settings(top_k=3, min_score=0.1, verify=False, model="smollm2-135m")
BUDGET = "Who approved the budget?"
REPLY = "The city council approved the budget [1]."


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> list[ScriptedGenerator]:
    """The fake embedder and scripted models wherever the code makes them; the list holds
    every model made, so a test can read its prompts."""
    made: list[ScriptedGenerator] = []

    def generator(*args: object, **kwargs: object) -> ScriptedGenerator:
        made.append(ScriptedGenerator(REPLY, REPLY, REPLY))
        return made[-1]

    monkeypatch.setattr(rag.embedding, "make_embedder", lambda name: FakeEmbedder())
    monkeypatch.setattr(rag.assistant, "make_embedder", lambda name: FakeEmbedder())
    monkeypatch.setattr(rag.assistant, "make_generator", generator)
    return made


def admin_of(url: str) -> tuple[str, str]:
    """The test database's name, and a URL of the server's own database to manage it from."""
    database = urlsplit(url).path.strip("/")
    return database, url.replace(f"/{database}?", "/postgres?")


def with_password(url: str) -> str:
    """The test server's URL with a password in it (its local connections need none, so it
    is accepted and ignored: what matters is where it shows)."""
    return url.replace("postgres:@", "postgres:hunter2@")


def test_the_assistant_answers_from_the_store_and_indexes_into_it(
    pg_url: str, tmp_path: Path, embedder: FakeEmbedder, models: list[ScriptedGenerator]
) -> None:
    build_pg(pg_url, news(), embedder, 60, 1)
    assistant = Assistant.from_settings(SETTINGS.replace(store=pg_url))
    assert isinstance(assistant.index, PgIndex)
    answer = assistant.ask(BUDGET)
    assert answer.answer == REPLY and answer.citations
    council = assistant.index.article(answer.citations[0].article_id)
    assert council.title == "Council" and council.text[answer.citations[0].start :].startswith(
        answer.citations[0].quote
    )
    note = tmp_path / "bridge.md"
    note.write_text("# Bridge\n\nThe Springfield bridge reopens in May.\n", encoding="utf-8")
    report, warnings = assistant.add_files([note])
    assert (report.articles, report.added, warnings) == (4, 1, [])
    assert "Bridge" in [a.title for a in PgIndex(pg_url).articles()]  # in the database
    assert not (tmp_path / "indexes").exists()
    gone = assistant.remove_articles([article("rail", "").id])
    assert (gone.articles, gone.removed) == (3, 1)
    assert len(assistant.article_infos()) == 3


def test_a_build_by_another_process_is_seen_by_the_next_answer(
    pg_url: str, embedder: FakeEmbedder
) -> None:
    """The Retriever caches a scope's rows and articles; a new build must not meet a stale
    cache, so the Assistant starts a new Retriever when the store's build changes."""
    build_pg(pg_url, news(), embedder, 60, 1)
    assistant = Assistant(SETTINGS, PgIndex(pg_url), embedder, ScriptedGenerator(REPLY))
    gazette = make_scope(None, None, "Gazette")
    assert assistant.ask(BUDGET, scope=gazette).answer == gazette.nothing_found()
    first, stamp = assistant.retriever, assistant.index.stamp()
    more = "The Gazette reports that the city council approved the budget late on Friday."
    build_pg(pg_url, [article("gazette", more, outlet="Gazette")], embedder, 60, 1)
    assert assistant.index.stamp() != stamp
    answer = assistant.ask(BUDGET, scope=gazette)
    assert assistant.retriever is not first
    assert {p.outlet for p in answer.passages} == {"Gazette"} and answer.citations


def test_serve_answers_uploads_and_deletes_in_the_store(
    pg_url: str,
    tmp_path: Path,
    embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    build_pg(pg_url, news(), embedder, 60, 1)
    index = PgIndex(pg_url)
    replies = ScriptedGenerator(REPLY, "The bridge reopens in May [1].")
    client = TestClient(build_api(Assistant(SETTINGS, index, embedder, replies)))
    question = {"model": "smollm2-135m", "messages": [{"role": "user", "content": BUDGET}]}
    done = client.post("/v1/chat/completions", json=question).json()
    assert done["choices"][0]["message"]["content"] == REPLY
    (source,) = done["sources"]
    assert source["title"] == "Council"
    text = index.article(source["article_id"]).text
    for c in source["citations"]:
        assert text[c["start_char_index"] : c["end_char_index"]] == c["cited_text"]

    body = b"Springfield bridge\n\nThe Springfield bridge reopens in May after repairs.\n"
    added = client.post("/v1/articles", files={"file": ("bridge.txt", body, "text/plain")})
    assert added.status_code == 201, added.text
    (info,) = added.json()["data"]
    copy = uploads_dir(uploads_home(pg_url)) / "bridge.txt"
    assert info["source"] == str(copy) and copy.is_file()  # a copy on this machine
    assert copy.is_relative_to(tmp_path / "indexes")
    assert info["id"] in {a.id for a in PgIndex(pg_url).articles()}  # the text in the store
    question["messages"] = [{"role": "user", "content": "When does the Springfield bridge reopen?"}]
    done = client.post("/v1/chat/completions", json=question).json()
    assert done["sources"][0]["article_id"] == info["id"]
    assert client.delete(f"/v1/articles/{info['id']}").status_code == 200
    assert info["id"] not in {a.id for a in PgIndex(pg_url).articles()} and not copy.exists()


def test_the_chat_uploads_into_the_store_and_never_seeds_it(
    pg_url: str, tmp_path: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "a.txt").write_text("Seed\n\nA seed article.\n", encoding="utf-8")
    assert ensure_index(Settings(store=pg_url)) is None
    assert not (tmp_path / "indexes").exists()  # nothing seeded into a folder either
    build_pg(pg_url, news(), embedder, 60, 1)
    h = ChatHandlers(Assistant(SETTINGS, PgIndex(pg_url), embedder, ScriptedGenerator()))
    note = tmp_path / "bridge.md"
    note.write_text("# Bridge\n\nThe Springfield bridge reopens in May.\n", encoding="utf-8")
    rows, _, status = h.upload([str(note)], progress=lambda *a, **k: None)
    assert "Indexed 1 file(s)" in status and "now holds 4 articles" in status
    assert "Bridge" in [a.title for a in PgIndex(pg_url).articles()]
    bridge = next(r for r in rows if r[0] == "Bridge")
    assert Path(bridge[1]).parent == uploads_dir(uploads_home(pg_url))
    assert "Deleted “Bridge”" in h.delete(bridge[4])[2] and not Path(bridge[1]).exists()


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


def test_a_password_in_the_url_never_reaches_stdout_stderr_or_the_eval_json(
    pg_url: str,
    tmp_path: Path,
    models: list[ScriptedGenerator],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = with_password(pg_url)
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "council.txt").write_text(
        'Council\n\nThe city council approved the budget. "Taxes will not rise," said Anna Berg.',
        encoding="utf-8",
    )
    dataset = tmp_path / "set.jsonl"
    row = {"id": "q1", "question": BUDGET, "answers": [["council"]], "support": "the budget"}
    dataset.write_text(json.dumps(row) + "\n", encoding="utf-8")
    report = tmp_path / "report.json"
    commands = [
        ["index", "news", "--store", secret],
        ["list", "--store", secret],
        ["ask", BUDGET, "--store", secret],
        ["quotes", "Berg", "--store", secret],
        ["eval", "--dataset", str(dataset), "--store", secret, "--json", str(report)],
    ]
    shown = ""
    for command in commands:
        assert main(command) == 0, command
        out, err = capsys.readouterr()
        shown += out + err
    assert "approved the budget" in shown and redact(secret) in shown
    saved = report.read_text(encoding="utf-8")
    assert json.loads(saved)["settings"]["store"] == redact(secret)
    assert "hunter2" not in shown + saved
    assert redact(secret) == pg_url.replace("postgres:@", "postgres:***@")
    removed = main(["remove", PgIndex(secret).articles()[0].id, "--store", secret])
    assert removed == 0 and "hunter2" not in "".join(capsys.readouterr())


def test_redacting_a_store_url() -> None:
    assert redact("postgresql://rag:hunter2@db:5432/news") == "postgresql://rag:***@db:5432/news"
    assert redact("postgresql://rag@db/news?password=hunter2&sslmode=require") == (
        "postgresql://rag@db/news?password=***&sslmode=require"
    )
    assert redact("postgresql://rag@db/news") == "postgresql://rag@db/news"
    kept = recorded(Settings(store="postgresql://rag:hunter2@db/news", llm_key="k3y"))
    assert kept["store"] == "postgresql://rag:***@db/news" and "llm_key" not in kept
    assert recorded(Settings())["store"] == ""
