"""OpenAI's chat-completion shapes, as `rag serve` speaks them.

Owns: the request models, the response and streamed chunk bodies (OpenAI's fields plus
`sources`, `abstained`, `searched_for`, `verification`), the `sources` array (one entry per
cited passage, each quote with its offsets in the article) and OpenAI's error shape. Leaves
routes, queueing and auth to `rag.api`, and answering to `rag.assistant`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.errors import RagError
from rag.filters import with_as_of
from rag.records import Answer

log = logging.getLogger(__name__)

ERROR_TYPES = {401: "authentication_error", 500: "server_error", 503: "server_error"}


class ApiError(Exception):
    """A request the API refuses: its HTTP status, a message for people, a code for programs."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def error_body(status: int, message: str, code: str) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


class TextPart(BaseModel):
    type: str
    text: str = ""


class ChatMessage(BaseModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        if any(p.type != "text" for p in self.content):
            raise ApiError(400, "only text message parts are understood", "unsupported_content")
        return "".join(p.text for p in self.content)


class CompletionRequest(BaseModel):
    """OpenAI's request; fields this assistant has no use for (max_tokens, tools...) are
    accepted and ignored, so that clients work unchanged. The last four are ours (the `openai`
    client sends them with `extra_body`)."""

    model_config = ConfigDict(extra="ignore")
    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = None
    top_k: int | None = None
    source: str = ""
    since: str = ""
    until: str = ""

    def question(self) -> tuple[str, list[str]]:
        """The last user message is the question; earlier user messages are the history (the
        assistant's replies are not needed: follow-ups are rewritten from the questions)."""
        if self.messages[-1].role != "user":
            raise ApiError(400, "the last message must be the user's question", "invalid_messages")
        asked = [m.text() for m in self.messages if m.role == "user"]
        return asked[-1], asked[:-1]


def sources_of(answer: Answer) -> list[dict[str, Any]]:
    """One entry per cited passage (by its [n]), each with its quotes and their offsets."""
    by_n: dict[int, dict[str, Any]] = {}
    also = {p.n: list(p.also_in) for p in answer.passages}  # outlets that re-ran the story
    for c in sorted(answer.citations, key=lambda c: (c.n, c.start)):
        entry = by_n.setdefault(c.n, {
            "n": c.n, "article_id": c.article_id, "title": c.title, "source": c.source,
            "outlet": c.outlet, "url": c.url, "published": c.published,
            "authors": list(c.authors), "also_in": also.get(c.n, []), "citations": [],
        })  # fmt: skip
        entry["citations"].append(
            {"cited_text": c.quote, "start_char_index": c.start, "end_char_index": c.end}
        )
    return list(by_n.values())


def _extras(answer: Answer) -> dict[str, Any]:
    p, c = answer.prompt_tokens, answer.completion_tokens
    return {
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c},
        "sources": sources_of(answer), "abstained": answer.abstained,
        "searched_for": answer.searched_for, "verification": answer.verification,
    }  # fmt: skip


def shown(answer: Answer) -> str:
    """The answer as the chat shows it: "As of <date>: ..." for a latest-type question."""
    return with_as_of(answer.answer, answer.as_of, answer.searched_for)


def completion_body(head: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """A whole `chat.completion`; `head` is its id, created and model."""
    message = {"role": "assistant", "content": shown(answer)}
    choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
    return {**head, "object": "chat.completion", "choices": [choice], **_extras(answer)}


def _chunk(
    head: dict[str, Any], delta: dict[str, Any], finish: str | None = None, **extra: Any
) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    body = {**head, "object": "chat.completion.chunk", "choices": [choice], **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


async def frames(items: AsyncIterator[str | Answer], head: dict[str, Any]) -> AsyncIterator[bytes]:
    """Server-sent events: the role, the text as it comes, then one chunk with finish_reason and
    the sources. Every frame has `choices`, as the usual client loop reads `choices[0]`."""
    yield _chunk(head, {"role": "assistant", "content": ""})
    streamed: list[str] = []
    try:
        async for item in items:
            if isinstance(item, Answer):
                extra = _extras(item)
                if shown(item) != "".join(streamed).strip():  # changed by the checks: as `rag ask`
                    extra["answer"] = shown(item)
                yield _chunk(head, {}, "stop", **extra)
            else:
                streamed.append(item)
                yield _chunk(head, {"content": item})
    except Exception as exc:  # the status line is sent: an `error` frame, which clients raise
        if isinstance(exc, RagError):
            message = str(exc)
        else:
            log.exception("streaming an answer failed")
            message = f"answering failed ({type(exc).__name__}); see the server log"
        yield _chunk(head, {}, "stop", **error_body(500, message, "answer_failed"))
    yield b"data: [DONE]\n\n"
