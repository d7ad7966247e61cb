"""Outlet and date scopes, "latest" questions and the "As of" date: the rules in `filters`, then
through the real retriever, assistant, CLI and chat handlers (fake embedder, scripted model,
real FAISS and SQLite)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rag import retrieval
from rag.articles import find_files, load_articles
from rag.assistant import Assistant
from rag.chat import ChatHandlers
from rag.cli import main
from rag.config import Settings
from rag.errors import RagError
from rag.filters import (
    Scope,
    is_latest,
    long_date,
    make_scope,
    source_matches,
    with_as_of,
)
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder, ScriptedGenerator

SETTINGS = Settings(top_k=4, min_score=0.1, verify=False)
# One story over three weeks from two outlets, one undated piece, and a newer unrelated one.
ARTICLES = {
    "a.txt": ("Bridge to open in May", "2022-06-01", "Reuters", "https://www.reuters.com/a",
              "The Springfield bridge will open in May, the mayor said on Monday."),
    "b.txt": ("Bridge opening delayed", "2022-06-10", "Associated Press", "https://apnews.com/b",
              "The Springfield bridge opening is delayed to July after inspectors found cracks."),
    "c.txt": ("Bridge opens", "2022-06-20", "", "https://www.reuters.com/c",
              "The Springfield bridge opened to traffic on Saturday after the repairs."),
    "d.txt": ("Bridge tolls", "", "Gazette", "",
              "Tolls on the Springfield bridge will be free for its first year."),
    "e.txt": ("Cheese festival", "2022-07-01", "Gazette", "",
              "The cheese festival returns to the market square with forty stalls."),
}  # fmt: skip
QUESTION = "When does the Springfield bridge open?"
LATEST = "What is the latest on the Springfield bridge opening?"


def front_matter(title: str, date: str, outlet: str, url: str, body: str) -> str:
    fields = [("title", title), ("date", date), ("source", outlet), ("url", url)]
    lines = [f"{k}: {v}" for k, v in fields if v]
    return "---\n" + "\n".join(lines) + f"\n---\n{body}\n"


@pytest.fixture
def news(tmp_path: Path, embedder: FakeEmbedder) -> Index:
    folder = tmp_path / "news"
    folder.mkdir()
    for name, fields in ARTICLES.items():
        (folder / name).write_text(front_matter(*fields), encoding="utf-8")
    path = tmp_path / "idx"
    build_index(path, load_articles(find_files([folder]), print), embedder, 60, 1)
    index = Index(path)
    yield index
    index.close()


def titles(passages: list[Any]) -> list[str]:
    return [p.title for p in passages]


# --- the rules ------------------------------------------------------------------------------


def test_dates_are_checked_and_a_range_must_not_be_empty() -> None:
    assert make_scope("2022-06-01", "", "") == Scope(since="2022-06-01")
    assert not make_scope().active and make_scope(" ", None, None) == Scope()
    for bad in ("2022-13-01", "2022-6-1", "June 2022", "2022-02-30"):
        with pytest.raises(RagError, match=f"--since must be a date YYYY-MM-DD, got '{bad}'"):
            make_scope(since=bad)
    with pytest.raises(RagError, match="--since 2022-07-01 is after --until 2022-06-01"):
        make_scope("2022-07-01", "2022-06-01")


def test_scope_admits_by_date_inclusive_and_leaves_out_undated() -> None:
    june = Scope(since="2022-06-01", until="2022-06-30")
    assert june.admits("", "", "2022-06-01") and june.admits("", "", "2022-06-30")
    assert not june.admits("", "", "2022-05-31") and not june.admits("", "", "2022-07-01")
    assert not june.admits("Reuters", "", "")  # no date: cannot be placed in the range
    assert Scope(source="reuters").admits("Reuters", "", "")  # no date filter: undated is fine


def test_source_matches_the_outlet_or_the_domain_in_any_case() -> None:
    assert source_matches("reuters", "Reuters", "")
    assert source_matches("guardian", "The Guardian", "")
    assert source_matches("REUTERS.COM", "", "https://www.reuters.com/world/x")
    assert source_matches("reuters", "", "https://www.reuters.com/world/x")
    assert source_matches("bbc", "BBC News", "https://www.bbc.co.uk/news/x")
    assert source_matches("bbc.co.uk", "", "https://www.bbc.co.uk/news/x")
    assert not source_matches("co", "", "https://www.bbc.co.uk/news/x")
    assert not source_matches("reuters", "Associated Press", "https://apnews.com/x")
    assert not source_matches("ap", "", "")


def test_latest_questions_and_the_as_of_line() -> None:
    for q in (LATEST, "What is the most recent news?", "Who leads it now?", "Is it open today?"):
        assert is_latest(q)
    assert not is_latest(QUESTION) and not is_latest("What did Putin say about the treaty?")
    assert long_date("2022-06-12") == "June 12, 2022"
    assert (
        with_as_of("It opened [1].", "2022-06-12", LATEST) == "As of June 12, 2022: It opened [1]."
    )
    assert with_as_of("It opened [1].", "2022-06-12", QUESTION) == "It opened [1]."
    assert with_as_of("It opened.", "", LATEST) == "It opened."


# --- retrieval --------------------------------------------------------------------------------


def test_retrieval_returns_only_articles_in_scope(news: Index, embedder: FakeEmbedder) -> None:
    a = Assistant(SETTINGS, news, embedder, ScriptedGenerator())
    r = a.retriever
    every = r.retrieve(QUESTION, 4, 0.1, 900)
    assert "Bridge tolls" in titles(every)  # the undated one, when no date is asked for
    since = r.retrieve(QUESTION, 4, 0.1, 900, scope=Scope(since="2022-06-05"))
    assert sorted(titles(since)) == ["Bridge opening delayed", "Bridge opens"]
    until = r.retrieve(QUESTION, 4, 0.1, 900, scope=Scope(until="2022-06-10"))
    assert sorted(titles(until)) == ["Bridge opening delayed", "Bridge to open in May"]
    # "reuters" is one article's outlet and the other's url domain.
    reuters = r.retrieve(QUESTION, 4, 0.1, 900, scope=Scope(source="REUTERS"))
    assert sorted(titles(reuters)) == ["Bridge opens", "Bridge to open in May"]
    both = Scope(since="2022-06-05", source="reuters")
    assert titles(r.retrieve(QUESTION, 4, 0.1, 900, scope=both)) == ["Bridge opens"]


@pytest.mark.parametrize("exact_within", [4096, 0])  # vectors compared one by one, or by FAISS
def test_a_scope_keeps_enough_candidates_when_most_of_the_index_is_outside(
    tmp_path: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch, exact_within: int
) -> None:
    """Forty other bridge stories outrank the one in scope; it is still found."""
    monkeypatch.setattr(retrieval, "EXACT_WITHIN", exact_within)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(40):
        body = f"The Springfield bridge story number {i} about the bridge opening and the bridge."
        (folder / f"{i:02d}.txt").write_text(
            front_matter(f"Story {i}", "2022-05-01", "Gazette", "", body), encoding="utf-8"
        )
    (folder / "x.txt").write_text(front_matter(*ARTICLES["c.txt"]), encoding="utf-8")
    build_index(tmp_path / "idx", load_articles(find_files([folder]), print), embedder, 60, 1)
    index = Index(tmp_path / "idx")
    r = Assistant(SETTINGS, index, embedder, ScriptedGenerator()).retriever
    assert "Bridge opens" not in titles(r.retrieve(QUESTION, 4, 0.1, 900))
    assert titles(r.retrieve(QUESTION, 4, 0.1, 900, scope=Scope(source="reuters"))) == [
        "Bridge opens"
    ]
    index.close()


def test_latest_questions_put_the_newest_relevant_articles_first(
    news: Index, embedder: FakeEmbedder
) -> None:
    r = Assistant(SETTINGS, news, embedder, ScriptedGenerator()).retriever
    newest = r.retrieve(LATEST, 4, 0.1, 900, newest_first=True)
    assert [p.published for p in newest] == ["2022-06-20", "2022-06-10", "2022-06-01", ""]
    # The newer cheese festival is not relevant, so it does not come in at all.
    assert "Cheese festival" not in titles(newest)
    by_relevance = r.retrieve(LATEST, 4, 0.1, 900)
    assert sorted(titles(by_relevance)) == sorted(titles(newest))


# --- answers -------------------------------------------------------------------------------


def test_nothing_in_scope_says_so_without_asking_the_model(
    news: Index, embedder: FakeEmbedder
) -> None:
    model = ScriptedGenerator("should not be used [1].")
    a = Assistant(SETTINGS, news, embedder, model)
    answer = a.ask(QUESTION, scope=make_scope("2023-01-01", "2023-01-31", "Reuters"))
    assert (
        answer.answer
        == "No dated articles from Reuters between 2023-01-01 and 2023-01-31 in the index."
    )
    assert answer.abstained and not answer.passages and not model.prompts
    assert a.ask(QUESTION, scope=Scope(source="bbc")).answer == "No articles from bbc in the index."


def test_as_of_is_the_newest_cited_date(news: Index, embedder: FakeEmbedder) -> None:
    model = ScriptedGenerator(
        "The Springfield bridge opened to traffic on Saturday [1]. It was delayed to July [2]."
    )
    answer = Assistant(SETTINGS, news, embedder, model).ask(LATEST)
    assert {c.published for c in answer.citations} == {"2022-06-20", "2022-06-10"}
    assert answer.as_of == "2022-06-20"
    assert answer.to_dict()["as_of"] == "2022-06-20"
    assert (
        "As of" not in answer.answer
    )  # the model's text is left alone; the date is added when shown


# --- the CLI and the chat --------------------------------------------------------------------


@pytest.fixture
def clean(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)


def test_bad_dates_fail_before_anything_loads(
    clean: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the assistant was built; the date should have been refused first")

    monkeypatch.setattr(Assistant, "from_settings", fail)
    assert main(["ask", "--since", "2022-13-01", QUESTION]) == 1
    assert capsys.readouterr().err == (
        "error: --since must be a date YYYY-MM-DD, got '2022-13-01'\n"
    )
    assert main(["ask", "--since", "2022-07-01", "--until", "2022-06-01", QUESTION]) == 1
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["chat", "--until", "yesterday"]) == 1
    assert "--until must be a date" in capsys.readouterr().err


def cli_with(
    monkeypatch: pytest.MonkeyPatch, news: Index, embedder: FakeEmbedder, *replies: str
) -> None:
    assistant = Assistant(SETTINGS, news, embedder, ScriptedGenerator(*replies))
    monkeypatch.setattr(Assistant, "load", lambda self: None)
    monkeypatch.setattr(Assistant, "from_settings", lambda *a, **k: assistant)


def test_cli_prints_as_of_before_a_latest_answer_and_in_json(
    clean: None,
    news: Index,
    embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reply = "The Springfield bridge opened to traffic on Saturday [1]."
    cli_with(monkeypatch, news, embedder, reply, reply, reply)
    assert main(["ask", LATEST]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"As of June 20, 2022: {reply}\n")
    assert "[1] Bridge opens — reuters.com, 2022-06-20:" in out
    assert main(["ask", "--json", LATEST]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2022-06-20"
    assert main(["ask", QUESTION]) == 0  # not a latest question: no date line
    assert not capsys.readouterr().out.startswith("As of")


def test_cli_scope_flags_reach_retrieval_and_an_empty_scope_says_so(
    clean: None,
    news: Index,
    embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli_with(monkeypatch, news, embedder, "It is delayed to July [1].")
    assert main(["ask", "--json", "--source", "associated press", QUESTION]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {p["outlet"] for p in data["passages"]} == {"Associated Press"}
    assert main(["ask", "--source", "Reuters", "--since", "2023-01-01", QUESTION]) == 0
    out = capsys.readouterr().out
    assert out == "No dated articles from Reuters since 2023-01-01 in the index.\n"


def test_chat_settings_hold_a_scope_per_session_and_show_as_of(
    news: Index, embedder: FakeEmbedder
) -> None:
    reply = "The Springfield bridge opened to traffic on Saturday [1]."
    h = ChatHandlers(Assistant(SETTINGS, news, embedder, ScriptedGenerator(reply)))
    assert h.outlets() == ["any", "Associated Press", "Gazette", "Reuters", "reuters.com"]
    status, prefs = h.apply_settings(None, 4, 0.0, None, "2022-06-15", "", "any")
    assert prefs["scope"] == Scope(since="2022-06-15")
    assert status.endswith("only articles since 2022-06-15.")
    *_, (messages, _, turns, _) = h.ask(LATEST, [], prefs)
    assert turns[-1].answer.answer.startswith("As of June 20, 2022: ")
    assert "As of June 20, 2022" in messages[-1]["content"]
    *_, (_, _, turns, _) = h.ask(QUESTION, [], {**prefs, "scope": Scope(source="BBC")})
    assert turns[-1].answer.answer == "No articles from BBC in the index."
    # A bad date changes nothing; "any" with empty dates is the default again.
    status, kept = h.apply_settings(None, 4, 0.0, prefs, "June", "", "any")
    assert (
        status == "Not applied: \"Since\" must be a date YYYY-MM-DD, got 'June'" and kept == prefs
    )
    assert h.apply_settings(None, 3, 0.0, prefs, "", "", "any")[1] == {
        "top_k": 3,
        "temperature": 0.0,
    }
