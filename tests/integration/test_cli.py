"""The real stack end to end: MiniLM, FAISS, SQLite and llama.cpp with the tiny smollm2 GGUF,
driven through the `rag` command as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"


def rag(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAG_MODEL": "smollm2-135m", "RAG_MAX_ANSWER_TOKENS": "48"}
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("work")
    (work / "seeds").mkdir()
    (work / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    done = rag("index", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "1 articles" in done.stdout and "chunks" in done.stdout
    return work


def test_ask_json_has_the_documented_shape_and_verbatim_quotes(workdir: Path) -> None:
    done = rag("ask", "--json", "What did Putin say about the treaty?", cwd=workdir)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["question"] == "What did Putin say about the treaty?"
    assert isinstance(data["answer"], str) and isinstance(data["abstained"], bool)
    assert data["passages"] and data["prompt_tokens"] > 0
    assert data["timings"]["total_s"] >= data["timings"]["retrieve_s"]
    text = SEED.read_text(encoding="utf-8").strip()
    assert any("treaty" in p["text"] for p in data["passages"])
    for p in data["passages"]:
        assert text[p["start"] : p["end"]] == p["text"]
    for c in data["citations"]:
        assert text[c["start"] : c["end"]] == c["quote"]
        assert c["source"].endswith(SEED.name)


def test_plain_ask_streams_then_lists_sources(workdir: Path) -> None:
    done = rag("ask", "Who is Maria Zakharova?", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_batch_answers_each_line_with_one_model_load(workdir: Path) -> None:
    lines = "\n".join([
        "Who did Putin speak with by phone?",
        json.dumps({"question": "And where did he say it?", "history": ["Did Iran ask Russia for aid?"]}),
        "",
        "{broken json",
    ])  # fmt: skip
    batch = workdir / "questions.txt"
    batch.write_text(lines, encoding="utf-8")
    done = rag("ask", "--json", "--batch", str(batch), cwd=workdir)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[0]["question"] == "Who did Putin speak with by phone?" and "answer" in rows[0]
    assert rows[1]["question"] == "And where did he say it?"
    assert "error" in rows[2]
    assert done.returncode == 1  # one line failed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "  "], "the question is empty"),
        (["ask", "--index", "nowhere", "Who?"], "rag index"),
        (["ask", "--model", "gpt-9", "Who?"], "presets: qwen2.5-coder-1.5b"),
        (["ask", "--model", "missing.gguf", "Who?"], "does not exist"),
        (["index", "no/such/dir"], "no such file"),
        (["ask", "word " * 3000], "characters long"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(workdir: Path, args: list[str], message: str) -> None:
    before = sorted(
        (p.name, p.stat().st_mtime_ns) for p in (workdir / "indexes" / "default").iterdir()
    )
    done = rag(*args, cwd=workdir)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    after = sorted(
        (p.name, p.stat().st_mtime_ns) for p in (workdir / "indexes" / "default").iterdir()
    )
    assert after == before


def test_corrupt_gguf_is_a_clear_error(workdir: Path) -> None:
    bad = workdir / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    done = rag("ask", "--model", str(bad), "Who?", cwd=workdir)
    assert done.returncode == 1 and "cannot load model" in done.stderr


def test_eval_smoke_on_three_items(workdir: Path) -> None:
    out = workdir / "eval.json"
    done = rag(
        "eval",
        "--dataset",
        str(ROOT / "evals" / "seed.jsonl"),
        "--limit",
        "3",
        "--json",
        str(out),
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    assert "recall@1" in done.stdout and "citations" in done.stdout
    report = json.loads(out.read_text())
    assert report["summary"]["items"] == 3 and len(report["results"]) == 3
    assert report["summary"]["retrieval"]["recall@5"] is not None
    assert report["settings"]["model"] == "smollm2-135m"


def test_calibration_runs_on_the_labels(workdir: Path) -> None:
    done = rag("eval", "--calibrate", str(ROOT / "evals" / "support_labels.jsonl"), cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "hand labels" in done.stdout and "precision" in done.stdout and "test" in done.stdout


def test_list_remove_prune_and_an_unchanged_reindex(tmp_path: Path) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    cats = tmp_path / "news" / "cats.txt"
    cats.write_text("Cats purr\n\nThe council voted to build a cat shelter by the river.\n")
    assert rag("index", "news", cwd=tmp_path).returncode == 0
    again = rag("index", "news", cwd=tmp_path)
    assert "(0 new or changed)" in again.stdout  # nothing embedded, nothing written
    listed = [json.loads(line) for line in rag("list", "--json", cwd=tmp_path).stdout.splitlines()]
    assert {a["title"] for a in listed} >= {"Cats purr"} and len(listed) == 2
    cat_id = next(a["id"] for a in listed if a["title"] == "Cats purr")
    assert "removed 1" in rag("remove", cat_id, cwd=tmp_path).stdout
    assert "Cats purr" not in rag("list", cwd=tmp_path).stdout
    assert rag("remove", cat_id, cwd=tmp_path).returncode == 1  # already gone: a clear error
    assert rag("index", "news", cwd=tmp_path).returncode == 0  # back in
    cats.unlink()
    pruned = rag("index", "--prune", cwd=tmp_path)
    assert "1 removed" in pruned.stdout and "1 articles" in pruned.stdout


def test_a_question_the_article_cannot_answer_shows_the_closest_passages(workdir: Path) -> None:
    done = rag("ask", "--json", "What did the Pope say about the strikes?", cwd=workdir)
    data = json.loads(done.stdout)
    if data["abstained"]:
        assert data["answer"].startswith("The articles don't say") and data["passages"]
        plain = rag("ask", "What did the Pope say about the strikes?", cwd=workdir)
        assert "Closest passages" in plain.stdout
    else:  # the tiny test model may answer anyway; then every citation must be verbatim
        text = SEED.read_text(encoding="utf-8").strip()
        assert all(text[c["start"] : c["end"]] == c["quote"] for c in data["citations"])


def test_eval_reads_realtimeqa_weeks_builds_their_index_once_and_tables_them(
    tmp_path: Path,
) -> None:
    weeks = tmp_path / "weeks"
    weeks.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    for week in ("20990101", "20990108"):
        question = {
            "question_id": f"{week}_0", "question_sentence": "Who is Russia's foreign ministry spokeswoman?",
            "choices": ["Maria Zakharova", "Yuri Ushakov", "Xi Jinping", "Ali Khamenei"], "answer": ["0"],
        }  # fmt: skip
        (weeks / f"{week}_qa.jsonl").write_text(json.dumps(question) + "\n")
        page = {"url": f"https://news.example/{week}", "title": "Russia warns", "text": seed}
        rows = [{"search_result": [page, page]}]  # the same page twice: one article
        (weeks / f"{week}_gcs.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "weeks.json"
    done = rag("eval", "--dataset", str(weeks), "--json", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "20990101_qa.jsonl" in done.stdout and "mean (harm: total)" in done.stdout
    report = json.loads(out.read_text())["datasets"]
    for week in ("20990101", "20990108"):
        summary = report[f"{week}_qa.jsonl"]["summary"]
        assert summary["items"] == 1 and summary["unchecked"]["harm"] >= 0
        (item,) = report[f"{week}_qa.jsonl"]["results"]
        assert item["question"].endswith(
            "Options: Maria Zakharova; Yuri Ushakov; Xi Jinping; Ali Khamenei."
        )
    built = sorted(
        p.name for p in (tmp_path / "indexes").iterdir() if p.name.startswith("realtimeqa-")
    )
    assert len(built) == 2
    again = rag("eval", "--dataset", str(weeks / "20990101_qa.jsonl"), "--open", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "Options:" not in again.stdout  # the bare question
    assert (
        sorted(p.name for p in (tmp_path / "indexes").iterdir() if p.name.startswith("realtimeqa-"))
        == built
    )
