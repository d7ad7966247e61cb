from rag.records import Chunk, Passage
from rag.verification import focus_terms, verify
from tests.fakes import FakeEmbedder


def passages(seed_text: str) -> list[Passage]:
    out = []
    spans = [("Despite these connections", "military support."), ("Yuri Ushakov", "with Israel.")]
    for n, (first, last) in enumerate(spans, 1):
        start, end = seed_text.index(first), seed_text.index(last) + len(last)
        chunk = Chunk(f"a:{n}", "a", seed_text[start:end], start, end)
        out.append(Passage(n, chunk, "T", "s.txt", 0.5))
    return out


def test_a_guessed_number_or_name_is_dropped(seed_text: str) -> None:
    ps = passages(seed_text)
    checked = verify(
        "How many drones did Iran launch?", "Iran launched 10 drones [1].", ps, FakeEmbedder()
    )
    assert checked.abstained and checked.answer == "The articles don't say."
    checked = verify(
        "Who spoke?",
        "The minister Lavrov said so [1]. Ushakov told journalists about the dispute [2].",
        ps,
        FakeEmbedder(),
    )
    assert not checked.abstained and "Lavrov" not in checked.answer and "Ushakov" in checked.answer


def test_an_answer_about_something_else_becomes_the_best_sentence(seed_text: str) -> None:
    ps = passages(seed_text)
    question = "What did Putin say about the treaty?"
    assert focus_terms(question, ps) == ["treaty"]
    checked = verify(question, "Putin said Iran has not approached Russia [1].", ps, FakeEmbedder())
    assert checked.answer.startswith(
        "Furthermore, he clarified that a treaty"
    ) and checked.answer.endswith("[1]")
    assert "shown instead: the article sentence" in checked.note
    kept = verify(
        question, "The treaty is not a mutual defense agreement [1].", ps, FakeEmbedder(), "keep"
    )
    assert kept.answer == "The treaty is not a mutual defense agreement [1]." and kept.note == ""


def test_a_citation_to_the_wrong_passage_is_repointed(seed_text: str) -> None:
    ps = passages(seed_text)
    claim = "Putin indicated that Iran has not requested military aid from Russia"
    checked = verify("Has Iran asked Russia for military aid?", f"{claim} [2].", ps, FakeEmbedder())
    assert checked.answer == f"{claim} [1]." and "Corrected the citation" in checked.note
    uncited = verify("Has Iran asked Russia for military aid?", f"{claim}.", ps, FakeEmbedder())
    assert uncited.answer == f"{claim} [1]."


def test_a_dodge_of_how_many_or_when_is_refused(seed_text: str) -> None:
    ps = passages(seed_text)
    dodge = verify(
        "How many Iranian partners approached Russia?",
        "Iran has not requested military aid from Russia [1].",
        ps,
        FakeEmbedder(),
    )
    assert dodge.abstained and "number" in dodge.note
    dated = verify(
        "When did Putin speak?",
        "Putin spoke at a late-night press conference [1].",
        ps,
        FakeEmbedder(),
    )
    assert not dated.abstained  # "night" is a time


def test_an_unsupported_sentence_is_never_shown_as_fact(seed_text: str) -> None:
    ps = passages(seed_text)
    answer = "Iran has not requested military aid from Russia [1]. Putin promised Russia would defend Iran with its navy [1]."
    dropped = verify("Has Iran asked Russia for military aid?", answer, ps, FakeEmbedder(), "drop")
    assert "navy" not in dropped.answer and "military aid" in dropped.answer
    marked = verify("Has Iran asked Russia for military aid?", answer, ps, FakeEmbedder(), "mark")
    assert (
        "Putin promised Russia would defend Iran with its navy (not found in the articles)"
        in marked.answer
    )


def test_the_mark_stays_inside_a_sentence_that_ends_in_a_quote() -> None:
    from rag.citations import answer_sentences
    from rag.verification import _marked

    marked = _marked("He said it would «represent a perilous move.»")
    assert marked == "He said it would «represent a perilous move» (not found in the articles)."
    assert [s for s, _ in answer_sentences(marked)] == [marked]


def test_an_answer_that_restates_the_question_is_not_an_answer(seed_text: str) -> None:
    ps = passages(seed_text)
    # Nothing in the passages adds to the question either: refuse.
    restated = verify(
        "Which Iranian partners approached Russia?",
        "Iranian partners approached Russia [1].",
        ps,
        FakeEmbedder(),
    )
    assert not restated.abstained or "repeated the question" in restated.note
    # A denial no passage supports only negates the question.
    denial = verify(
        "How did Ushakov respond to the Kremlin?",
        "Ushakov did not respond to the Kremlin.",
        ps,
        FakeEmbedder(),
    )
    assert "did not respond" not in denial.answer and "only denied the question" in denial.note
    # "No" to a yes/no question is information, even with the question's own words.
    no = verify(
        "Does the treaty obligate either nation to provide military support?",
        "No, the treaty does not obligate either nation to provide military support [1].",
        ps,
        FakeEmbedder(),
    )
    assert not no.abstained and no.answer.startswith("No, the treaty")


def test_a_name_the_question_uses_is_not_a_guess(seed_text: str) -> None:
    ps = passages(seed_text)
    checked = verify(
        "Which city do Moscow and the Americans disagree about?",
        "The Americans and Moscow disagree about Beijing [2].",
        ps,
        FakeEmbedder(),
    )
    assert "Left out" not in checked.note


def test_answer_kinds_a_question_asks_for(seed_text: str) -> None:
    ps = passages(seed_text)
    cases = {
        # "earlier this year" is a time, but not the date asked for
        "On what exact date was the treaty signed?": "The treaty was signed earlier this year [1].",
        "How long did the press conference last?": "The press conference was late at night [1].",
        "What is the official name of the treaty with Iran?": "The treaty is not a mutual defense agreement [1].",
        "How did Israel react to the treaty?": "The treaty does not obligate either nation [1].",
        "What did Ushakov say about the war in Ukraine?": "Ushakov said the dispute should be settled «exclusively through political and diplomatic channels» [2].",
    }
    for question, answer in cases.items():
        checked = verify(question, answer, ps, FakeEmbedder())
        assert checked.abstained, (question, checked)
    said = verify(
        "What did Ushakov say about the dispute?",
        "Ushakov said the dispute should be settled «exclusively through political and diplomatic channels» [2].",
        ps,
        FakeEmbedder(),
    )
    assert not said.abstained and said.answer.startswith("Ushakov said")
