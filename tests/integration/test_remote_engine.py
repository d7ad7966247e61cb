"""`rag ask --llm-url` against llama-cpp-python's own OpenAI-compatible server (`python -m
llama_cpp.server`, the `server` extra) running the tiny smollm2 GGUF on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.models import resolve_model
from tests.integration.servers import free_port, running

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"
QUESTION = "What did Putin say about the treaty?"


def rag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # RAG_MODEL names a preset that is not there: the server must be the only model used.
    env = {**os.environ, "RAG_MODEL": "no-such-model", "RAG_MAX_ANSWER_TOKENS": "48"}
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("sse_starlette", reason="llama-cpp-python's server extra is missing")
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    model = resolve_model("smollm2-135m")
    args = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", "2048"]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    with running(args, f"{url}/models", log, timeout=120):
        yield url


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "seeds").mkdir()
    (work / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    done = rag("index", cwd=work)
    assert done.returncode == 0, done.stderr
    return work


def test_ask_through_the_server_gives_the_usual_json(server: str, workdir: Path) -> None:
    done = rag("ask", "--llm-url", server, "--json", QUESTION, cwd=workdir)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    keys = {"question", "answer", "abstained", "citations", "passages", "timings"}
    assert keys <= data.keys() and data["question"] == QUESTION
    assert isinstance(data["answer"], str) and data["answer"].strip()
    assert isinstance(data["abstained"], bool) and data["passages"]
    assert data["prompt_tokens"] > 0 and data["timings"]["first_token_s"] is not None
    text = SEED.read_text(encoding="utf-8").strip()
    for c in data["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]


def test_the_servers_tokenizer_counts(server: str) -> None:
    from rag.generation import LlamaGenerator
    from rag.remote import RemoteGenerator

    remote = RemoteGenerator(server)
    remote.load()
    assert remote.counter == "/extras/tokenize/count"
    local = LlamaGenerator("smollm2-135m")
    for text in ("Vladimir Putin said the treaty", "[1] (Russia Cautions U.S.) «Quoted» text."):
        assert remote.count_tokens(text) == local.count_tokens(text)


def test_a_server_that_is_down_is_one_line_and_non_zero(workdir: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    done = rag("ask", "--llm-url", url, QUESTION, cwd=workdir)
    assert done.returncode == 1 and not done.stdout
    assert done.stderr.strip() == (
        f"error: the model server at {url} did not answer (connection refused); tried twice"
    )
