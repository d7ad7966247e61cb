from rag.choices import read_as_option
from rag.records import Chunk, Passage
from rag.support import SupportJudge
from rag.verification import (
    CHECKS,
    Draft,
    agree_yes_no,
    first_failure,
    gives_kind,
    names_one_option,
    not_bare_denial,
    says_something,
    verify,
)
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
    assert "did not respond" not in denial.answer and "denied the question" in denial.note
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


def draft(text: str, question: str = "What did Putin say?", options: list[str] | None = None,
          marked: int = 0, ps: list[Passage] | None = None) -> Draft:  # fmt: skip
    return Draft(question, options or [], text, 1, marked, ps or [], SupportJudge(FakeEmbedder()))


def test_check_names_one_option() -> None:
    options = ["IKEA", "Best Buy", "Petco"]
    assert names_one_option(draft("IKEA [1].", options=options)) == ""
    assert "none" in names_one_option(draft("A retailer [1].", options=options))
    assert "more than one" in names_one_option(draft("IKEA or Petco [1].", options=options))
    assert names_one_option(draft("Anything.")) == ""  # not a choice question


def test_check_gives_kind_reads_the_text_without_markers() -> None:
    question = "On what exact date was the treaty signed?"
    assert gives_kind(draft("It was signed earlier this year [1].", question)) == "gave no date"
    assert gives_kind(draft("It was signed on 17 January [1].", question)) == ""


def test_check_says_something_and_not_bare_denial() -> None:
    question = "Which AFP journalist contributed the reporting?"
    assert says_something(draft("AFP contributed the reporting [1].", question))
    assert says_something(draft("Jane Doe of AFP contributed it [1].", question)) == ""
    assert says_something(draft("IKEA [1].", question, options=["IKEA", "Petco"])) == ""
    denial = draft("Khamenei did not respond (not found in the articles).",
                   "How did Khamenei respond to the demand?", marked=1)  # fmt: skip
    assert not_bare_denial(denial)
    assert not_bare_denial(draft("Khamenei did not respond [1].", denial.question)) == ""


def test_checks_run_in_order_and_each_has_a_name() -> None:
    assert [name for name, _ in CHECKS][0] == "one option"
    assert first_failure(draft("Putin said the treaty binds no one [1].")) == ""


def test_a_yes_that_the_rest_denies_becomes_no() -> None:
    question = "Has Iran requested military aid from Russia?"
    fixed, changed = agree_yes_no(question, "Yes, Iran has not requested military aid [1].")
    assert changed and fixed == "No, Iran has not requested military aid [1]."
    assert agree_yes_no(question, "Yes, Iran requested aid [1].") == (
        "Yes, Iran requested aid [1].",
        False,
    )
    # A negation the question itself has is not a contradiction.
    assert not agree_yes_no("Is it not binding?", "Yes, it is not binding.")[1]


def test_a_choice_answer_is_read_as_the_option_it_means() -> None:
    options = ["A ruling restricting the EPA", "A ruling that overturned Roe vs Wade"]
    answer, note = read_as_option("A ruling overturning Roe vs Wade [4].", options)
    assert answer == "A ruling that overturned Roe vs Wade [4]." and "as the option" in note
    assert read_as_option("A ruling that overturned Roe vs Wade [4].", options)[1] == ""


def test_a_choice_question_without_a_pick_takes_the_supported_option(seed_text: str) -> None:
    ps = passages(seed_text)
    question = "Who spoke to journalists about the dispute? Options: Yuri Ushakov; Sergei Lavrov."
    checked = verify(question, "A Kremlin aide did [2].", ps, FakeEmbedder())
    assert (
        checked.answer.startswith("Yuri Ushakov [2]")
        and "option an article supports" in checked.note
    )
    # The option names are not names the passages must mention: "Lavrov" is no guess here.
    kept = verify(question, "Sergei Lavrov [2].", ps, FakeEmbedder())
    assert not kept.abstained and "Left out" not in kept.note


def test_true_or_false_is_an_answer() -> None:
    question = "True or false: a tourist fell into the crater of Mount Vesuvius?"
    assert says_something(draft("True, a tourist fell into the crater [1].", question)) == ""


def test_a_day_no_passage_names_is_a_guess_even_first_in_the_answer(seed_text: str) -> None:
    question = "On what date did Putin hold the press conference in St. Petersburg?"
    checked = verify(question, "Monday night.", passages(seed_text), FakeEmbedder())
    assert checked.abstained and "Monday" not in checked.answer


def test_an_unsupported_option_gives_way_to_the_option_the_closest_sentence_names() -> None:
    texts = [
        "The rocket lifted off from the Arnhem Space Centre in Australia, the first NASA launch "
        "from a commercial spaceport outside the US.",
        "Stock markets in Asia fell on Monday as investors weighed rising interest rates.",
    ]
    ps = [
        Passage(n, Chunk(f"a:{n}", f"a{n}", text, 0, len(text)), "T", "s.txt", 0.5)
        for n, text in enumerate(texts, 1)
    ]
    question = (
        "NASA made history this week after its first launch from a commercial spaceport "
        "outside the US. Where did the launch occur? Options: Asia; Australia; Antarctica."
    )
    checked = verify(question, "Asia [2].", ps, FakeEmbedder())
    assert checked.answer == "Australia [1]." and not checked.abstained
    assert "option named in the article sentence closest to the question" in checked.note
    # When the closest sentence names the model's own option, the model's answer stands.
    kept = verify(question, "Australia [1].", ps, FakeEmbedder())
    assert kept.answer.startswith("Australia") and "shown instead" not in kept.note
