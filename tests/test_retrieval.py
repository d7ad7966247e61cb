from pathlib import Path

import pytest

from rag.articles import make_article
from rag.errors import RagError
from rag.retrieval import Retriever, keywords, standalone
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder


def test_follow_up_pronouns_become_the_previous_questions_name() -> None:
    assert standalone("Did Iran ask him for help?", ["What did Putin say about the treaty?"]) == (
        "Did Iran ask Putin for help?",
        "",
    )
    assert standalone("What did she urge Washington to do?", ["Who is Maria Zakharova?"]) == (
        "What did Maria Zakharova urge Washington to do?",
        "",
    )


def test_unresolved_references_keep_the_previous_question() -> None:
    previous = "What did Israel do last Friday?"
    assert standalone("How did Tehran respond to that?", [previous]) == (
        "How did Tehran respond to that?",
        previous,
    )
    assert standalone("Who is Putin?", []) == ("Who is Putin?", "")


def test_keywords_drop_question_and_stop_words() -> None:
    assert keywords("What did Putin say about the treaty?") == ["putin", "treaty"]


def test_modes_rank_by_their_own_signal(seed_index: Index, embedder: FakeEmbedder) -> None:
    question = "Where did Putin hold the late-night press conference?"
    for mode in ("hybrid", "dense", "lexical"):
        passages = Retriever(seed_index, embedder, mode).retrieve(question, 3, 0.1, 900)
        assert passages and "St. Petersburg" in passages[0].chunk.text, mode
        assert [p.n for p in passages] == list(range(1, len(passages) + 1))
    with pytest.raises(RagError, match="unknown retrieval mode"):
        Retriever(seed_index, embedder, "fuzzy")


def test_near_duplicate_articles_do_not_crowd_out_others(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    story = "Ministers agreed the harbour budget after a long night of talks in Brussels."
    docs = [
        make_article(tmp_path / "a.txt", "a", story),
        make_article(tmp_path / "b.txt", "b", story),  # the same story filed twice
        make_article(tmp_path / "c.txt", "c", "The harbour budget talks ended in Brussels."),
    ]
    build_index(tmp_path / "idx", docs, embedder, 60, 0)
    index = Index(tmp_path / "idx")
    passages = Retriever(index, embedder).retrieve("harbour budget Brussels", 3, 0.0, 900)
    texts = [p.chunk.text for p in passages]
    assert texts.count(story) == 1 and len(passages) == 2


def test_budget_is_counted_with_the_given_tokenizer(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    words = Retriever(seed_index, embedder, count=lambda t: len(t.split()))
    few = words.retrieve("Putin treaty Iran", 4, 0.1, 60)
    many = words.retrieve("Putin treaty Iran", 4, 0.1, 10_000)
    # One ~45-word chunk fits in 60 words, two do not (touching chunks merge into one passage).
    assert len(few) == 1 and len(few[0].chunk.text.split()) <= 60
    assert sum(len(p.chunk.text.split()) for p in many) > 60
    assert len(few[0].chunk.text.split()) <= 60


def test_wire_copies_give_one_passage_per_story_and_leave_room_for_others(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    from rag.store import build_index
    from tests.test_wires import BASE, COPY, OTHER, article, story

    docs = [
        article(tmp_path, "late", COPY, "Daily Post", "2022-07-02"),
        article(tmp_path, "early", BASE, "Reuters", "2022-07-01"),
        article(tmp_path, "other", OTHER, "AP", "2022-07-01"),
        article(tmp_path, "third", story(3), "BBC", "2022-07-03"),
    ]
    build_index(tmp_path / "idx", docs, embedder, 40, 0)
    index = Index(tmp_path / "idx")
    passages = Retriever(index, embedder).retrieve(" ".join(BASE[2:5]), 3, -1.0, 2000)
    by_article = [p.chunk.article_id for p in passages]
    late, early = docs[0].id, docs[1].id
    assert not (late in by_article and early in by_article)  # one copy of the story shown
    assert len(passages) == 3 and len(set(by_article)) == 3  # the room went to other stories
    (wire,) = [p for p in passages if p.chunk.article_id in (late, early)]
    text = {a.id: a.text for a in docs}[wire.chunk.article_id]
    assert text[wire.chunk.start : wire.chunk.end] == wire.chunk.text  # verbatim where cited
    assert set(wire.also_in) | {wire.outlet} == {"Reuters", "Daily Post"}
    index.close()
