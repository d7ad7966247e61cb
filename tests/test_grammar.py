"""The parse fallback (rag.grammar): quotes the rules leave open get the subject of the verb of
saying that introduces them, and only then. Real spaCy model, made-up sentences."""

from __future__ import annotations

import pytest

from rag import attribution, grammar
from rag.quotes import extract_quotes


def speakers(text: str) -> dict[str, str]:
    return {q.text: q.speaker for q in extract_quotes(text)}


@pytest.mark.parametrize(
    ("text", "quote", "speaker"),
    [
        (
            "Dairy costs rose again.\n\n“The war is the thing that is causing the problem,” "
            "Meadow Consulting managing partner Tom Greaves said.",
            "The war is the thing that is causing the problem",
            "Tom Greaves",
        ),
        (
            "Sales rose in March.\n\n“This is a major turning point for the shops,” Dana "
            "Whitlock, lead analyst at Acme Insights said in a statement.",
            "This is a major turning point for the shops",
            "Dana Whitlock",
        ),
        (
            "Senator Priya Raman, in a statement on Saturday, alleged that the agency "
            "“deliberately withheld the report for days.”",
            "deliberately withheld the report for days.",
            "Priya Raman",
        ),
    ],
)
def test_the_subject_of_the_verb_of_saying_is_the_speaker(
    text: str, quote: str, speaker: str
) -> None:
    assert speakers(text)[quote] == speaker


def test_the_parse_only_fills_quotes_the_rules_leave_open(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        "Sales rose in March.\n\n“This is a major turning point for the shops,” Dana "
        "Whitlock, lead analyst at Acme Insights said in a statement."
    )
    assert attribution.attribute_spans(text)  # with the parse
    monkeypatch.setattr(attribution.grammar, "speakers", lambda *a, **k: {})
    assert attribution.attribute_spans(text) == []  # the rules alone leave it open


@pytest.mark.parametrize(
    "text",
    [
        # a passive subject is not the speaker
        "Lee Park was admitted to hospital for “complications following a recent procedure.”",
        # two people are no one speaker
        "Reps. Ann Cole and Ben Ruiz, two lawmakers, accused him of a “blatant abuse of power.”",
        # a verb that is not one of saying
        "After the vote, Iran passed a new “hijab and chastity” law with long prison terms.",
        # "a" before a title names no one
        "A Labour MP has demanded “assurances that public money will not be used”.",
    ],
)
def test_no_speaker_without_a_named_subject_of_a_verb_of_saying(text: str) -> None:
    assert extract_quotes(text) == []


def test_without_spacy_the_rules_decide_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grammar, "_nlp", lambda: None)
    monkeypatch.setattr(grammar, "_parsed", {})
    text = "“It will pass,” Tom Greaves of Meadow Consulting recalled at a hearing on Monday."
    assert [s.speaker for _, s in attribution.attribute_spans(text)] == ["Tom Greaves"]
    text = "Sales rose.\n\n“This is a turning point for us,” Dana Whit, analyst at Acme said."
    assert attribution.attribute_spans(text) == []  # what only the parse would find
