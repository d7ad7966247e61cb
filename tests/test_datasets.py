"""RealTime QA weeks: questions with and without options, articles by url, grading, harm."""

import json
from pathlib import Path

import pytest

from rag.datasets import expand, load_dataset, realtimeqa_articles, realtimeqa_index_name
from rag.errors import RagError
from rag.evaluation import format_table, grade


def week(tmp_path: Path) -> Path:
    qa = tmp_path / "20990101_qa.jsonl"
    qa.write_text(json.dumps({
        "question_id": "20990101_0", "question_sentence": "Which company cut the AC?",
        "choices": ["Bed Bath & Beyond", "IKEA", "Best Buy", "Petco"], "answer": ["0"],
    }) + "\n")  # fmt: skip
    page = {"url": "https://a/1", "title": "AC cut", "text": "Bed Bath & Beyond cut the AC."}
    other = {"url": "https://a/2", "title": "", "text": "IKEA opened a store."}
    rows = [{"search_result": [page, other]}, {"search_result": [page]}]  # page twice
    (tmp_path / "20990101_gcs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return qa


def test_a_week_is_asked_with_its_options_or_open(tmp_path: Path) -> None:
    qa = week(tmp_path)
    (item,) = load_dataset(qa)
    assert (
        item.question
        == "Which company cut the AC? Options: Bed Bath & Beyond; IKEA; Best Buy; Petco."
    )
    assert item.gold == 0 and item.with_options
    (bare,) = load_dataset(qa, open_questions=True)
    assert bare.question == "Which company cut the AC?" and bare.answers == [["Bed Bath & Beyond"]]
    assert expand([tmp_path]) == [qa]


def test_articles_are_deduplicated_by_url_with_the_title_first(tmp_path: Path) -> None:
    qa = week(tmp_path)
    gcs, articles = realtimeqa_articles(qa)
    assert [a.source for a in articles] == ["https://a/1", "https://a/2"]
    assert articles[0].text.startswith("AC cut\n\n") and articles[1].title == "https://a/2"
    name = realtimeqa_index_name(gcs)
    assert name.startswith("realtimeqa-20990101-") and name == realtimeqa_index_name(gcs)
    gcs.write_text("not json\n")
    with pytest.raises(RagError, match="not a RealTime QA search result"):
        realtimeqa_articles(qa)


def test_grading_names_the_gold_option_and_no_other(tmp_path: Path) -> None:
    (item,) = load_dataset(week(tmp_path))
    assert grade(item, "Bed Bath & Beyond [1].", False)
    assert not grade(item, "Bed Bath & Beyond or IKEA [1].", False)
    assert not grade(item, "Bed Bath & Beyond [1].", True)  # a refusal is never right
    assert not grade(item, "Best Buy [4].", False)
    (bare,) = load_dataset(week(tmp_path), open_questions=True)
    assert grade(bare, "It was Bed Bath & Beyond, analysts say.", False)


def test_the_table_has_a_row_per_week_and_a_mean_with_total_harm() -> None:
    def report(right: float, unchecked: float, harm: int) -> dict:
        return {"summary": {
            "items": 10, "answers": {"correct": right, "refused": 1},
            "unchecked": {"correct": unchecked, "harm": harm, "helped": 0},
            "retrieval": {"recall@5": 0.5}, "speed": {"total_s": {"median": 4.0}},
        }}  # fmt: skip

    table = format_table({"a_qa.jsonl": report(0.6, 0.5, 1), "b_qa.jsonl": report(0.4, 0.5, 2)})
    lines = table.splitlines()
    assert len(lines) == 4 and "50%" in lines[-1] and lines[-1].split()[-5] == "3"
