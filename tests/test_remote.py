"""RemoteGenerator against a tiny OpenAI-compatible server on loopback (http.server in a thread):
streaming, token counting with and without a tokenize endpoint, and the one-line errors."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rag.assistant import Assistant
from rag.chat import ChatHandlers
from rag.chunking import count_tokens
from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.generation import LlamaGenerator, Message, make_generator
from rag.remote import ESTIMATE, RemoteGenerator
from rag.store import Index
from tests.fakes import FakeEmbedder

SETTINGS = Settings(top_k=3, min_score=0.1, chunk_tokens=60, unsupported="keep")
QUESTION = "What did Putin say about the treaty?"
PROMPT = [Message("system", "Answer from the passages."), Message("user", "Who spoke?")]


class FakeServer(ThreadingHTTPServer):
    """What a llama.cpp-style server does, scripted: `tokenizer` is "extras"
    (llama-cpp-python), "llama" (llama-server) or None; `drop` closes that many chat requests
    without a reply; `delay` stalls each chat reply; `status` fails it."""

    daemon_threads = True

    def __init__(self, reply: str = "Putin spoke [1].", tokenizer: str | None = "extras") -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.reply = reply
        self.tokenizer = tokenizer
        self.drop = 0
        self.delay = 0.0
        self.status = 200
        self.usage = True
        self.chats: list[dict[str, Any]] = []  # the body of every chat request
        self.headers: list[str] = []  # the Authorization header of every request

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up waiting (the timeout test) leaves a broken pipe

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, *args: Any) -> None:
        pass

    def _json(self, payload: Any, status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.headers.append(self.headers.get("Authorization", ""))
        if self.path == "/v1/models":
            self._json({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})
        else:
            self._json({"error": {"message": "not found"}}, 404)

    def do_POST(self) -> None:
        self.server.headers.append(self.headers.get("Authorization", ""))
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        words = len(str(body.get("input", body.get("content", ""))).split())
        if self.path == "/extras/tokenize/count" and self.server.tokenizer == "extras":
            self._json({"count": words + 1})  # llama-cpp-python adds a BOS
        elif self.path == "/tokenize" and self.server.tokenizer == "llama":
            self._json({"tokens": list(range(words))})
        elif self.path == "/v1/chat/completions":
            self._chat(body)
        else:
            self._json({"detail": "Not Found"}, 404)

    def _chat(self, body: dict[str, Any]) -> None:
        server = self.server
        server.chats.append(body)
        if server.drop:
            server.drop -= 1
            self.close_connection = True
            return  # no status line at all: the client sees the connection close
        time.sleep(server.delay)
        if server.status != 200:
            self._json({"error": {"message": "boom\nat line 2"}}, server.status)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = server.reply.split(" ")
        for i, word in enumerate(pieces):
            delta = {"content": word + (" " if i < len(pieces) - 1 else "")}
            chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        if server.usage:
            usage = {"prompt_tokens": 42, "completion_tokens": len(pieces)}
            self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def server() -> Iterator[FakeServer]:
    srv = FakeServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def dead_url() -> str:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_streams_pieces_and_takes_the_servers_usage(server: FakeServer) -> None:
    gen = RemoteGenerator(server.url + "/", max_tokens=50, temperature=0.3)
    gen.load()
    assert gen.model == "fake-model"  # none given: the first the server lists
    pieces = list(gen.stream(PROMPT))
    assert pieces == ["Putin ", "spoke ", "[1]."]
    sent = server.chats[0]
    assert sent["stream"] is True and sent["model"] == "fake-model"
    assert sent["temperature"] == 0.3 and sent["max_tokens"] == 50
    assert sent["messages"] == [{"role": m.role, "content": m.content} for m in PROMPT]
    assert (gen.usage.prompt_tokens, gen.usage.completion_tokens) == (42, 3)


def test_a_given_model_name_and_key_are_sent(server: FakeServer) -> None:
    gen = RemoteGenerator(server.url, model="qwen", key="s3cret")
    gen.load()
    list(gen.stream(PROMPT))
    assert gen.model == "qwen" and server.chats[0]["model"] == "qwen"
    assert set(server.headers) == {"Bearer s3cret"}


def test_tokens_are_counted_by_llama_cpp_pythons_endpoint_without_its_bos(
    server: FakeServer,
) -> None:
    gen = RemoteGenerator(server.url)
    assert gen.count_tokens("one two three") == 3
    assert gen.counter == "/extras/tokenize/count"


def test_tokens_are_counted_by_llama_servers_endpoint(server: FakeServer) -> None:
    server.tokenizer = "llama"
    gen = RemoteGenerator(server.url)
    assert gen.count_tokens("one two three four") == 4
    assert gen.counter == "/tokenize"


def test_without_a_tokenize_endpoint_tokens_are_estimated(server: FakeServer) -> None:
    server.tokenizer, server.usage = None, False
    gen = RemoteGenerator(server.url)
    gen.load()
    assert gen.counter == ESTIMATE
    assert gen.count_tokens("Vladimir Putin said the treaty") == count_tokens(
        "Vladimir Putin said the treaty"
    )  # cl100k
    list(gen.stream(PROMPT))
    # No usage from the server: what was sent and received, estimated.
    assert gen.usage.completion_tokens == gen.count_tokens("Putin spoke [1].")
    assert gen.usage.prompt_tokens > 0


def test_a_dropped_connection_is_retried_once(server: FakeServer) -> None:
    server.drop = 1
    assert "".join(RemoteGenerator(server.url).stream(PROMPT)) == "Putin spoke [1]."
    assert len(server.chats) == 2


def test_connection_refused_is_one_line_after_one_retry() -> None:
    url = dead_url()
    gen = RemoteGenerator(url)
    for call in (gen.load, lambda: list(gen.stream(PROMPT))):
        with pytest.raises(RagError) as caught:
            call()
        message = str(caught.value)
        assert (
            message == f"the model server at {url} did not answer (connection refused); tried twice"
        )
    assert gen.count_tokens("one two") == 2  # counting falls back to the estimate


def test_a_timeout_is_one_line_after_one_retry(server: FakeServer) -> None:
    server.delay = 1.0
    gen = RemoteGenerator(server.url, timeout=0.2)
    with pytest.raises(RagError, match=r"did not answer \(no reply within 0.2 s\); tried twice"):
        list(gen.stream(PROMPT))
    assert len(server.chats) == 2


def test_an_http_error_is_one_line_without_retry(server: FakeServer) -> None:
    server.status = 500
    with pytest.raises(RagError) as caught:
        list(RemoteGenerator(server.url).stream(PROMPT))
    message = str(caught.value)
    assert "\n" not in message and len(server.chats) == 1
    assert message == (
        f"the model server at {server.url} answered 500 Internal Server Error: boom at line 2"
    )
    server.status = 401
    with pytest.raises(RagError, match="answered 401 Unauthorized: .*; check --llm-key"):
        list(RemoteGenerator(server.url).stream(PROMPT))
    without_v1 = server.url.removesuffix("/v1")
    with pytest.raises(RagError, match="answered 404 Not Found: not found; .* under /v1"):
        RemoteGenerator(without_v1).load()


def test_settings_pick_the_engine() -> None:
    s = load_settings(env={"RAG_LLM_URL": "http://127.0.0.1:9/v1", "RAG_LLM_KEY": "k"})
    assert (s.llm_url, s.llm_key) == ("http://127.0.0.1:9/v1", "k")
    assert "'k'" not in repr(s)  # the key stays out of logs
    assert load_settings(env={"RAG_LLM_URL": "http://a:1/v1"}, llm_url="http://b:2/v1").llm_url == (
        "http://b:2/v1"
    )
    with pytest.raises(RagError, match=r"llm_url must be an http:// or https:// URL.*--llm-url"):
        load_settings(env={}, llm_url="localhost:8080")
    gen = make_generator("smollm2-135m", 2048, 200, 0.0, 0, llm_url=s.llm_url, llm_model="m")
    assert isinstance(gen, RemoteGenerator) and gen.model == "m"
    assert isinstance(make_generator("smollm2-135m", 2048, 200, 0.0, 0), LlamaGenerator)


def test_the_assistant_answers_through_the_server(
    server: FakeServer, seed_index: Index, embedder: FakeEmbedder
) -> None:
    server.reply = "Putin said the treaty is not a mutual defense agreement [1]."
    settings = SETTINGS.replace(llm_url=server.url)
    assistant = Assistant(settings, seed_index, embedder, RemoteGenerator(server.url))
    assistant.load()
    answer = assistant.ask(QUESTION, temperature=0.5)
    assert not answer.abstained and answer.citations
    assert server.chats[0]["temperature"] == 0.5
    assert (
        "Question: What did Putin say about the treaty?"
        in (server.chats[0]["messages"][-1]["content"])
    )
    assert answer.prompt_tokens == 42
    with pytest.raises(RagError, match="chooses the model"):
        assistant.configure(model="smollm2-135m")


def test_the_chat_says_so_and_keeps_the_question(seed_index: Index, embedder: FakeEmbedder) -> None:
    url = dead_url()
    handlers = ChatHandlers(Assistant(SETTINGS, seed_index, embedder, RemoteGenerator(url)))
    *_, (messages, _, turns, _) = handlers.ask(QUESTION, [], None)
    said = messages[-1]["content"]
    assert f"Sorry: the model server at {url} did not answer" in said and "tried twice" in said
    assert "Traceback" not in said
    assert turns[-1].question == QUESTION and turns[-1].answer is None
