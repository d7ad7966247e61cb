"""Generator protocol, its factory and the in-process llama.cpp implementation.

Owns: running a chat model and streaming its text pieces, plus token usage of the last call.
The model loads on first use; its first answer starts from the prompt's fixed head restored from
disk (`warmstart` keeps the files). Leaves a model behind an OpenAI-compatible server to `remote`,
prompt wording to `prompting`, checking to `citations`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rag import cpu, warmstart
from rag.errors import RagError
from rag.models import resolve_model

log = logging.getLogger(__name__)

# Prompt threads per core while other processes keep cores busy. The scheduler shares a busy
# core between its threads by count, and a prompt's work comes in pieces large enough to keep
# many threads in step: on 2 cores with one busy, 8 threads took the question's prompt from
# 6.3 to 4.6 s (quiet: 3.4 s), where 2 did no better than 1 (README, "Threads"). Decoding has
# small pieces and stalls on a late thread, so it keeps to the free cores. Measured on 2 cores
# only; capped, as a larger machine loses a smaller share to one busy core.
BUSY_PROMPT_THREADS_PER_CORE = 4
BUSY_PROMPT_THREADS_MAX = 16


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Generator(Protocol):
    """What the Assistant needs of an answer model, in-process or behind a server."""

    usage: Usage  # of the last completed stream
    temperature: float  # set by the Assistant before each answer (a chat session's choice)

    def load(self) -> object:
        """Get ready now (load the weights, reach the server) instead of at the first answer;
        a RagError says what is wrong."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the model's vocabulary (or an estimate), for the prompt budget."""
        ...

    def warm(self, messages: list[Message]) -> bool:
        """Get the fixed head of `messages` (all but the last user turn) ready before the first
        answer, where the engine can keep it; True when that came from a saved state."""
        ...

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


class _Tokens(Exception):
    def __init__(self, tokens: list[int]) -> None:
        self.tokens = tokens


def _shared(sequences: list[list[int]]) -> int:
    """Length of the longest common prefix."""
    n = 0
    for column in zip(*sequences, strict=False):
        if len(set(column)) > 1:
            break
        n += 1
    return n


def _chat(messages: list[Message]) -> list[Any]:
    return [{"role": m.role, "content": m.content} for m in messages]


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
        # Decoding on every core collapses when anything else runs (2 cores, one busy: 27.6 ->
        # 8.5 tok/s) while one core fewer holds up (19.8 -> 17.3); prompt evaluation keeps all
        # cores, which costs less under load than it wins when quiet (README, "Threads").
        cores = os.cpu_count() or 2
        self.n_threads = n_threads or max(1, cores - 1)
        self.n_threads_batch = max(cores, self.n_threads)
        # With n_threads = 0 each answer also leaves out of decoding the cores other processes
        # keep busy at that moment (a thread that waits for a busy core holds up all the
        # others), and gives the prompt more threads than cores to win back its share of them.
        self.adaptive = not n_threads
        self.usage = Usage()
        self._llm: Any = None
        self._warmed = False  # warm() ran: a process restores the saved head at most once
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
                        n_threads_batch=self.n_threads_batch,
                        n_batch=512,
                        verbose=False,
                    )
            except (ValueError, RuntimeError, OSError) as exc:
                raise RagError(f"cannot load model {self.path}: {exc}") from None
        return self._llm

    def count_tokens(self, text: str) -> int:
        """Tokens in the model's own vocabulary."""
        return len(self.load().tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The exact tokens create_chat_completion evaluates for `messages`.

        Its chat handler applies the model's template, then calls llm.tokenize once; catching
        that call gets the tokens from the same code path without evaluating anything."""
        llm = self.load()
        tokenize, caller = llm.tokenize, threading.get_ident()

        def capture(*args: Any, **kwargs: Any) -> Any:
            tokens = tokenize(*args, **kwargs)
            if threading.get_ident() == caller:  # count_tokens in another thread is unaffected
                raise _Tokens(tokens)
            return tokens

        llm.tokenize = capture
        try:
            llm.create_chat_completion(messages=_chat(messages), stream=True, max_tokens=1)
        except _Tokens as got:
            return got.tokens
        finally:
            del llm.tokenize  # the instance attribute only shadowed the method
        raise RagError("llama-cpp-python formatted a chat without tokenizing it")

    def warm(self, messages: list[Message]) -> bool:
        """Start a fresh context from the fixed head of `messages` (system prompt and worked
        examples, evaluated once and kept on disk), so the first answer of a process evaluates
        only its own question. True when the state came from disk."""
        llm = self.load()
        self._warmed = True
        if llm.n_tokens or len(messages) < 2 or messages[-1].role != "user":
            return False
        # The fixed head in tokens is what prompts differing only in the last user turn share:
        # the template's start of that turn belongs to it and nothing of the question does, so
        # every question maps to one state file. (Rarely the question's first token merges with
        # the template's last one; then the prefix is a token shorter.)
        head = messages[:-1]
        prompts = [self.prompt_tokens([*head, Message("user", x)]) for x in ("A", "B")]
        prompts.append(self.prompt_tokens(messages))
        prefix = prompts[0][: _shared(prompts)]
        if not 0 < len(prefix) < len(prompts[-1]) <= self.n_ctx:
            log.debug("warm start: skipped, no fitting token prefix shared with the prompt")
            return False
        return warmstart.warm(llm, prefix, warmstart.state_path(self.path, self.n_ctx, prefix))

    def stream(self, messages: list[Message]) -> Iterator[str]:
        llm = self.load()
        busy = cpu.busy_elsewhere() if self.adaptive else 0
        cores = os.cpu_count() or 2
        free = max(1, cores - busy)
        prompt = (
            min(BUSY_PROMPT_THREADS_PER_CORE * cores, BUSY_PROMPT_THREADS_MAX)
            if busy
            else self.n_threads_batch
        )
        llm._ctx.set_n_threads(min(self.n_threads, free), prompt)
        if not self._warmed:
            self.warm(messages)
        self.usage = Usage()
        chunks = llm.create_chat_completion(
            messages=_chat(messages),
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
    model: str,
    n_ctx: int,
    max_tokens: int,
    temperature: float,
    n_threads: int,
    *,
    llm_url: str = "",
    llm_model: str = "",
    llm_key: str = "",
) -> Generator:
    """The factory keyed by the `llm_url` setting: a server's URL means the model behind it
    (`llm_model` names it there), none means `model` (a preset name or a .gguf path) in-process."""
    if llm_url:
        from rag.remote import RemoteGenerator  # httpx is only imported when a server is used

        return RemoteGenerator(llm_url, llm_model, llm_key, max_tokens, temperature)
    return LlamaGenerator(model, n_ctx, max_tokens, temperature, n_threads)
