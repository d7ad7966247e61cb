"""`rag serve`'s API over a real Assistant and index (fake embedder, scripted model), driven by
the official `openai` client against uvicorn on a loopback port, and by FastAPI's TestClient."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rag.api import build_api
from rag.articles import find_files, load_articles
from rag.assistant import Assistant
from rag.cli import main
from rag.config import Settings
from rag.generation import Message
from rag.index import Index
from rag.store import build_index
from tests.conftest import SEED
from tests.fakes import FakeEmbedder, ScriptedGenerator

SETTINGS = Settings(top_k=3, min_score=0.1, chunk_tokens=60, verify=False, model="smollm2-135m")
QUESTION = "Is the treaty with Iran a mutual defense agreement?"
REPLY = "The treaty is not a mutual defense agreement [1]."
BRIDGE = "Springfield bridge\n\nThe Springfield bridge reopens in May after two years of repairs.\n"


@pytest.fixture
def index(tmp_path: Path, embedder: FakeEmbedder) -> Iterator[Index]:
    """A writable index of the seed article (uploads go beside it)."""
    path = tmp_path / "idx"
    build_index(path, load_articles(find_files([SEED]), print), embedder, 60, 1)
    opened = Index(path)
    yield opened
    opened.close()


def assistant(
    index: Index, embedder: FakeEmbedder, *replies: str, settings: Settings = SETTINGS
) -> Assistant:
    return Assistant(settings, index, embedder, ScriptedGenerator(*replies))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(app: FastAPI) -> Iterator[openai.OpenAI]:
    """Serve the app with uvicorn in a thread; yield an `openai` client pointed at it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
    finally:
        server.should_exit = True
        thread.join(10)


def check_sources(sources: list[dict], index: Index) -> None:
    assert sources
    for s in sources:
        assert {
            "n",
            "article_id",
            "title",
            "source",
            "outlet",
            "url",
            "published",
            "authors",
        } <= set(s)
        text = index.article(s["article_id"]).text
        assert s["citations"]
        for c in s["citations"]:
            assert text[c["start_char_index"] : c["end_char_index"]] == c["cited_text"]


def test_the_openai_client_gets_an_answer_with_cited_verbatim_sources(
    index: Index, embedder: FakeEmbedder
) -> None:
    with running(build_api(assistant(index, embedder, REPLY))) as client:
        done = client.chat.completions.create(
            model="smollm2-135m", messages=[{"role": "user", "content": QUESTION}]
        )
        models = client.models.list()
    assert done.model == "smollm2-135m" and [m.id for m in models.data] == ["smollm2-135m"]
    assert done.choices[0].finish_reason == "stop"
    assert done.choices[0].message.content == REPLY  # the [n] markers are kept
    assert done.usage is not None and done.usage.prompt_tokens > 0
    extra = done.model_extra or {}
    assert extra["abstained"] is False and extra["searched_for"] == QUESTION
    check_sources(extra["sources"], index)
    assert [s["n"] for s in extra["sources"]] == [1]


def test_a_streamed_answer_arrives_in_openai_chunks_with_sources_at_the_end(
    index: Index, embedder: FakeEmbedder
) -> None:
    with running(build_api(assistant(index, embedder, REPLY))) as client:
        chunks = list(
            client.chat.completions.create(
                model="smollm2-135m", messages=[{"role": "user", "content": QUESTION}], stream=True
            )
        )
    assert all(c.choices for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.strip() == REPLY and len(chunks) > 3  # piece by piece
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)
    extra = last.model_extra or {}
    check_sources(extra["sources"], index)
    assert extra["verification"] == "" and "answer" not in extra  # nothing was changed


