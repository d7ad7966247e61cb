import re
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.articles import load_articles
from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import RagError
from rag.generation import Message
from rag.prompting import build_messages
from rag.records import Answer
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder, ScriptedGenerator

HARBOUR = "Harbour budget agreed\n\nMinisters agreed the harbour budget in Brussels.\n"
# "keep": these tests are about wiring; the hashing fake embedder is no judge of paraphrase.
SETTINGS = Settings(top_k=3, min_score=0.1, chunk_tokens=60, unsupported="keep")


class GatedEmbedder(FakeEmbedder):
    """Index builds (run in another thread) wait for `go`; questions (this thread) do not."""

    def __init__(self) -> None:
        super().__init__()
        self.building, self.go = threading.Event(), threading.Event()
        self.gave_up = False  # the build waited in vain: whatever was tested blocked it

    def embed(self, texts: list[str]) -> np.ndarray:
        if threading.current_thread() is not threading.main_thread():
            self.building.set()
            if not self.go.wait(5):
                self.gave_up = True
                raise RuntimeError("the test never let the build go on")
        return super().embed(texts)


def make(
    index: Index, embedder: FakeEmbedder, *replies: str
) -> tuple[Assistant, ScriptedGenerator]:
    gen = ScriptedGenerator(*replies)
    return Assistant(SETTINGS, index, embedder, gen), gen


def test_answer_cites_given_passages_with_exact_quotes(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, gen = make(
        seed_index,
        embedder,
        "The treaty is not a mutual defense agreement [1][9]. Iran did not ask [1, 2].",
    )
    answer = assistant.ask("What did Putin say about the treaty with Iran?")
    prompt = gen.prompts[0][-1].content
    assert "Question: What did Putin say about the treaty with Iran?" in prompt
    assert "[1] (Russia Cautions U.S." in prompt
    # [9] names no passage; "[1, 2]" is normalised (tests/test_citations.py) to the passages given.
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)]
    assert "[9]" not in answer.answer and 1 in markers
    assert all(1 <= n <= len(answer.passages) for n in markers)
    assert not answer.abstained and answer.citations
    text = seed_index.articles()[0].text
    for c in answer.citations:
        assert c.quote == text[c.start : c.end]
    data = answer.to_dict()
    assert set(data) == {
        "question", "answer", "abstained", "citations", "passages", "timings",
        "prompt_tokens", "completion_tokens", "verification", "searched_for", "as_of",
    }  # fmt: skip
    assert data["as_of"] == ""  # the seed article has no date
    assert set(data["timings"]) == {"retrieve_s", "first_token_s", "total_s"}
    assert data["passages"][0]["n"] == 1 and data["passages"][0]["text"]


def test_streamed_text_matches_the_final_answer(seed_index: Index, embedder: FakeEmbedder) -> None:
    assistant, _ = make(seed_index, embedder, "Zakharova urged restraint [1][5].")
    items = list(assistant.stream("What did Zakharova urge Washington?"))
    assert isinstance(items[-1], Answer)
    assert "".join(str(i) for i in items[:-1]).strip() == items[-1].answer


