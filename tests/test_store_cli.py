"""`rag index / list` over the store: prune from anywhere, duplicates, progress in logs, big files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rag.embedding
from rag.articles import Article, article_id
from rag.cli import main
from rag.progress import plain_progress
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder


@pytest.fixture(autouse=True)
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rag.embedding, "make_embedder", lambda name: FakeEmbedder())


def sources(path: Path) -> list[str]:
    index = Index(path)
    try:
        return sorted(a.source for a in index.articles())
    finally:
        index.close()


def test_prune_from_another_folder_removes_only_what_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    x, y, index = tmp_path / "x", tmp_path / "y", str(tmp_path / "idx")
    (x / "seeds").mkdir(parents=True)
    y.mkdir()
    for name in ("a", "b"):
        (x / "seeds" / f"{name}.txt").write_text(f"{name}\n\nStory {name} here.", "utf-8")
    monkeypatch.chdir(x)
    assert main(["index", "seeds", "--index", index]) == 0
    stored = [str((x / "seeds" / f"{n}.txt").resolve()) for n in "ab"]
    assert sources(Path(index)) == stored
    assert main(["list", "--index", index]) == 0
    assert "(seeds/a.txt)" in capsys.readouterr().out  # shown relative to where you are
    monkeypatch.chdir(y)
    assert main(["index", "--prune", "--index", index]) == 0
    assert "2 articles (0 new or changed)" in capsys.readouterr().out
    assert sources(Path(index)) == stored
    (x / "seeds" / "a.txt").unlink()
    assert main(["index", "--prune", "--index", index]) == 0
    assert "1 articles (0 new or changed, 1 removed)" in capsys.readouterr().out
    assert sources(Path(index)) == stored[1:]
    assert main(["list", "--index", index]) == 0
    assert f"({stored[1]})" in capsys.readouterr().out  # not under y: shown whole


def test_prune_keeps_old_relative_sources_it_cannot_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Indexes from before stored sources as typed; only where they resolve can prune judge."""
    x, y, path = tmp_path / "x", tmp_path / "y", tmp_path / "idx"
    (x / "seeds").mkdir(parents=True)
    y.mkdir()
    (x / "seeds" / "a.txt").write_text("A\n\nStory.", "utf-8")
    monkeypatch.chdir(x)
    old = Article(article_id(Path("seeds/a.txt")), "A", "seeds/a.txt", "A\n\nStory.", "1" * 64)
    build_index(path, [old], FakeEmbedder(), 60, 1)
    (x / "seeds" / "a.txt").unlink()
    monkeypatch.chdir(y)
    assert main(["index", "--prune", "--index", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "1 articles (0 new or changed)" in out
    assert "warning: kept seeds/a.txt: it was indexed from another folder" in err
    monkeypatch.chdir(x)
    assert main(["index", "--prune", "--index", str(path)]) == 0
    assert "0 articles (0 new or changed, 1 removed)" in capsys.readouterr().out


def test_a_file_with_the_text_of_a_stored_article_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(tmp_path / "idx")
    first, copy = tmp_path / "first.txt", tmp_path / "copy.txt"
    first.write_text("Report\n\nThe bridge opens in June.", "utf-8")
    copy.write_text("Report\n\nThe bridge opens in June.", "utf-8")
    assert main(["index", str(first), "--index", path]) == 0
    capsys.readouterr()
    assert main(["index", str(copy), "--index", path]) == 0
    out, err = capsys.readouterr()
    assert "1 articles (0 new or changed), " in out and out.rstrip().endswith("1 skipped")
    assert f"{copy.resolve()} has the same text as {first.resolve()}; skipped" in err
    # Editing the stored one is an update, not a duplicate.
    first.write_text("Report\n\nThe bridge opens in July.", "utf-8")
    assert main(["index", str(first), "--index", path]) == 0
    assert "1 articles (1 new or changed)" in capsys.readouterr().out


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rag.store

    monkeypatch.setattr(rag.store, "EMBED_BATCH", 2)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(10):
        (folder / f"{i}.txt").write_text(f"Story {i}\n\nThe council met on day {i}.", "utf-8")
    assert main(["index", str(folder), "--index", str(tmp_path / "idx")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("embedding")]
    assert lines[0] == "embedding: 0/10 chunks" and lines[-1] == "embedding: 10/10 chunks"
    assert len(lines) == 6  # 0, 2, 4, 6, 8, 10: each batch is a fifth


def test_plain_progress_speaks_every_tenth_or_every_half_minute() -> None:
    said: list[str] = []
    clock = iter([0.0, 0.0, 1.0, 2.0, 40.0, 41.0, 42.0]).__next__  # the first is at creation
    progress = plain_progress("embedding", "chunks", said.append, clock)
    for done in (0, 50, 100, 150, 160, 1000):
        progress(done, 1000)
    progress(0, 0)  # nothing to embed: nothing said
    assert said == [
        "embedding: 0/1000 chunks",
        "embedding: 100/1000 chunks",  # a tenth on
        "embedding: 150/1000 chunks",  # only 5% on, but 38 s since the last line
        "embedding: 1000/1000 chunks",
    ]


def test_files_over_max_file_mb_are_indexed_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_MAX_FILE_MB", "0.001")  # about 1 KB
    big, small = tmp_path / "big.txt", tmp_path / "small.txt"
    big.write_text("Big\n\n" + "The council met again. " * 100, "utf-8")
    small.write_text("Small\n\nShort.", "utf-8")
    path = tmp_path / "idx"
    assert main(["index", str(big), str(small), "--index", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "2 articles (2 new or changed)" in out and "skipped" not in out
    assert f"warning: {big} is 0.0 MB, over max_file_mb = 0.001; indexing it anyway" in err
    assert str(small) not in err
    assert main(["list", "--json", "--index", str(path)]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["source"] for r in listed) == [str(big.resolve()), str(small.resolve())]


def test_a_feed_is_indexed_and_listed_with_outlet_and_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = tmp_path / "feed.jsonl"
    rows = [
        {"title": "Harbour budget agreed", "text": "The council agreed a budget.",
         "url": "https://www.reuters.com/harbour", "published": "2022-06-12",
         "authors": ["Jane Smith"], "source": "Reuters"},
        {"title": "Plain", "text": "A story without a byline."},
    ]  # fmt: skip
    feed.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    index = str(tmp_path / "idx")
    assert main(["index", str(feed), "--index", index]) == 0
    out = capsys.readouterr().out
    assert "2 articles (2 new or changed)" in out and "skipped" not in out  # not "-1 skipped"
    assert main(["list", "--index", index]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("Reuters" in line and "2022-06-12  Harbour budget agreed" in line for line in lines)
    assert any(" -  " in line and "Plain" in line for line in lines)
    assert main(["list", "--json", "--index", index]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    first = next(a for a in listed if a["title"] == "Harbour budget agreed")
    assert {k: first[k] for k in ("outlet", "url", "published", "authors")} == {
        "outlet": "Reuters", "url": "https://www.reuters.com/harbour",
        "published": "2022-06-12", "authors": ["Jane Smith"],
    }  # fmt: skip
    assert {"id", "title", "source", "chunks", "added"} <= set(first)  # the old keys stay
    feed.write_text("{oops\n", encoding="utf-8")
    assert main(["index", str(feed), "--index", index]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {feed}:1: not a feed line (") and "\n" not in err
