"""rag.said: "What did X say (about Y)?" answered with X's own words, through the Assistant."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.articles import find_files, load_articles
from rag.assistant import Assistant
from rag.config import Settings
from rag.filters import Scope
from rag.quotes import extract_quotes
from rag.records import Answer
from rag.said import SaidQuestion, parse
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder, ScriptedGenerator

SETTINGS = Settings(top_k=3, min_score=0.1, chunk_tokens=60, unsupported="keep")
KEYS = {
    "question", "answer", "abstained", "citations", "passages", "timings", "prompt_tokens",
    "completion_tokens", "verification", "searched_for", "as_of",
}  # fmt: skip


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What did Putin say?", SaidQuestion("Putin", "", False)),
        (
            "What did Putin say about the treaty with Iran?",
            SaidQuestion("Putin", "the treaty with Iran", True),
        ),
        ("What has Zakharova said about Washington?", SaidQuestion("Zakharova", "Washington", True)),
        ("What does the Kremlin say about the call", SaidQuestion("Kremlin", "the call", True)),
        ("what did Putin tell reporters on Iran?", SaidQuestion("Putin", "Iran", True)),
        ("What did Putin warn about?", SaidQuestion("Putin", "", False)),
        ("What did Ursula von der Leyen say?", SaidQuestion("Ursula von der Leyen", "", False)),
        # An audience or an occasion ranks the quotes but need not be in them.
        ("What did Zelensky say to the NATO summit?", SaidQuestion("Zelensky", "the NATO summit", False)),
        ("What did George Santos announce after his arraignment?", SaidQuestion("George Santos", "his arraignment", False)),
    ],
)  # fmt: skip
def test_said_questions_are_recognised(question: str, expected: SaidQuestion) -> None:
    assert parse(question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "What did the report say about inflation?",  # no person: a report has no quotes
        "What did he say?",  # a pronoun: follow-ups are rewritten with the name first
        "What did Putin do about the treaty?",
        "How did Putin react to the strikes?",  # a reaction may be an act, not words
        "Did Putin say anything about the treaty?",
        "Who said the treaty is not a defense pact?",
        "What did Putin say about Iran? Options: aid; no aid; a treaty; sanctions.",
        "What did Putin say about Iran and what did Xi say?",
        "What did Putin say Monday about Iran?",
    ],
)
def test_other_questions_are_left_to_the_model(question: str) -> None:
    assert parse(question) is None


def make(
    index: Index, embedder: FakeEmbedder, *replies: str
) -> tuple[Assistant, ScriptedGenerator]:
    gen = ScriptedGenerator(*replies)
    return Assistant(SETTINGS, index, embedder, gen), gen


def spans(text: str, name: str) -> list[tuple[int, int]]:
    return [(q.start, q.end) for q in extract_quotes(text) if q.speaker == name]


def assert_own_words(answer: Answer, text: str, name: str) -> None:
    """Every citation is exactly one of `name`'s quotes, and its passage holds it."""
    own = spans(text, name)
    assert answer.citations and not answer.abstained
    for c in answer.citations:
        assert (c.start, c.end) in own
        assert c.quote == text[c.start : c.end] and f"“{c.quote}” [{c.n}]" in answer.answer
        passage = next(p for p in answer.passages if p.n == c.n)
        assert passage.chunk.start <= c.start and c.end <= passage.chunk.end
        assert passage.chunk.text == text[passage.chunk.start : passage.chunk.end]