def test_nothing_relevant_refuses_without_asking_the_model(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, gen = make(seed_index, embedder, "should not be used")
    answer = assistant.ask("xylophone quantum zebra")
    assert answer.abstained and answer.answer == "The articles don't say."
    assert gen.prompts == [] and not answer.citations
    assert 1 <= len(answer.passages) <= 3  # the closest passages, shown so the user can judge


def test_model_refusal_is_reported_as_abstained(seed_index: Index, embedder: FakeEmbedder) -> None:
    assistant, _ = make(seed_index, embedder, "The articles don't say.")
    answer = assistant.ask("Does the treaty oblige Russia to defend Iran?")
    assert answer.abstained and answer.citations == []


def test_a_refusal_on_what_x_said_gives_way_to_the_sentence_reporting_it(
    seed_index: Index, embedder: FakeEmbedder, seed_text: str
) -> None:
    """Putin is quoted, but not on the treaty; "he clarified that a treaty ..." reports his
    words on it, and "he" is Putin (the sentence before is his quote)."""
    assistant, _ = make(seed_index, embedder, "The articles don't say.")
    answer = assistant.ask("What did Putin say about the treaty?")
    reported = "Furthermore, he clarified that a treaty signed with Iran earlier this year"
    assert answer.answer.startswith("The articles do not quote Vladimir Putin on the treaty. ")
    assert reported in answer.answer and not answer.abstained
    (citation,) = answer.citations
    assert seed_text[citation.start : citation.end] == citation.quote
    assert citation.quote.startswith(reported) and "reports what was said" in answer.verification
    # Nothing reports his words on the weather: the refusal stands.
    assert assistant.ask("What did Putin say about the weather?").abstained


def test_bad_questions(seed_index: Index, embedder: FakeEmbedder) -> None:
    assistant, _ = make(seed_index, embedder)
    with pytest.raises(RagError, match="empty"):
        assistant.ask("   ")
    with pytest.raises(RagError, match="tokens long"):
        assistant.ask("treaty " * 2000)


def test_follow_up_searches_with_the_previous_question(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, gen = make(seed_index, embedder, "In St. Petersburg [1].")
    answer = assistant.ask("And where did he say it?", ["Did Iran ask Russia for military aid?"])
    assert any("military aid from Russia" in p.chunk.text for p in answer.passages)


def test_keyword_search_finds_what_vectors_miss(seed_index: Index, embedder: FakeEmbedder) -> None:
    assistant, _ = make(seed_index, embedder, "ok [1].")
    passages = assistant.retriever.retrieve("What did Putin say about the treaty?", 3, 0.0, 900)
    assert any("treaty" in p.chunk.text for p in passages)
    spans = [(p.chunk.start, p.chunk.end) for p in passages]
    assert len(set(spans)) == len(spans)


def test_articles_can_be_added_and_removed_while_running(
    seed_index: Index, embedder: FakeEmbedder, tmp_path
) -> None:
    assistant, _ = make(seed_index, embedder)
    seed_title = seed_index.articles()[0].title
    note = tmp_path / "harbour.txt"
    note.write_text("Harbour budget agreed\n\nMinisters agreed the harbour budget in Brussels.\n")
    calls = embedder.calls
    report, warnings = assistant.add_files([note])
    assert (report.added, report.articles, warnings) == (1, 2, [])
    assert embedder.calls == calls + 1  # only the new article was embedded
    answer = assistant.ask("What did ministers agree in Brussels?")
    assert any("harbour budget" in p.chunk.text for p in answer.passages)
    new_id = next(a.id for a in assistant.article_infos() if a.title == "Harbour budget agreed")
    assistant.remove_articles([new_id])
    assert [a.title for a in assistant.article_infos()] == [seed_title]
    with pytest.raises(RagError, match="no article"):
        assistant.remove_articles([new_id])


def test_settings_change_without_a_restart(seed_index: Index, embedder: FakeEmbedder) -> None:
    assistant, gen = make(seed_index, embedder, "Putin spoke [1].")
    assistant.configure(top_k=1, temperature=0.5)
    assistant.ask("What did Putin say about the treaty?")
    assert assistant.settings.top_k == 1 and gen.prompts[0][-1].content.count("\n\n[") == 0
    with pytest.raises(RagError, match="between 1 and 20"):
        assistant.configure(top_k=0)
    with pytest.raises(RagError):
        assistant.configure(model="no-such-preset")
    assert assistant.settings.top_k == 1  # a failed change leaves the settings as they were


def test_a_follow_up_is_searched_and_answered_standalone(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, gen = make(seed_index, embedder, "In St. Petersburg [1].")
    answer = assistant.ask("Did Iran ask him for help?", ["What did Putin say about the treaty?"])
    assert answer.searched_for == "Did Iran ask Putin for help?"
    assert "Question: Did Iran ask Putin for help?" in gen.prompts[0][-1].content


def test_per_answer_settings_leave_the_defaults_alone(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    class Recording(ScriptedGenerator):
        temperature = 0.0
        seen: list[float] = []  # the temperature of each answer

        def stream(self, messages: list[Message]) -> Iterator[str]:
            self.seen.append(self.temperature)
            return super().stream(messages)

    gen = Recording("Putin spoke [1].", "Putin spoke [1].")
    assistant = Assistant(SETTINGS, seed_index, embedder, gen)
    one = assistant.ask("What did Putin say about the treaty?", top_k=1, temperature=0.7)
    other = assistant.ask("What did Putin say about the treaty?")  # another chat session
    assert len(one.passages) == 1 and len(other.passages) > 1
    assert gen.seen == [0.7, SETTINGS.temperature] and assistant.settings == SETTINGS
    with pytest.raises(RagError, match="between 0 and 2"):
        assistant.ask("What did Putin say about the treaty?", temperature=5.0)


def test_a_model_that_fails_to_load_leaves_the_working_one(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    assistant, gen = make(seed_index, embedder, "Putin spoke [1].")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(64))  # the right magic, nothing loadable behind it
    with pytest.raises(RagError, match="cannot load model"):
        assistant.configure(model=str(broken))
    assert assistant.generator is gen and assistant.settings.model == SETTINGS.model
    assert not assistant.ask("What did Putin say about the treaty?").abstained


def test_an_index_rebuilt_by_another_process_is_reopened_before_the_next_question(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    assistant, _ = make(seed_index, embedder, "Ministers agreed [1].")
    harbour = tmp_path / "harbour.txt"
    harbour.write_text(HARBOUR)
    # What `rag index harbour.txt` does in another process: build aside, swap the folder.
    build_index(seed_index.path, load_articles([harbour], print), FakeEmbedder(), 60, 1)
    answer = assistant.ask("What did ministers agree in Brussels?")
    assert any("harbour budget" in p.chunk.text for p in answer.passages)
    bridge = tmp_path / "bridge.txt"
    bridge.write_text("Springfield bridge opens\n\nThe Springfield bridge opens in May.\n")
    build_index(seed_index.path, load_articles([bridge], print), FakeEmbedder(), 60, 1)
    titles = [a.title for a in assistant.article_infos()]
    assert "Harbour budget agreed" in titles and "Springfield bridge opens" in titles
    opened = assistant.index
    assistant.ask("What did ministers agree in Brussels?")
    assert assistant.index is opened  # unchanged since: nothing is reopened


def test_building_the_index_does_not_hold_the_answer_lock(
    seed_index: Index, tmp_path: Path
) -> None:
    embedder = GatedEmbedder()
    assistant, _ = make(seed_index, embedder)
    harbour = tmp_path / "harbour.txt"
    harbour.write_text(HARBOUR)
    adding = threading.Thread(target=assistant.add_files, args=([harbour],))
    adding.start()
    try:
        assert embedder.building.wait(5)
        assert assistant.lock.acquire(timeout=1)  # a question could start now
        assistant.lock.release()
    finally:
        embedder.go.set()
        adding.join(10)
    assert "Harbour budget agreed" in [a.title for a in assistant.article_infos()]


def test_an_answer_may_be_resumed_on_another_thread(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    """Gradio runs each step of a streamed answer on whichever worker thread is free: the
    answer lock taken on one thread is released on another."""
    assistant, _ = make(seed_index, embedder, "Putin said the treaty is not a defense pact [1].")
    stream = assistant.stream("Does the treaty oblige Russia to defend Iran?")
    first = next(stream)  # the lock is taken here, on this thread
    rest: list[object] = []
    errors: list[BaseException] = []

    def finish() -> None:
        try:
            rest.extend(stream)
        except BaseException as exc:  # an RLock raised "cannot release un-acquired lock"
            errors.append(exc)

    worker = threading.Thread(target=finish)
    worker.start()
    worker.join(10)
    assert errors == [] and isinstance(first, str) and isinstance(rest[-1], Answer)
    # Released for everyone: a question from a third thread may start.
    free: list[bool] = []
    other = threading.Thread(target=lambda: free.append(assistant.lock.acquire(timeout=1)))
    other.start()
    other.join(5)
    assert free == [True]


def test_load_gets_the_prompts_fixed_head_ready_before_any_question(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, generator = make(seed_index, embedder)
    assistant.load()
    assert generator.loads == 1
    warmed = generator.warmed or []
    head = build_messages("Who?", [])[:-1]
    assert warmed[:-1] == head and warmed[-1].role == "user"
