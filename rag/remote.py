"""An answer model behind an OpenAI-compatible server: llama.cpp's, llama-cpp-python's, vLLM, Ollama.

Owns: streaming `/chat/completions` (server-sent events), counting tokens with the server's own
tokenizer where it has one (llama-cpp-python's `/extras/tokenize/count`, llama.cpp's
`/tokenize`) or else estimating them in cl100k, and turning a server that does not answer into one
RagError after one retry. Leaves the prompt to `prompting` and the choice between this and the
in-process model to `generation.make_generator`. Warm start does not apply: the server keeps its
own prompt cache.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Iterator
from typing import Any

import httpx

from rag.chunking import count_tokens as estimate_tokens
from rag.errors import RagError
from rag.generation import Message, Usage

log = logging.getLogger(__name__)

ESTIMATE = "estimate"  # `counter` when the server cannot tokenize
_CACHE = 4096  # token counts kept: the same passages come back question after question


def _reason(exc: httpx.TransportError, timeout: httpx.Timeout) -> str:
    """What went wrong, in words: "connection refused", "no reply within 120 s"."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {timeout.connect:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no reply within {timeout.read:g} s"
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "unknown host"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection closed without a reply"
    return text or type(exc).__name__


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to `data: [DONE]`."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, ": keep-alive" comments, event names
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise RagError(
                f"the model server sent something that is not JSON: {data[:80]!r}"
            ) from None
        if isinstance(event, dict):
            yield event


