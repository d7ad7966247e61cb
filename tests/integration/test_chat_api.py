"""`rag chat` as a real server (MiniLM, llama.cpp with smollm2), driven through gradio_client the
way another program would use its named endpoints. The chat indexes seeds/ itself on start."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.servers import free_port, running

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"
QUESTION = "What did Putin say about the treaty?"


def text_of(message: dict[str, Any]) -> str:
    """Gradio 6 sends a message's content as a list of typed parts."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


@contextlib.contextmanager
def chat_server(work: Path, **env: str) -> Iterator[str]:
    """Start `rag chat` on a free port in `work` (which holds seeds/); yield its URL."""
    if not (work / "seeds").is_dir():
        (work / "seeds").mkdir()
        (work / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {
        **os.environ, "RAG_MODEL": "smollm2-135m", "RAG_MAX_ANSWER_TOKENS": "48",
        "GRADIO_ANALYTICS_ENABLED": "False", **env,
    }  # fmt: skip
    args = [sys.executable, "-m", "rag", "chat", "--port", str(port), "--index", str(work / "idx")]
    with running(args, url, work / f"chat-{port}.log", cwd=work, env=env):
        yield url


@pytest.fixture(scope="module")
def chat_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chat_server(tmp_path_factory.mktemp("chat")) as url:
        yield url


def test_the_server_indexes_the_seeds_and_lists_them(chat_url: str) -> None:
    from gradio_client import Client

    client = Client(chat_url, verbose=False)
    table, _ = client.predict(api_name="/articles")
    assert table["headers"][:3] == ["Title", "Source", "Chunks"]
    assert [row[0] for row in table["data"]] == [
        "Russia Cautions U.S. Against Military Escalation Amid Middle East Tensions"
    ]


def test_ask_streams_an_answer_over_the_api(chat_url: str) -> None:
    from gradio_client import Client

    client = Client(chat_url, verbose=False)
    job = client.submit(QUESTION, api_name="/ask")
    messages, sources, box = job.result(timeout=300)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert QUESTION in text_of(messages[0])
    answer = text_of(messages[1])
    assert 'class="rag-answer"' in answer and "passage" in answer  # text, then the cost line
    assert "rag-streaming" not in answer and "rag-error" not in answer
    assert "rag-sources" in sources and box == ""
    assert len(job.outputs()) >= 2  # the question showed before the answer was done


def test_bad_settings_are_reported_not_raised(chat_url: str) -> None:
    from gradio_client import Client

    client = Client(chat_url, verbose=False)
    status = client.predict("gpt-9", 4, 0.0, api_name="/settings")
    assert status.startswith("Not applied: unknown model 'gpt-9'")
