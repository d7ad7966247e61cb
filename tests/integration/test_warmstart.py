"""Warm start from disk with the real llama.cpp and the tiny smollm2 GGUF, through `rag ask`:
the first process saves the evaluated prompt prefix, the next ones restore it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import warmstart

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"
QUESTION = "What did Putin say about the treaty?"


def ask(work: Path, cache: Path) -> dict:
    env = {
        **os.environ,
        "RAG_MODEL": "smollm2-135m",
        "RAG_MAX_ANSWER_TOKENS": "24",
        "RAG_CACHE_DIR": str(cache),
    }
    done = subprocess.run(
        [sys.executable, "-m", "rag", "ask", "--json", QUESTION],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_new_process_restores_the_saved_prefix_and_answers_the_same(tmp_path: Path) -> None:
    work, cache = tmp_path / "work", tmp_path / "cache"
    (work / "seeds").mkdir(parents=True)
    (work / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "RAG_MODEL": "smollm2-135m"}
    done = subprocess.run(
        [sys.executable, "-m", "rag", "index"],
        cwd=work, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    first = ask(work, cache)
    (state,) = (cache / "states").glob("*.state")  # saved by the first process
    saved = state.stat().st_mtime_ns
    second = ask(work, cache)
    assert state.stat().st_mtime_ns == saved  # restored, not evaluated and saved again
    assert second["answer"] == first["answer"]
    assert second["prompt_tokens"] == first["prompt_tokens"]

    # A state llama.cpp refuses (framing and checksum intact) is evaluated again and replaced.
    good = warmstart.read_state(state)
    assert good is not None
    warmstart.write_state(state, good[0], b"not a llama.cpp state" * 100)
    third = ask(work, cache)
    assert third["answer"] == first["answer"]
    assert warmstart.read_state(state) == good
