"""Question kinds and choice questions: each rule on its own."""

import pytest

from rag.questions import KINDS, kinds_asked, named_options, nearest_option, split_options

OPTIONS = ["Bed Bath & Beyond", "IKEA", "Best Buy", "Petco"]


def test_options_list_is_split_off_the_question() -> None:
    asked, options = split_options(
        "Which company? Options: Bed Bath & Beyond; IKEA; Best Buy; Petco."
    )
    assert asked == "Which company?" and options == OPTIONS


@pytest.mark.parametrize(
    ("question", "options"),
    [
        ("Was it Biden or Donald Trump?", ["Biden", "Donald Trump"]),
        ("Is the treaty void or binding?", ["void", "binding"]),
        ("Which of Paris, Rome or Berlin is the capital?", ["Paris", "Rome", "Berlin"]),
        ("Was it a success, or not?", []),
        ("Did Iran ask for help?", []),
        ("What did Putin say about the treaty?", []),
    ],
)
def test_either_or_and_which_of_are_choice_questions(question: str, options: list[str]) -> None:
    assert split_options(question)[1] == options


def test_named_options_counts_the_longest_name_once() -> None:
    assert named_options("Bed Bath &amp; Beyond [1].", OPTIONS) == [0]
    assert named_options("It was Best Buy, not IKEA.", OPTIONS) == [1, 2]
    assert named_options("Joe Biden said so.", ["Biden", "Joe Biden"]) == [1]
    assert named_options("Nothing here.", OPTIONS) == []


def test_nearest_option_maps_a_paraphrase_and_refuses_a_tie_or_a_miss() -> None:
    rulings = ["A ruling restricting the EPA", "A ruling that overturned Roe vs Wade"]
    assert nearest_option("A ruling overturning Roe vs Wade [4].", rulings) == 1
    assert nearest_option("£51.5m", ["£51m", "£75m"]) is None
    assert nearest_option("USC and UCLA", ["USC and UCLA", "UCLA and USC"]) is None  # a tie
    assert nearest_option("UCLA and USC", ["USC and UCLA", "Stanford and Cal"]) == 0


@pytest.mark.parametrize(
    ("question", "kind", "good", "bad"),
    [
        (
            "How many drones did Iran launch?",
            "number",
            "Iran launched 40 drones",
            "Iran launched drones",
        ),
        ("How long did the call last?", "duration", "It lasted two hours", "It was cordial"),
        (
            "On what exact date was it signed?",
            "date",
            "It was signed on 17 January",
            "It was signed earlier this year",
        ),
        ("When did Putin speak?", "time", "Putin spoke on Thursday", "Putin spoke to reporters"),
        (
            "What is the name of the treaty?",
            "name",
            "It is the Comprehensive Strategic Partnership",
            "it is a treaty",
        ),
        (
            "How did Khamenei respond to the demand?",
            "reaction",
            "Khamenei rejected the demand",
            "The demand was unconditional surrender",
        ),
        (
            "What did Putin say about the treaty?",
            "topic",
            "Putin said the treaty is no defence pact",
            "Putin said Iran has not asked for aid",
        ),
    ],
)
def test_each_kind_tells_an_answer_from_a_dodge(
    question: str, kind: str, good: str, bad: str
) -> None:
    (asked,) = [k for k in kinds_asked(question) if k.name == kind]
    assert asked.gives(good, question) and not asked.gives(bad, question)
    assert asked.missing  # a reader's words for the note


def test_every_kind_has_a_name_and_a_reason() -> None:
    assert len({k.name for k in KINDS}) == len(KINDS)
    assert all(k.missing.split()[0] in ("gave", "did", "was") for k in KINDS)


def test_a_number_is_asked_for_wherever_how_many_stands() -> None:
    question = "Exactly how many civilians have been killed since the strikes began?"
    assert [k.name for k in kinds_asked(question)] == ["number"]
    assert "duration" in [k.name for k in kinds_asked("So how long did the talks last?")]