def test_no_frame_is_sent_without_choices(index: Index, embedder: FakeEmbedder) -> None:
    client = TestClient(build_api(assistant(index, embedder, REPLY)))
    body = {
        "model": "smollm2-135m",
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert frames[-1] == "[DONE]"
    for frame in frames[:-1]:
        data = json.loads(frame)
        assert data["object"] == "chat.completion.chunk" and len(data["choices"]) == 1


def test_a_changed_answer_is_sent_checked_in_the_last_chunk(
    index: Index, embedder: FakeEmbedder
) -> None:
    """The model hedged; the checks turned it into the refusal, as `rag ask` prints after it."""
    checked = SETTINGS.replace(verify=True)
    app = build_api(
        assistant(index, embedder, "I cannot answer that from the articles.", settings=checked)
    )
    with running(app) as client:
        chunks = list(
            client.chat.completions.create(
                model="smollm2-135m", messages=[{"role": "user", "content": QUESTION}], stream=True
            )
        )
    extra = chunks[-1].model_extra or {}
    assert extra["abstained"] is True and extra["sources"] == []
    assert extra["verification"] and extra["answer"] == "The articles don't say."
    assert "".join(c.choices[0].delta.content or "" for c in chunks).startswith("I cannot")


class OneAtATime(ScriptedGenerator):
    """Slow pieces, and a note of any answer that started while another was under way."""

    def __init__(self) -> None:
        super().__init__()
        self.busy, self.overlaps, self.answers = threading.Lock(), 0, 0

    def stream(self, messages: list[Message]) -> Iterator[str]:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            self.answers += 1
            for piece in [
                f"Answer {self.answers}: ",
                "the treaty ",
                "is not ",
                "a mutual defense agreement [1].",
            ]:
                time.sleep(0.01)
                yield piece
        finally:
            self.busy.release()


def test_concurrent_requests_are_answered_one_at_a_time(
    index: Index, embedder: FakeEmbedder
) -> None:
    gen = OneAtATime()
    app = build_api(Assistant(SETTINGS, index, embedder, gen))

    def ask(i: int) -> str:
        question = [{"role": "user", "content": QUESTION}]
        if i % 2:
            done = client.chat.completions.create(model="smollm2-135m", messages=question)
            return done.choices[0].message.content or ""
        chunks = client.chat.completions.create(
            model="smollm2-135m", messages=question, stream=True
        )
        return "".join(c.choices[0].delta.content or "" for c in chunks)

    with running(app) as client, ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(ask, range(8)))
    assert gen.overlaps == 0 and gen.answers == 8
    # Each reply is one whole answer: no pieces of another one in it.
    assert sorted(int(t.split(":")[0].removeprefix("Answer ")) for t in texts) == list(range(1, 9))
    assert all(t.strip().endswith("is not a mutual defense agreement [1].") for t in texts)


class Broken(ScriptedGenerator):
    def stream(self, messages: list[Message]) -> Iterator[str]:
        yield "The treaty "
        raise RuntimeError("the model crashed")


def test_an_error_mid_stream_reaches_the_client_as_an_error(
    index: Index, embedder: FakeEmbedder
) -> None:
    api = Assistant(SETTINGS, index, embedder, Broken())
    with running(build_api(api)) as client:
        stream = client.chat.completions.create(
            model="smollm2-135m", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        seen = []
        with pytest.raises(openai.APIError, match="answering failed"):
            for chunk in stream:
                seen.append(chunk.choices[0].delta.content)
        assert "The treaty " in seen
    # The answer lock was let go by the thread that took it: index changes are not stuck.
    assert api.lock.acquire(blocking=False)
    api.lock.release()


class Slow(ScriptedGenerator):
    def __init__(self) -> None:
        super().__init__()
        self.pieces = 0

    def stream(self, messages: list[Message]) -> Iterator[str]:
        for _ in range(500):
            time.sleep(0.01)
            self.pieces += 1
            yield "treaty "


def test_a_client_that_hangs_up_stops_its_answer(index: Index, embedder: FakeEmbedder) -> None:
    gen = Slow()
    api = Assistant(SETTINGS, index, embedder, gen)
    with running(build_api(api)) as client:
        stream = client.chat.completions.create(
            model="smollm2-135m", messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        next(iter(stream))
        stream.close()
        deadline = time.monotonic() + 5
        while not api.lock.acquire(blocking=False):
            assert time.monotonic() < deadline, "the answer went on for nobody"
            time.sleep(0.05)
        api.lock.release()
    assert gen.pieces < 500


def test_earlier_user_messages_are_the_follow_up_history(
    index: Index, embedder: FakeEmbedder
) -> None:
    gen = ScriptedGenerator(REPLY, "In St. Petersburg [1].")
    app = build_api(Assistant(SETTINGS, index, embedder, gen))
    with running(app) as client:
        done = client.chat.completions.create(
            model="smollm2-135m",
            messages=[
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "What did Putin say about the treaty?"},
                {"role": "assistant", "content": REPLY},
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "Did Iran ask him for help?"}],
                },
            ],
        )
    assert (done.model_extra or {})["searched_for"] == "Did Iran ask Putin for help?"
    assert "Question: Did Iran ask Putin for help?" in gen.prompts[-1][-1].content


