"""The one place the stages meet: question -> passages -> prompt -> streamed answer -> citations.

Owns: input checks, the refusal path, and filling in the timings and the Answer (records in
`records`) that the CLI, the chat UI and the evaluation all print or grade. Leaves each stage's
policy to its own module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from rag.articles import Article, load_articles
from rag.backends import build_into, open_index
from rag.chunking import count_tokens
from rag.citations import MarkerFilter, cite, normalise_markers
from rag.config import Settings
from rag.embedding import Embedder, make_embedder
from rag.errors import RagError
from rag.filters import Scope, is_latest
from rag.generation import Generator, make_generator
from rag.prompting import build_messages, strip_echo, template_text
from rag.questions import split_options
from rag.records import REFUSAL, Answer, Citation, Timings
from rag.retrieval import Retriever, search_text, standalone
from rag.said import said_answer
from rag.store import ArticleInfo, BuildReport, Index
from rag.text import is_refusal
from rag.untrusted import guard
from rag.verification import verify

log = logging.getLogger(__name__)

REPORTED = (
    "The model found no answer in the articles; shown instead: the article sentence that "
    "reports what was said."
)

CLOSEST = 3  # passages shown with a refusal that the relevance gate decided


def check_answer_settings(top_k: int | None = None, temperature: float | None = None) -> None:
    """Raise a RagError for a per-answer setting out of range (None means unchanged)."""
    if top_k is not None and not 1 <= top_k <= 20:
        raise RagError("the number of passages must be between 1 and 20")
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise RagError("the temperature must be between 0 and 2")


class Assistant:
    def __init__(
        self, settings: Settings, index: Index, embedder: Embedder, generator: Generator
    ) -> None:
        self.settings = settings
        self.index = index
        self._stamp = index.stamp()  # the build open now (see `_refresh`)
        # One answer at a time: the model and the index are shared by every chat session, so
        # concurrent questions queue here instead of interleaving. Swapping in a new index or
        # model also takes it, but only for the swap.
        # A plain Lock, not an RLock: the chat's server resumes an answer's generator on
        # whichever worker thread is free, so the thread that releases the lock at the end of
        # an answer is often not the one that took it ("cannot release un-acquired lock").
        self.lock = threading.Lock()
        # Index builds and model loads take seconds to minutes, so they are prepared outside
        # `lock` (questions go on meanwhile), one at a time.
        self._changing = threading.Lock()
        self.retriever = Retriever(index, embedder, settings.retrieval, self.count_tokens)
        self.generator = generator
        # Room left for the question once the answer, passages and template are accounted for.
        self.question_budget = (
            settings.n_ctx - settings.max_answer_tokens - settings.context_tokens
            - count_tokens(template_text()) - 64
        )  # fmt: skip
        if self.question_budget < 16:
            raise RagError(
                "n_ctx is too small for context_tokens and max_answer_tokens; raise n_ctx"
            )

    @classmethod
    def from_settings(cls, settings: Settings, generator: Generator | None = None) -> Assistant:
        """Open the index (the folder `index` names, or the database `store` names) and build
        the stages; models load on first use. `generator` reuses a loaded model (the evaluation
        asks several indexes with one)."""
        index = open_index(settings.index, settings.store)
        # Queries must be embedded by the model that built the index, whatever the settings say.
        embedder = make_embedder(index.manifest.embedder)
        generator = generator or make_generator(
            settings.model, settings.n_ctx, settings.max_answer_tokens, settings.temperature,
            settings.n_threads, llm_url=settings.llm_url, llm_model=settings.llm_model,
            llm_key=settings.llm_key,
        )  # fmt: skip
        return cls(settings, index, embedder, generator)

    def load(self) -> None:
        """Load both models now, side by side, so that the first answer starts sooner and a
        broken model file is reported even when a question would never reach it. The answer
        model also gets the prompt's fixed head ready while the embedder loads, so the first
        answer does not wait for it (on a 2-core VM: a few tenths of a second to read the saved
        state, about 10 s to evaluate a missing one)."""
        errors: list[BaseException] = []

        def load_generator() -> None:
            try:
                self.generator.load()
                self.generator.warm(build_messages("", []))
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)

        thread = threading.Thread(target=load_generator, daemon=True)
        thread.start()
        self.retriever.embedder.embed(["warm up"])
        thread.join()
        if errors:
            raise errors[0]

    def count_tokens(self, text: str) -> int:
        """Tokens as the answer model counts them, so the context budget fits its window."""
        return self.generator.count_tokens(text)

    def article_infos(self) -> list[ArticleInfo]:
        # Show a change made by another process, but never wait for an answer to do so.
        if self.lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self.lock.release()
        return self.index.article_infos()

    def _refresh(self) -> None:
        """Reopen the index when where it lives holds a newer build than the one open: `rag
        index` in another process, or a build of ours. A stat (a folder) or one small query (a
        database) per call; call it holding `lock`. A new Retriever forgets what it cached
        (articles, scopes) about the old build."""
        stamp = self.index.stamp()
        if stamp is None or stamp == self._stamp:
            return
        try:
            index = self.index.reopen()
            embedder = self.retriever.embedder
            if index.manifest.embedder != embedder.name:  # rebuilt with another model
                embedder = make_embedder(index.manifest.embedder)
        except RagError as exc:
            log.warning("keeping the index already open: %s", exc)
            return
        # The old Index is not closed here: a sources panel may still be reading an article
        # from it. It closes when the last reference goes.
        self.index, self._stamp = index, stamp
        self.retriever = Retriever(index, embedder, self.settings.retrieval, self.count_tokens)

    def add_files(
        self, files: Sequence[Path], on_progress: Callable[[int, int], None] | None = None
    ) -> tuple[BuildReport, list[str]]:
        """Index these files into the open index (only they are embedded) and reopen it.

        Returns the report and one warning per file that was skipped."""
        warnings: list[str] = []
        articles = list(load_articles(files, warnings.append))
        if not articles:
            raise RagError("no readable .txt, .md or .html text in " + ", ".join(map(str, files)))
        return self._change(articles, (), on_progress), warnings

    def remove_articles(self, article_ids: Sequence[str]) -> BuildReport:
        return self._change([], article_ids, None)

    def _change(
        self,
        articles: Sequence[Article],
        remove: Sequence[str],
        on_progress: Callable[[int, int], None] | None,
    ) -> BuildReport:
        # A folder build writes a copy aside and swaps it in, a database build is one
        # transaction: either way the open index stays readable and questions are answered
        # during the build; only reopening waits for the answer lock.
        with self._changing:
            report = build_into(
                self.index, articles, self.retriever.embedder, on_progress=on_progress,
                remove=remove,
            )  # fmt: skip
            with self.lock:
                self._refresh()
        return report

    def configure(
        self,
        model: str | None = None,
        top_k: int | None = None,
        temperature: float | None = None,
    ) -> None:
        """Change the defaults of every later answer without a restart.

        A new model is loaded before it replaces the working one, outside the answer lock, so
        a file that fails to load raises a RagError and changes nothing."""
        check_answer_settings(top_k, temperature)
        generator = None
        if model is not None and model != self.settings.model:
            if self.settings.llm_url:  # a preset name means nothing to the server
                raise RagError(f"the model server at {self.settings.llm_url} chooses the model")
            with self._changing:
                s = self.settings
                generator = make_generator(
                    model, s.n_ctx, s.max_answer_tokens, s.temperature, s.n_threads
                )
                generator.load()
        with self.lock:
            if generator is not None:
                self.generator = generator
            self.settings = self.settings.replace(model=model, top_k=top_k, temperature=temperature)

    def check_question(self, question: str) -> str:
        question = " ".join(question.split())
        if not question:
            raise RagError("the question is empty")
        n = count_tokens(question)
        if n > self.question_budget:
            raise RagError(f"the question is {n} tokens long; the limit is {self.question_budget}")
        return question

    def stream(
        self,
        question: str,
        history: Sequence[str] = (),
        *,
        top_k: int | None = None,
        temperature: float | None = None,
        scope: Scope | None = None,
    ) -> Iterator[str | Answer]:
        """Yield answer text as it is generated, then the finished Answer as the last item.

        `history` is the earlier questions of the conversation, oldest first. `top_k` and
        `temperature` override the settings for this answer only (one chat session's choice);
        `scope` limits the articles it may draw on (outlet, dates)."""
        question = self.check_question(question)
        check_answer_settings(top_k, temperature)
        with self.lock:
            self._refresh()
            s = self.settings.replace(top_k=top_k, temperature=temperature)
            yield from self._stream(question, history, s, scope or Scope())

    def _stream(
        self, question: str, history: Sequence[str], s: Settings, scope: Scope
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        self.generator.temperature = s.temperature  # every answer sets its own
        # A follow-up is rewritten to stand alone, and the model answers the rewritten question:
        # it sees no conversation, so "And where did he say it?" must name who and what.
        rewritten, context = standalone(question, history)
        query = search_text(rewritten, context)
        options = split_options(rewritten)[1]
        if scope.active and not self.retriever.in_scope(scope):
            # Say that the scope is empty rather than "the articles don't say": the user can
            # widen it, and nothing outside it is used.
            text = scope.nothing_found()
            yield text
            timings = Timings(total_s=time.perf_counter() - started)
            yield Answer(question, text, True, [], [], timings, searched_for=query)
            return
        passages = self.retriever.retrieve(
            query, s.top_k, s.min_score, s.context_tokens, options, scope, is_latest(rewritten)
        )
        timings = Timings(retrieve_s=time.perf_counter() - started)
        if not passages:
            # Nothing passed the relevance gate: refuse without asking the model, but show the
            # closest passages anyway so the user can judge for themselves.
            closest = self.retriever.retrieve(query, CLOSEST, -1.0, s.context_tokens, scope=scope)
            timings.total_s = time.perf_counter() - started
            yield REFUSAL
            yield Answer(question, REFUSAL, True, [], closest, timings, searched_for=query)
            return
        # "What did X say?": X's own quoted words, chosen and cited by code (rag.said); when X is
        # named but not quoted, that is said first and the model answers as usual.
        said = said_answer(rewritten, passages, self.retriever, scope)
        if said is not None and said.citations:
            timings.total_s = time.perf_counter() - started
            yield said.text
            yield Answer(
                question, said.text, False, said.citations, said.passages, timings,
                searched_for=query,
            )  # fmt: skip
            return
        preamble = said.text if said is not None else ""
        if preamble:
            yield preamble + " "
        texts = {a: self.index.article(a).text for a in {p.chunk.article_id for p in passages}}
        # Instructions planted in an article are neither read by the model nor evidence; the
        # reader still sees the passages as they are.
        guarded, planted = guard(passages, texts)
        markers = MarkerFilter(len(passages))
        raw: list[str] = []
        for piece in self.generator.stream(build_messages(query, guarded)):
            if timings.first_token_s is None:
                timings.first_token_s = time.perf_counter() - started
            raw.append(piece)
            if shown := markers.feed(piece):
                yield shown
        if tail := markers.flush():
            yield tail
        text = unchecked = strip_echo(normalise_markers("".join(raw), len(passages)))
        abstained = is_refusal(text)
        note = ""
        if abstained and not (s.verify and options):
            text, note = REFUSAL, "The model found no answer in the articles."
        elif s.verify:
            checked = verify(
                rewritten, text, guarded, self.retriever.embedder, s.unsupported, planted
            )
            text, abstained, note = checked.answer, checked.abstained, checked.note
        citations: list[Citation] = []
        if not abstained:
            citations = cite(text, guarded, texts)
        if abstained and said is not None and said.reported is not None:
            # The model found nothing, but an article reports X's words on it without quote
            # marks ("Furthermore, he clarified that a treaty ..."): the code shows that
            # sentence, cited whole, rather than "the articles don't say".
            reported = said.reported
            text, abstained, note = reported.text, False, REPORTED
            citations, passages = reported.citations, reported.passages
        elif preamble:
            text = preamble if abstained else f"{preamble} {text}"
        timings.total_s = time.perf_counter() - started
        usage = self.generator.usage
        yield Answer(
            question, text, abstained, citations, passages, timings,
            usage.prompt_tokens, usage.completion_tokens, note, query, unchecked,
        )  # fmt: skip

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        *,
        top_k: int | None = None,
        temperature: float | None = None,
        scope: Scope | None = None,
    ) -> Answer:
        for item in self.stream(
            question, history, top_k=top_k, temperature=temperature, scope=scope
        ):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an Answer")
