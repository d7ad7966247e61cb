"""The records the stages hand each other: Chunk, Passage, Citation, Timings, Answer, REFUSAL.

Owns: their fields and the `rag ask --json` shape (`Answer.to_dict`; keys are only ever added,
as tools read it). Kept apart from the stages
and standard library only, so that rendering, citations and tests can use the records without
loading faiss, numpy, tiktoken, torch or llama.cpp. Leaves building them to the stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# The one answer for a question the articles don't answer: the model is told to say exactly this.
REFUSAL = "The articles don't say."


@dataclass(frozen=True)
class Chunk:
    id: str  # f"{article_id}:{ordinal}"
    article_id: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    n: int  # 1-based number the model cites as [n]
    chunk: Chunk
    title: str
    source: str
    score: float  # cosine similarity to the question
    # The article's byline (see rag.articles.Article); "" / () when unknown.
    outlet: str = ""
    url: str = ""
    published: str = ""  # YYYY-MM-DD
    authors: tuple[str, ...] = ()
    # Other outlets that ran the same wire story (rag.wires.collapse); () when none or unknown.
    also_in: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    n: int
    article_id: str
    title: str
    source: str
    start: int
    end: int
    quote: str  # == article.text[start:end]
    outlet: str = ""  # the cited passage's byline, for showing where the quote comes from
    url: str = ""
    published: str = ""
    authors: tuple[str, ...] = ()


def byline_text(outlet: str, published: str, also_in: Sequence[str] = ()) -> str:
    """ "Reuters, 2022-06-12", "Reuters", "2022-06-12" or "": how a source is labelled; with
    the outlets that re-ran the story (wire copies): "Reuters, 2022-06-12; also ran in AP"."""
    line = ", ".join(part for part in (outlet, published) if part)
    if also_in:
        line += f"{'; ' if line else ''}also ran in {', '.join(also_in)}"
    return line


@dataclass(frozen=True)
class Checked:
    """What the checks made of an answer."""

    answer: str
    abstained: bool
    note: str  # "" when the model's answer stood as written, else what changed, for a reader


@dataclass
class Timings:
    retrieve_s: float = 0.0
    first_token_s: float | None = None  # None when no model was asked
    total_s: float = 0.0


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    passages: list[Passage]  # given to the model; on a refusal, the closest ones found
    timings: Timings = field(default_factory=Timings)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    verification: str = ""  # what the checks changed in the model's answer, "" if nothing
    searched_for: str = ""  # the standalone query retrieval used (differs for follow-ups)
    unchecked: str = ""  # the model's answer before the checks (markers and echoes cleaned)

    @property
    def as_of(self) -> str:
        """The publication date of the newest cited article (YYYY-MM-DD); "" if none is dated.
        Derived from the citations, never from the model, so "As of ..." is always right."""
        return max((c.published for c in self.citations), default="")

    def to_dict(self) -> dict[str, Any]:
        """The `rag ask --json` shape."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [{**asdict(c), "authors": list(c.authors)} for c in self.citations],
            "passages": [
                {
                    "n": p.n,
                    "article_id": p.chunk.article_id,
                    "title": p.title,
                    "start": p.chunk.start,
                    "end": p.chunk.end,
                    "text": p.chunk.text,
                    "score": round(p.score, 4),
                    "outlet": p.outlet,
                    "url": p.url,
                    "published": p.published,
                    "authors": list(p.authors),
                    "also_in": list(p.also_in),
                }
                for p in self.passages
            ],  # fmt: skip
            "timings": {
                k: (round(v, 3) if v is not None else None) for k, v in asdict(self.timings).items()
            },
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "verification": self.verification,
            "searched_for": self.searched_for,
            "as_of": self.as_of,
        }