class RemoteGenerator:
    """Answers from a chat model served over HTTP at `url` (the base URL, e.g. .../v1)."""

    def __init__(
        self,
        url: str,
        model: str = "",
        key: str = "",
        max_tokens: int = 200,
        temperature: float = 0.0,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        # The tokenize endpoints live beside /v1, not under it.
        self.root = self.url.removesuffix("/v1")
        self.model = model  # "" = whatever the server lists first (sent only when known)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.usage = Usage()
        # How tokens are counted: an endpoint path, ESTIMATE, or None until the server is asked.
        self.counter: str | None = None
        self._offset = 0  # tokens the server adds to any text (a BOS), found by counting ""
        self._counts: dict[str, int] = {}
        self._timeout = httpx.Timeout(timeout, connect=connect_timeout)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=self._timeout, headers=headers)

    # --- errors ---------------------------------------------------------------------------

    def _unreachable(self, exc: httpx.TransportError) -> RagError:
        reason = _reason(exc, self._timeout)
        return RagError(f"the model server at {self.url} did not answer ({reason}); tried twice")

    def _refused(self, response: httpx.Response) -> RagError:
        """A one-line error for a reply with an error status; reads the body for its message."""
        try:
            body = response.read().decode("utf-8", "replace")
            detail = json.loads(body).get("error", body) if body.startswith("{") else body
            if isinstance(detail, dict):
                detail = detail.get("message", detail)
        except (httpx.HTTPError, ValueError, AttributeError):
            detail = ""
        detail = " ".join(str(detail).split())[:200]
        hint = {401: "; check --llm-key", 403: "; check --llm-key"}.get(response.status_code, "")
        if response.status_code == 404 and not self.url.endswith("/v1"):
            hint = "; OpenAI-compatible servers usually serve under /v1"
        said = f": {detail}" if detail else ""
        return RagError(
            f"the model server at {self.url} answered {response.status_code} "
            f"{response.reason_phrase}{said}{hint}"
        )

    def _get(self, url: str) -> Any:
        """A GET for JSON, retried once when the server does not answer at all."""
        for attempt in (1, 2):
            try:
                response = self._client.get(url)
                break
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise self._unreachable(exc) from None
                log.info("the model server at %s did not answer (%s); trying again", url, exc)
        if response.status_code >= 400:
            raise self._refused(response)
        try:
            return response.json()
        except ValueError:
            raise RagError(f"the model server at {url} did not reply with JSON") from None

    # --- the Generator protocol -----------------------------------------------------------

    def load(self) -> None:
        """Check that the server answers (so a wrong URL fails before the first question),
        learn its model's name when none was given, and how it counts tokens."""
        listed = self._get(f"{self.url}/models")
        if not self.model:
            models = listed.get("data") if isinstance(listed, dict) else None
            if models and isinstance(models[0], dict):
                self.model = str(models[0].get("id", ""))
        self._find_counter()

    def _find_counter(self) -> None:
        """Ask the server for its tokenizer once; a server without one means estimates."""
        probes = (
            ("/extras/tokenize/count", "input", "count"),  # llama-cpp-python's server
            ("/tokenize", "content", "tokens"),  # llama.cpp's llama-server
        )
        for path, field, answer in probes:
            try:
                response = self._client.post(self.root + path, json={field: ""})
                got = response.json()[answer] if response.status_code == 200 else None
            except httpx.TransportError:
                return  # try again at the next count; until then, estimate
            except (ValueError, KeyError, TypeError):
                got = None
            if got is not None:
                self.counter = path
                self._offset = got if isinstance(got, int) else len(got)
                log.info("counting tokens with %s%s", self.root, path)
                return
        self.counter = ESTIMATE
        log.info("%s has no tokenize endpoint; token counts are cl100k estimates", self.root)

    def warm(self, messages: list[Message]) -> bool:
        """Nothing to do here: the server keeps its own prompt cache."""
        return False

    def count_tokens(self, text: str) -> int:
        if self.counter is None:
            self._find_counter()
        if self.counter in (None, ESTIMATE):
            return estimate_tokens(text)
        if (known := self._counts.get(text)) is not None:
            return known
        field, answer = (
            ("input", "count") if self.counter.startswith("/extras") else ("content", "tokens")
        )
        try:
            response = self._client.post(self.root + self.counter, json={field: text})
            got = response.json()[answer]
            n = (got if isinstance(got, int) else len(got)) - self._offset
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # A budget a little off is better than no answer; stream() reports a dead server.
            log.info("token count from %s failed (%s); estimating", self.counter, exc)
            return estimate_tokens(text)
        if len(self._counts) >= _CACHE:
            self._counts.clear()
        self._counts[text] = n
        return n

    def stream(self, messages: list[Message]) -> Iterator[str]:
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},  # servers that don't know it ignore it
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        if self.model:
            body["model"] = self.model
        self.usage = Usage()
        pieces: list[str] = []
        for attempt in (1, 2):
            try:
                usage = yield from self._attempt(body, pieces)
                break
            except httpx.TransportError as exc:
                if pieces:  # half an answer was shown; asking again would repeat it
                    reason = _reason(exc, self._timeout)
                    raise RagError(
                        f"the model server at {self.url} stopped in mid-answer ({reason})"
                    ) from None
                if attempt == 2:
                    raise self._unreachable(exc) from None
                log.info("the model server at %s did not answer (%s); trying again", self.url, exc)
        if usage is None:  # the server did not say: count what was sent and received
            prompt = "\n".join(m.content for m in messages)
            usage = Usage(self.count_tokens(prompt), self.count_tokens("".join(pieces)))
        self.usage = usage

    def _attempt(
        self, body: dict[str, Any], pieces: list[str]
    ) -> Generator[str, None, Usage | None]:
        """One streamed request: yields text pieces (also appended to `pieces`) and returns
        the server's Usage if it sent one."""
        usage: Usage | None = None
        with self._client.stream("POST", f"{self.url}/chat/completions", json=body) as response:
            if response.status_code >= 400:
                raise self._refused(response)
            for event in _events(response.iter_lines()):
                if isinstance(event.get("error"), dict):  # some servers report errors in-stream
                    message = event["error"].get("message", "unknown error")
                    raise RagError(f"the model server at {self.url} failed: {message}")
                if isinstance(counts := event.get("usage"), dict):
                    usage = Usage(
                        int(counts.get("prompt_tokens") or 0),
                        int(counts.get("completion_tokens") or 0),
                    )
                for choice in event.get("choices") or []:
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        pieces.append(piece)
                        yield piece
        return usage