def test_upload_then_ask_then_delete(index: Index, embedder: FakeEmbedder, tmp_path: Path) -> None:
    api = assistant(index, embedder, "The bridge reopens in May [1].")
    client = TestClient(build_api(api))
    files = {"file": ("bridge.md", BRIDGE.encode(), "text/markdown")}
    done = client.post("/v1/articles", files=files)
    assert done.status_code == 201, done.text
    added = done.json()["data"]
    assert [a["title"] for a in added] == ["Springfield bridge"] and done.json()["articles"] == 2
    article_id = added[0]["id"]
    assert (tmp_path / "idx.uploads" / "bridge.md").is_file()
    listed = client.get("/v1/articles").json()["data"]
    assert article_id in {a["id"] for a in listed}

    question = {
        "model": "smollm2-135m",
        "messages": [{"role": "user", "content": "When does the Springfield bridge reopen?"}],
    }
    answer = client.post("/v1/chat/completions", json=question).json()
    assert answer["sources"][0]["article_id"] == article_id
    check_sources(answer["sources"], api.index)

    gone = client.delete(f"/v1/articles/{article_id}")
    assert gone.status_code == 200 and gone.json() == {
        "id": article_id,
        "object": "article",
        "deleted": True,
    }
    assert article_id not in {a["id"] for a in client.get("/v1/articles").json()["data"]}
    assert not (tmp_path / "idx.uploads" / "bridge.md").exists()
    missing = client.delete(f"/v1/articles/{article_id}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "article_not_found"


def error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert set(body) >= {"message", "type", "code"} and body["message"]
    return body


def test_bad_requests_are_400_in_openai_error_shape(index: Index, embedder: FakeEmbedder) -> None:
    client = TestClient(build_api(assistant(index, embedder)))
    url = "/v1/chat/completions"
    error(client.post(url, content=b"{not json", headers={"content-type": "application/json"}), 400)
    error(client.post(url, json={"model": "smollm2-135m"}), 400)
    error(client.post(url, json={"messages": []}), 400)
    last = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "Yes."}]
    assert "last message" in error(client.post(url, json={"messages": last}), 400)["message"]
    assert (
        "empty"
        in error(client.post(url, json={"messages": [{"role": "user", "content": " "}]}), 400)[
            "message"
        ]
    )
    long = [{"role": "user", "content": "treaty " * 400}]
    assert error(client.post(url, json={"messages": long}), 400)["code"] == "question_too_long"
    hot = {"messages": [{"role": "user", "content": QUESTION}], "temperature": 5}
    error(client.post(url, json=hot), 400)
    dated = {"messages": [{"role": "user", "content": QUESTION}], "since": "June"}
    error(client.post(url, json=dated), 400)
    other = {"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]}
    assert error(client.post(url, json=other), 404)["code"] == "model_not_found"
    error(client.get("/v1/nothing-here"), 404)
    error(client.post("/v1/articles", files={"other": ("a.txt", b"text")}), 400)
    refused = error(client.post("/v1/articles", files={"file": ("a.pdf", b"%PDF-1.4")}), 400)
    assert "not a .txt, .md or .html" in refused["message"]


def test_a_file_over_the_upload_limit_is_413(index: Index, embedder: FakeEmbedder) -> None:
    small = SETTINGS.replace(max_file_mb=0.01)
    client = TestClient(build_api(assistant(index, embedder, settings=small)))
    big = ("Springfield bridge. " * 1000).encode()  # 20 kB
    body = error(client.post("/v1/articles", files={"file": ("big.txt", big)}), 413)
    assert "over the 0.01 MB limit" in body["message"]
    assert len(client.get("/v1/articles").json()["data"]) == 1


def test_answers_are_503_while_the_model_loads(index: Index, embedder: FakeEmbedder) -> None:
    ready = threading.Event()
    client = TestClient(build_api(assistant(index, embedder, REPLY), ready=ready))
    question = {"messages": [{"role": "user", "content": QUESTION}]}
    response = client.post("/v1/chat/completions", json=question)
    assert error(response, 503)["code"] == "model_loading" and response.headers["retry-after"]
    assert client.get("/healthz").status_code == 503
    ready.set()
    assert client.post("/v1/chat/completions", json=question).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok", "model": "smollm2-135m"}


def test_the_api_key_is_checked_everywhere_but_healthz(
    index: Index, embedder: FakeEmbedder
) -> None:
    client = TestClient(build_api(assistant(index, embedder, REPLY), api_key="s3cret"))
    assert error(client.get("/v1/models"), 401)["code"] == "invalid_api_key"
    error(client.get("/v1/articles", headers={"Authorization": "Bearer wrong"}), 401)
    error(client.get("/docs"), 401)
    assert client.get("/healthz").status_code == 200
    good = {"Authorization": "Bearer s3cret"}
    assert client.get("/v1/models", headers=good).status_code == 200
    assert client.get("/docs", headers=good).status_code == 200
    assert "/v1/chat/completions" in client.get("/openapi.json", headers=good).json()["paths"]


def test_the_openai_client_sends_the_key(index: Index, embedder: FakeEmbedder) -> None:
    with running(build_api(assistant(index, embedder, REPLY), api_key="s3cret")) as client:
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        keyed = client.with_options(api_key="s3cret")
        done = keyed.chat.completions.create(
            model="smollm2-135m", messages=[{"role": "user", "content": QUESTION}]
        )
    assert done.choices[0].message.content == REPLY


def test_with_a_remote_engine_the_model_is_named_by_it(
    index: Index, embedder: FakeEmbedder
) -> None:
    remote = SETTINGS.replace(llm_url="http://127.0.0.1:9/v1", llm_model="qwen-on-gpu")
    client = TestClient(build_api(assistant(index, embedder, REPLY, settings=remote)))
    assert client.get("/v1/models").json()["data"][0]["id"] == "qwen-on-gpu"
    question = {"model": "qwen-on-gpu", "messages": [{"role": "user", "content": QUESTION}]}
    assert client.post("/v1/chat/completions", json=question).json()["model"] == "qwen-on-gpu"


def test_serving_off_localhost_needs_an_api_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--index", "/nonexistent/idx"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "error: --host 0.0.0.0 is reachable from other machines; add --api-key KEY"


def test_serving_a_remote_engine_that_does_not_answer_is_one_line(
    index: Index,
    embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rag import api
    from rag.errors import RagError

    url = "http://127.0.0.1:9/v1"
    down = assistant(index, embedder, settings=SETTINGS.replace(llm_url=url, index=str(index.path)))

    def refuse() -> None:
        raise RagError(f"the model server at {url} did not answer (connection refused)")

    down.generator.load = refuse  # type: ignore[method-assign]
    monkeypatch.setattr(api.Assistant, "from_settings", lambda settings: down)
    with pytest.raises(RagError) as failed:
        api.serve(down.settings, "127.0.0.1", free_port(), None)
    # Nothing is loaded for a remote engine, and its own error names the server once.
    assert f"connecting to {url}…" in capsys.readouterr().err
    assert str(failed.value) == f"the model server at {url} did not answer (connection refused)"
