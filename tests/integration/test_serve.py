"""`rag serve` as a real server (MiniLM, llama.cpp with smollm2), asked through the official
`openai` client the way another program would. The server indexes seeds/ itself on start."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.servers import free_port, running
from tests.integration.test_chat_api import SEED

pytestmark = pytest.mark.integration
BOUNDARY = "rag-test-boundary"


def multipart(name: str, data: bytes) -> bytes:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
    return head.encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def test_the_openai_client_asks_rag_serve(tmp_path: Path) -> None:
    from openai import OpenAI

    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "RAG_MAX_ANSWER_TOKENS": "48"}
    log = tmp_path / "serve.log"
    args = [
        sys.executable,
        "-m",
        "rag",
        "serve",
        "--model",
        "smollm2-135m",
        "--port",
        str(port),
        "--index",
        "idx",
    ]  # relative: indexes/idx under cwd
    with running(args, f"http://127.0.0.1:{port}/healthz", log, cwd=tmp_path, env=env):
        client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused", max_retries=0)
        done = client.chat.completions.create(
            model="smollm2-135m",
            messages=[{"role": "user", "content": "What did Zakharova urge Washington to do?"}],
            timeout=300,
        )
        # An upload is indexed and its copy kept beside the index (the index path is relative).
        body = b"Springfield bridge\n\nThe Springfield bridge reopens in May.\n"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/articles", data=multipart("bridge.txt", body),
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=300) as r:
            added = json.load(r)["data"]
    assert [a["title"] for a in added] == ["Springfield bridge"]
    assert (tmp_path / "indexes" / "idx.uploads" / "bridge.txt").is_file()
    assert done.model == "smollm2-135m" and done.choices[0].message.content
    extra = done.model_extra or {}
    assert isinstance(extra["abstained"], bool) and extra["searched_for"]
    assert extra["abstained"] or extra["sources"]
    text = SEED.read_text(encoding="utf-8").strip()
    for source in extra["sources"]:
        assert source["source"].endswith(SEED.name)
        for c in source["citations"]:
            assert text[c["start_char_index"] : c["end_char_index"]] == c["cited_text"]