def test_putin_is_answered_with_his_words_only_never_his_neighbours(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, gen = make(seed_index, embedder, "should not be used")
    text = seed_index.articles()[0].text
    answer = assistant.ask("What did Putin say?")
    assert gen.prompts == [] and answer.timings.first_token_s is None  # no model asked
    assert answer.answer.startswith("Vladimir Putin said: “")
    assert_own_words(answer, text, "Vladimir Putin")
    assert len(answer.citations) == 2
    others = [s for n in ("Maria Zakharova", "Yuri Ushakov", "Kremlin") for s in spans(text, n)]
    assert others and all(
        not (c.start < e and s < c.end) for c in answer.citations for s, e in others
    )
    assert set(answer.to_dict()) == KEYS


def test_a_topic_picks_the_quote_about_it(seed_index: Index, embedder: FakeEmbedder) -> None:
    assistant, _ = make(seed_index, embedder)
    text = seed_index.articles()[0].text
    answer = assistant.ask("What did Putin say about Khamenei being assassinated?")
    assert_own_words(answer, text, "Vladimir Putin")
    assert [c.quote for c in answer.citations] == [
        "I don’t want to entertain the thought of such a scenario."
    ]
    answer = assistant.ask("What did Maria Zakharova say about U.S. military intervention?")
    assert_own_words(answer, text, "Maria Zakharova")
    assert "We specifically urge Washington" in answer.citations[0].quote


def test_the_kremlin_paragraph_naming_putin_is_not_his(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    # "Putin spoke by phone with Xi Jinping" sits next to the Kremlin's quote about the call.
    assistant, gen = make(seed_index, embedder, "Putin spoke with Xi Jinping by phone [1].")
    answer = assistant.ask("What did Putin say about his call with Xi Jinping?")
    assert answer.answer.startswith("The articles do not quote Vladimir Putin on his call with")
    assert "Their condemnation" not in answer.answer
    assert len(gen.prompts) == 1  # then the model answered as usual
    assert answer.answer.endswith("Putin spoke with Xi Jinping by phone [1].")


def test_not_quoted_on_the_topic_is_said_before_the_usual_answer(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    reply = "The treaty is not a mutual defense agreement [1]."
    assistant, gen = make(seed_index, embedder, reply)
    items = list(assistant.stream("What did Putin say about the treaty with Iran?"))
    answer = items[-1]
    assert isinstance(answer, Answer)
    first = "The articles do not quote Vladimir Putin on the treaty with Iran."
    assert items[0] == first + " "  # streamed first, before the model's words
    assert answer.answer == f"{first} {reply}"
    assert answer.citations and all("treaty" in c.quote for c in answer.citations)
    assert "Question: What did Putin say about the treaty with Iran?" in gen.prompts[0][-1].content


def test_not_quoted_and_a_model_refusal_is_only_the_not_quoted_sentence(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, _ = make(seed_index, embedder, "The articles don't say.")
    answer = assistant.ask("What did Xi Jinping say?")
    assert answer.answer == "The articles do not quote Xi Jinping."
    assert answer.abstained and answer.citations == []


def test_someone_the_articles_never_name_gets_the_usual_answer(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    reply = "Iran did not ask Russia for military aid [1]."
    assistant, gen = make(seed_index, embedder, reply)
    answer = assistant.ask("What did Angela Merkel say about military aid for Iran?")
    assert answer.answer == reply and len(gen.prompts) == 1
    assert "do not quote" not in answer.answer


def test_a_quote_outside_the_retrieved_passages_gets_a_passage_of_its_own(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant, _ = make(seed_index, embedder)
    text = seed_index.articles()[0].text
    answer = assistant.ask("What did Zakharova say?", top_k=1)
    assert_own_words(answer, text, "Maria Zakharova")
    assert len(answer.citations) == 2
    assert [p.n for p in answer.passages] == list(range(1, len(answer.passages) + 1))


def test_the_scope_limits_whose_quotes_are_used(tmp_path: Path, embedder: FakeEmbedder) -> None:
    for name, outlet, date, words in (
        ("a.txt", "Reuters", "2022-06-12", "The bridge will reopen in June"),
        ("b.txt", "BBC", "2022-07-01", "The bridge repairs are late again"),
    ):
        (tmp_path / name).write_text(
            f"---\ntitle: Bridge {outlet}\nsource: {outlet}\ndate: {date}\n---\n"
            f"Bridge news\n\nMayor Jane Doe spoke about the bridge.\n\n"
            f"“{words},” Jane Doe said on Monday.\n",
            encoding="utf-8",
        )
    build_index(tmp_path / "idx", load_articles(find_files([tmp_path]), print), embedder, 60, 1)
    index = Index(tmp_path / "idx")
    try:
        assistant, _ = make(index, embedder)
        everywhere = assistant.ask("What did Jane Doe say about the bridge?")
        assert {c.outlet for c in everywhere.citations} == {"Reuters", "BBC"}
        bbc = assistant.ask("What did Jane Doe say about the bridge?", scope=Scope(source="BBC"))
        assert [c.quote for c in bbc.citations] == ["The bridge repairs are late again"]
        assert bbc.answer == "Jane Doe said: “The bridge repairs are late again” [1]."
        assert bbc.citations[0].published == "2022-07-01"
    finally:
        index.close()


def test_a_quote_after_a_joined_verb_and_a_name_with_von_der(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    # "Trump has exacerbated concerns ... and ambiguously called for ... «unconditional
    # surrender.»": the second verb shares the sentence's subject (a rag.quotes fix).
    assistant, _ = make(seed_index, embedder)
    answer = assistant.ask("What did Trump say about Iran?")
    assert answer.answer == "Donald Trump said: “unconditional surrender.” [1]"
    text = (
        "EU chief Ursula von der Leyen called Abe “a wonderful person, great democrat” on Friday."
    )
    assert [(q.speaker, q.text) for q in extract_quotes(text)] == [
        ("Ursula von der Leyen", "a wonderful person, great democrat")
    ]


def test_the_same_words_in_two_articles_are_quoted_once(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    for name, words in (
        ("a.txt", "The bridge will reopen in June and we are proud of it"),
        ("b.txt", "The bridge will reopen in June"),
    ):
        (tmp_path / name).write_text(
            f"Bridge news {name}\n\n“{words},” Mayor Jane Doe said of the bridge.\n",
            encoding="utf-8",
        )
    build_index(tmp_path / "idx", load_articles(find_files([tmp_path]), print), embedder, 60, 1)
    index = Index(tmp_path / "idx")
    try:
        answer = make(index, embedder)[0].ask("What did Jane Doe say about the bridge?")
        assert len(answer.citations) == 1 and answer.answer.startswith("Jane Doe said: “The")
    finally:
        index.close()


def test_an_unattributed_quote_next_to_x_stops_the_not_quoted_claim(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    # "believes" is no speech verb, so the extractor cannot tell whose the quote is: the answer
    # must not claim that the articles do not quote Saxi.
    (tmp_path / "a.txt").write_text(
        "Finland and NATO\n\nHakon Saxi, a professor, believes membership would “probably "
        "result in a Russian build-up along the border.”\n",
        encoding="utf-8",
    )
    build_index(tmp_path / "idx", load_articles(find_files([tmp_path]), print), embedder, 60, 1)
    index = Index(tmp_path / "idx")
    try:
        reply = "Saxi expects a Russian build-up along the border [1]."
        assistant, _ = make(index, embedder, reply)
        answer = assistant.ask("What did Saxi say about the border?")
        assert "do not quote" not in answer.answer
        assert answer.answer.startswith("Saxi expects")
    finally:
        index.close()
