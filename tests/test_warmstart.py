"""Warm start from disk without a model: a fake llama.cpp context that records what it evaluates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag import cpu, warmstart
from rag.generation import LlamaGenerator, Message


class FakeLlama:
    """Tokens are the prompt's bytes; a completion reuses the longest prefix of what the context
    holds (as llama-cpp-python does) and evaluates the rest."""

    def __init__(self) -> None:
        self.n_tokens = 0
        self.input_ids = np.zeros(4096, dtype=np.intc)
        self.evaluated: list[int] = []
        self.ctx = None
        self._ctx = self  # llama-cpp-python's context object, which sets the threads
        self.threads: list[tuple[int, int]] = []

    def set_n_threads(self, n_threads: int, n_threads_batch: int) -> None:
        self.threads.append((n_threads, n_threads_batch))

    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return list(text)

    def reset(self) -> None:
        self.n_tokens = 0

    def eval(self, tokens: list[int]) -> None:
        self.input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.evaluated += tokens

    def create_chat_completion(self, messages: list[Any], **_: Any) -> Iterator[Any]:
        text = "".join(f"<{m['role']}>{m['content']}</>" for m in messages) + "<assistant>"
        tokens = self.tokenize(text.encode())
        held = self.input_ids[: self.n_tokens].tolist()
        self.n_tokens = next(
            (i for i, (a, b) in enumerate(zip(held, tokens, strict=False)) if a != b),
            min(len(held), len(tokens)),
        )
        self.eval(tokens[self.n_tokens :])
        return iter([{"choices": [{"delta": {"content": "ok"}}]}])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    # The fake's "llama.cpp state" is its tokens; the real one is the KV cache.
    monkeypatch.setattr(warmstart, "_snapshot", lambda llm: llm.input_ids[: llm.n_tokens].tobytes())

    def restore(llm: FakeLlama, tokens: list[int], data: bytes) -> bool:
        llm.input_ids[: len(tokens)] = np.frombuffer(data, dtype=np.intc)
        llm.n_tokens = len(tokens)
        return True

    monkeypatch.setattr(warmstart, "_restore", restore)
    return tmp_path / "cache"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GGUF" + b"\0" * 16)
    return path


def generator(model: Path) -> LlamaGenerator:
    gen = LlamaGenerator(str(model))
    gen._llm = FakeLlama()
    return gen


HEAD = [
    Message("system", "Answer from the passages."),
    Message("user", "Q?"),
    Message("assistant", "A."),
]


def ask(gen: LlamaGenerator, question: str) -> str:
    return "".join(gen.stream([*HEAD, Message("user", question)]))


def test_the_first_answer_saves_the_fixed_head_and_a_new_process_reuses_it(
    cache: Path, model: Path
) -> None:
    first = generator(model)
    assert ask(first, "Who?") == "ok"
    (state,) = (cache / "states").glob("tiny-*.state")
    prompt = "<system>Answer from the passages.</><user>Q?</><assistant>A.</><user>Who?</>"
    assert bytes(first._llm.evaluated) == f"{prompt}<assistant>".encode()  # nothing twice
    mtime = state.stat().st_mtime_ns

    second = generator(model)  # a fresh process: an empty context
    assert ask(second, "Where exactly?") == "ok"
    # Only the question was evaluated (its turn's opening is template); the head came from disk.
    assert bytes(second._llm.evaluated) == b"Where exactly?</><assistant>"
    assert state.stat().st_mtime_ns == mtime
    assert list((cache / "states").iterdir()) == [state]  # no temp files left behind


def test_a_changed_prompt_or_model_gets_its_own_state(cache: Path, model: Path) -> None:
    prefix = list(b"<system>x</><user>")
    path = warmstart.state_path(model, 2048, prefix)
    assert path.parent == cache / "states" and path.name.startswith("tiny-")
    assert warmstart.state_path(model, 2048, prefix) == path
    assert warmstart.state_path(model, 2048, [*prefix[:-1], 0]) != path
    assert warmstart.state_path(model, 4096, prefix) != path
    os.utime(model, ns=(1, 1))
    assert warmstart.state_path(model, 2048, prefix) != path


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: b"",
        lambda raw: raw[:-1],
        lambda raw: b"X" + raw[1:],
        lambda raw: raw[:-5] + bytes([raw[-5] ^ 1]) + raw[-4:],
    ],
    ids=["empty", "truncated", "bad-magic", "flipped-bit"],
)
def test_a_damaged_state_is_ignored_and_replaced(cache: Path, model: Path, damage: Any) -> None:
    ask(generator(model), "Who?")
    (state,) = (cache / "states").glob("*.state")
    good = state.read_bytes()
    state.write_bytes(damage(good))
    assert warmstart.read_state(state) is None

    gen = generator(model)
    assert ask(gen, "Who?") == "ok"
    assert bytes(gen._llm.evaluated).startswith(b"<system>")  # evaluated from scratch
    assert state.read_bytes() == good  # and saved again


def test_a_state_for_other_tokens_is_not_restored(cache: Path, model: Path) -> None:
    llm = FakeLlama()
    path = cache / "states" / "tiny-0123456789abcdef.state"
    warmstart.write_state(path, [1, 2, 3], np.array([1, 2, 3], dtype=np.intc).tobytes())
    assert warmstart.read_state(path) == ([1, 2, 3], np.array([1, 2, 3], np.intc).tobytes())
    assert warmstart.warm(llm, [1, 2, 4], path) is False
    assert llm.evaluated == [1, 2, 4]
    assert warmstart.read_state(path) is not None
    assert warmstart.warm(FakeLlama(), [1, 2, 4], path) is True


def test_only_the_newest_states_of_a_model_are_kept(cache: Path) -> None:
    states = cache / "states"
    for i in range(warmstart.KEEP + 2):
        path = states / f"tiny-{i:016x}.state"
        warmstart.write_state(path, [i], b"")
        os.utime(path, ns=(i, i))  # oldest first
    warmstart.write_state(states / "other-0000000000000000.state", [0], b"")
    names = sorted(p.name for p in states.iterdir())
    assert names == [
        "other-0000000000000000.state",
        *(f"tiny-{i:016x}.state" for i in range(2, warmstart.KEEP + 2)),
    ]


def test_a_head_warmed_at_load_serves_the_first_answer(cache: Path, model: Path) -> None:
    generator(model).warm([*HEAD, Message("user", "")])  # an earlier process saved the head
    gen = generator(model)
    assert gen.warm([*HEAD, Message("user", "")]) is True  # Assistant.load, before any question
    assert ask(gen, "Where exactly?") == "ok"
    assert bytes(gen._llm.evaluated) == b"Where exactly?</><assistant>"  # head not evaluated


def test_an_unwritable_cache_only_costs_the_prefix(cache: Path, model: Path) -> None:
    cache.mkdir()
    (cache / "states").write_text("a file where the folder should be")
    assert ask(generator(model), "Who?") == "ok"


def test_each_answer_leaves_out_the_cores_busy_elsewhere(
    cache: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    gen = generator(model)
    llm = gen._llm
    for busy in (0, 1, 3, 6):
        monkeypatch.setattr(cpu, "busy_elsewhere", lambda busy=busy: busy)
        ask(gen, "Q2?")
    # decode: all cores but one, then no more than the free ones; prompts: all cores when
    # quiet, four threads a core (at most 16) when any is busy
    assert llm.threads == [(3, 4), (3, 16), (1, 16), (1, 16)]
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    ask(gen, "Q3?")
    assert llm.threads[-1] == (2, 16)  # 8 cores, 6 busy: 4 x 8 prompt threads capped


def test_a_thread_count_set_by_the_user_is_kept_under_load(
    cache: Path, model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(cpu, "busy_elsewhere", lambda: 3)
    gen = LlamaGenerator(str(model), n_threads=2)
    gen._llm = llm = FakeLlama()
    ask(gen, "Q2?")
    assert llm.threads == [(2, 4)]
