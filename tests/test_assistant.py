import re

import pytest

from rag.assistant import Assistant
from rag.config import Settings
from rag.errors import RagError
from rag.records import Answer
from rag.store import Index
from tests.fakes import FakeEmbedder, ScriptedGenerator

# "keep": these tests are about wiring; the hashing fake embedder is no judge of paraphrase.
SETTINGS = Settings(top_k=3, min_score=0.1, chunk_tokens=60, unsupported="keep")


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
        "prompt_tokens", "completion_tokens", "verification", "searched_for",
    }  # fmt: skip
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
    answer = assistant.ask("What did Putin say about the treaty?")
    assert answer.abstained and answer.citations == []


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
