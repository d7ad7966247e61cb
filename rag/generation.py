"""Generator protocol and the in-process llama.cpp implementation.

Owns: running a chat model and streaming its text pieces, plus token usage of the last call.
The model loads on first use. Leaves prompt wording to `prompting` and checking to `citations`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rag.errors import RagError
from rag.models import resolve_model


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Generator(Protocol):
    usage: Usage  # of the last completed stream

    def stream(self, messages: list[Message]) -> Iterator[str]:
        """Yield the answer in pieces as the model produces them."""
        ...


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """llama.cpp prints load chatter straight to fd 2; keep it off the user's terminal."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class LlamaGenerator:
    """A GGUF model run in-process by llama-cpp-python."""

    def __init__(
        self,
        model: str,
        n_ctx: int = 2048,
        max_tokens: int = 200,
        temperature: float = 0.0,
        n_threads: int = 0,
    ) -> None:
        self.model = model
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.n_threads = n_threads or os.cpu_count() or 2
        self.usage = Usage()
        self._llm: Any = None
        # Resolving is cheap once a model is assembled and verified, and a wrong name should
        # fail before any work is done.
        self.path: Path = resolve_model(model)

    def load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise RagError(
                    "llama-cpp-python is missing; run: pip install llama-cpp-python"
                ) from None
            try:
                with _quiet_stderr():
                    self._llm = Llama(
                        model_path=str(self.path),
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_batch=512,
                        verbose=False,
                    )
            except (ValueError, RuntimeError, OSError) as exc:
                raise RagError(f"cannot load model {self.path}: {exc}") from None
        return self._llm

    def count_tokens(self, text: str) -> int:
        """Tokens in the model's own vocabulary."""
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: list[Message]) -> Iterator[str]:
        llm = self.load()
        self.usage = Usage()
        chunks = llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            stream=True,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            repeat_penalty=1.0,
        )
        completion = 0
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                completion += 1  # llama-cpp-python streams one token per chunk
                yield piece
        # n_tokens counts everything in the context window: the prompt plus what was generated.
        self.usage = Usage(max(0, int(llm.n_tokens) - completion), completion)


def make_generator(
    model: str, n_ctx: int, max_tokens: int, temperature: float, n_threads: int
) -> Generator:
    """The factory keyed by the `model` setting (a preset name or a .gguf path)."""
    return LlamaGenerator(model, n_ctx, max_tokens, temperature, n_threads)
