"""`rag ask` and `rag eval` refuse bad input before any model loads (no model is loaded here)."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rag.assistant import Assistant
from rag.cli import main
from rag.filters import Scope


class FakeAnswer:
    def __init__(self, question: str, history: list[str]) -> None:
        self.question, self.history = question, history

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "history": self.history, "answer": "ok"}


class FakeAssistant:
    """Records what it was asked; stands in for the model and the index."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[str]]] = []
        self.scopes: list[Scope | None] = []

    def load(self) -> None:
        pass

    def ask(
        self,
        question: str,
        history: list[str] = [],  # noqa: B006
        scope: Scope | None = None,
    ) -> FakeAnswer:
        self.asked.append((question, list(history)))
        self.scopes.append(scope)
        return FakeAnswer(question, list(history))


@pytest.fixture(autouse=True)
def clean_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No rag.toml and no RAG_* variables from the machine running the tests."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the assistant was built; the input should have been refused first")

    monkeypatch.setattr(Assistant, "from_settings", fail)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeAssistant:
    assistant = FakeAssistant()
    monkeypatch.setattr(Assistant, "from_settings", lambda *a, **k: assistant)
    return assistant


def test_a_huge_question_fails_at_once(
    no_model: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.perf_counter()
    assert main(["ask", "why " * 25_000]) == 1
    assert time.perf_counter() - started < 1.0
    err = capsys.readouterr().err
    assert "the question is 100000 characters long; the limit is 2000" in err
    assert err.count("\n") == 1
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "10")
    assert main(["ask", "Who said what?"]) == 1
    assert "the limit is 10" in capsys.readouterr().err


def test_unreadable_batch_files_fail_before_the_model_loads(
    no_model: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"Qui a dit \xe9t\xe9?\n")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n", encoding="utf-8")
    for path, message in [
        (tmp_path / "missing.txt", f"cannot read {tmp_path / 'missing.txt'}: No such file"),
        (tmp_path, f"cannot read {tmp_path}: Is a directory"),
        (latin1, f"cannot read {latin1}: not UTF-8 (byte 10)"),
        (blank, f"no questions in {blank}"),
    ]:
        assert main(["ask", "--batch", str(path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1


def test_stdin_batch_is_checked_too(
    no_model: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfeW\x00h\x00o\x00")))
    assert main(["ask", "--batch", "-"]) == 1
    assert "cannot read -: not UTF-8" in capsys.readouterr().err


def test_batch_lines_are_type_checked_and_numbered(
    fake: FakeAssistant, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        "Who spoke?",
        json.dumps({"question": None}),
        "",
        json.dumps({"question": 5}),
        json.dumps({"question": "Where?", "history": "abc"}),
        json.dumps({"question": "And when?", "history": ["Who spoke?", "Where?"]}),
        "{broken",
        json.dumps({"question": "x" * 2001}),
        json.dumps({"question": "Why?", "history": [1, 2]}),
    ]
    batch = tmp_path / "questions.jsonl"
    batch.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    assert main(["ask", "--batch", str(batch)]) == 1  # some lines failed
    assert fake.asked == [("Who spoke?", []), ("And when?", ["Who spoke?", "Where?"])]
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    errors = [row["error"] for row in rows if "error" in row]
    assert errors == [
        'line 2: not a JSON object with a "question" string',
        'line 4: not a JSON object with a "question" string',
        'line 5: "history" must be a list of strings',
        "line 7: not valid JSON",
        "line 8: the question is 2001 characters long; the limit is 2000 (max_question_chars)",
        'line 9: "history" must be a list of strings',
    ]
    assert len(rows) == 8  # one row per non-blank line, in order
    assert rows[1] == {"question": lines[1], "error": errors[0]}


def test_a_good_batch_from_stdin_exits_zero(
    fake: FakeAssistant, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = b'  Who spoke?  \r\n{"question": "Why?", "history": []}\r\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["ask", "--batch", "-"]) == 0
    assert fake.asked == [("Who spoke?", []), ("Why?", [])]
    assert fake.scopes == [Scope(), Scope()]


def test_a_batch_is_asked_in_the_scope_of_the_flags(
    fake: FakeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Who spoke?\n")))
    assert main(["ask", "--batch", "-", "--source", "Reuters", "--until", "2022-06-30"]) == 0
    assert fake.scopes == [Scope(until="2022-06-30", source="Reuters")]


def test_eval_checks_its_limit_and_questions_before_loading(
    no_model: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "set.jsonl"
    rows = [{"id": "a1", "question": "Who?"}, {"id": "a2", "question": "y" * 3000}]
    dataset.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    for limit in ("0", "-1"):
        assert main(["eval", "--dataset", str(dataset), "--limit", limit]) == 1
        assert "--limit must be at least 1" in capsys.readouterr().err
    assert main(["eval", "--dataset", str(dataset)]) == 1
    assert "question a2: the question is 3000 characters long" in capsys.readouterr().err
    assert main(["eval", "--dataset", str(dataset), "--k", "0"]) == 1
    assert "top_k must be between 1 and 20, got 0 (from --k)" in capsys.readouterr().err


def test_an_eval_report_never_records_the_model_servers_key() -> None:
    from rag.cli_eval import recorded
    from rag.config import Settings

    shown = recorded(Settings(llm_url="http://127.0.0.1:9/v1", llm_key="secret"))
    assert "llm_key" not in shown and "secret" not in str(shown)
    assert shown["llm_url"] == "http://127.0.0.1:9/v1"
