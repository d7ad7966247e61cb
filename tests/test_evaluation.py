import json
from pathlib import Path

import pytest

from rag.assistant import Assistant
from rag.calibration import Label, Scores, calibrate, score
from rag.config import Settings
from rag.datasets import EvalItem, load_dataset
from rag.errors import RagError
from rag.evaluation import (
    format_report,
    is_relevant,
    matches,
    run_eval,
    token_f1,
)
from rag.store import Index
from rag.support import SupportJudge
from tests.fakes import FakeEmbedder, ScriptedGenerator

ROOT = Path(__file__).resolve().parent.parent


def test_loads_project_jsonl_with_turns(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    f.write_text(
        json.dumps(
            {
                "id": "a",
                "question": "Who?",
                "answers": [["x", "y"]],
                "support": "S.",
                "answerable": True,
            }
        )
        + "\n\n"
        + json.dumps(
            {"id": "m", "turns": ["Q1?", "And Q2?"], "answers": [["z"]], "answerable": True}
        )
        + "\n"
        + json.dumps({"id": "u", "question": "Unknown?", "answers": [], "answerable": False})
    )
    a, m, u = load_dataset(f)
    assert (a.question, a.answers, a.support) == ("Who?", [["x", "y"]], ["S."])
    assert (m.question, m.history) == ("And Q2?", ["Q1?"])
    assert not u.answerable
    f.write_text("not json\n")
    with pytest.raises(RagError, match=":1:"):
        load_dataset(f)


def test_loads_llamaindex_labelled_rag_dataset(tmp_path: Path) -> None:
    f = tmp_path / "rag_dataset.json"
    example = {
        "query": "What is PoH?",
        "reference_contexts": ["Proof of History is a clock."],
        "reference_answer": "A clock.",
    }
    f.write_text(json.dumps({"examples": [example, example]}))
    items = load_dataset(f)
    assert len(items) == 2 and items[0].question == "What is PoH?"
    assert (
        items[0].contexts == ["Proof of History is a clock."] and items[0].reference == "A clock."
    )


def test_the_real_dev_set_and_solana_set_load() -> None:
    items = load_dataset(ROOT / "evals" / "seed.jsonl")
    assert sum(i.answerable for i in items) >= 40 and sum(not i.answerable for i in items) >= 10
    assert sum(bool(i.history) for i in items) >= 5
    solana = ROOT.parent / "shared" / "eval" / "blockchain_solana" / "rag_dataset.json"
    if solana.exists():
        assert len(load_dataset(solana)) == 58


def test_grading_helpers() -> None:
    assert matches("It is not a mutual defence pact.", [["mutual defense", "mutual defence"]])
    assert not matches("It is a pact.", [["mutual defense"], ["pact"]])
    assert token_f1("a clock for the chain", "a clock") == pytest.approx(2 * 0.4 * 1 / 1.4)
    item = EvalItem(
        "x", "q", support=["Iran has  not requested"], contexts=["one two three four five"]
    )
    assert is_relevant("Putin said Iran has not requested aid.", item)
    assert is_relevant("two three four five", item)
    assert not is_relevant("six seven eight nine", item)


def test_support_vetoes_numbers_and_negation_flips() -> None:
    judge = SupportJudge(FakeEmbedder())
    evidence = "Putin indicated that Iran has not requested military aid from Russia."
    assert judge.judge("Iran has not requested military aid from Russia.", evidence).supported
    assert judge.judge("Iran has requested military aid from Russia.", evidence).veto == "negation"
    assert judge.judge("Iran has not requested military aid 3 times.", evidence).veto == "number"
    assert not judge.judge("Xi Jinping visited Beijing airport.", evidence).supported


def test_run_eval_end_to_end_with_fakes(seed_index: Index, embedder: FakeEmbedder) -> None:
    gen = ScriptedGenerator(
        "The treaty does not obligate either nation to provide military support [1].",
        "Russia will send troops and tanks to Iran [1].",
    )
    assistant = Assistant(Settings(top_k=3, min_score=0.1), seed_index, embedder, gen)
    items = [
        EvalItem(
            "a",
            "Does the treaty obligate either nation to provide military support?",
            answers=[["not obligate"]],
            support=["does not obligate either nation to provide military support"],
        ),  # fmt: skip
        EvalItem("u", "Will Russia send troops to Iran?", answerable=False),
    ]
    report = run_eval(assistant, items, SupportJudge(embedder))
    s = report["summary"]
    assert s["answers"]["correct"] == 1.0
    assert s["refusals"]["abstention"] == 0.0  # the scripted model answered the unanswerable one
    assert s["retrieval"]["recall@5"] == 1.0
    assert s["citations"]["verbatim_quotes"] == 1.0
    first, second = report["results"]
    assert first["citations_supported"] == 1 and not first["failures"]
    assert (
        second["citations_supported"] == 0
        and "answered an unanswerable question" in second["failures"]
    )
    text = format_report(report, "test")
    assert "recall@1" in text and "u Will Russia send troops" in text


def test_calibration_fits_on_one_split_and_scores_the_other() -> None:
    fit_pairs = [
        Label("Iran has not asked Russia for military aid.", "Putin indicated that Iran has not requested military aid from Russia.", True, "fit"),
        Label("Putin spoke to reporters in St. Petersburg.", "Putin spoke to reporters in St. Petersburg on Thursday.", True, "fit"),
        Label("The storm closed schools.", "Putin spoke to reporters in St. Petersburg on Thursday.", False, "fit"),
        Label("The council built a bridge.", "«Their condemnation of Israel’s actions is unequivocal,» the Kremlin noted.", False, "fit"),
    ]  # fmt: skip
    test_pairs = [
        Label("Iran asked Russia for military aid.", "Putin indicated that Iran has not requested military aid from Russia.", False, "test"),
        Label("Putin spoke in St. Petersburg.", "Putin spoke to reporters in St. Petersburg on Thursday.", True, "test"),
    ]  # fmt: skip
    result = calibrate(SupportJudge(FakeEmbedder()), fit_pairs + test_pairs)
    assert set(result.current) == set(result.refit) == {"fit", "test"}
    assert result.refit["test"].pairs == 2 and result.refit["test"].positives == 1
    # The negation veto holds whatever the weights: the contradicted claim is never supported.
    assert result.refit["fit"].agreement == 1.0
    assert score([True, False], [True, True]) == Scores(2, 2, 1.0, 0.5, 0.5)


def test_the_not_quoted_finding_is_not_counted_as_an_unsupported_fact() -> None:
    from rag.evaluation import unsupported_facts
    from rag.records import Answer
    from rag.said import NOT_QUOTED

    judge = SupportJudge(FakeEmbedder())
    finding = f"{NOT_QUOTED}Vladimir Putin on the treaty."
    assert unsupported_facts(Answer("q", finding, False, [], []), judge) == 0
    # A sentence of the model's with no supporting passage still counts.
    claim = f"{finding} Putin signed the treaty in Tehran [1]."
    assert unsupported_facts(Answer("q", claim, False, [], []), judge) == 1
