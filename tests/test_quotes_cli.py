"""`rag quotes NAME`: one speaker's own words, by date, with outlet, date and exact offsets,
from a real index built with the fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.articles import find_files, load_articles
from rag.cli import main
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder

# Two speakers side by side, as in the seed article: Ushakov's words must never show under
# Zakharova. Written out of date order, so that the sort is what puts them in order.
LATER = """---
title: Moscow warns Washington
date: 2022-06-12
source: Reuters
url: https://www.reuters.com/world/moscow-warns
---
«We urge Washington to refrain from any military intervention,» stated Maria Zakharova, \
spokeswoman for the Russian Foreign Ministry, on Thursday.

Yuri Ushakov, a foreign policy adviser to Putin, told journalists that the dispute should be \
settled «exclusively through political and diplomatic channels.»
"""
EARLIER = """---
title: Ministry briefing on the talks
date: 2022-06-01
source: TASS
---
“The talks on the treaty will continue next week,” Maria Zakharova said at a briefing.

“Nothing has been decided,” Ushakov said.
"""
UNDATED = """Zakharova on sanctions

“Sanctions will not change our course,” Zakharova told reporters.
"""


@pytest.fixture
def index_path(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in (("a.txt", LATER), ("b.txt", EARLIER), ("c.txt", UNDATED)):
        (folder / name).write_text(text, encoding="utf-8")
    path = tmp_path / "idx"
    build_index(path, load_articles(find_files([folder]), print), FakeEmbedder(), 60, 1)
    return path


def test_quotes_lists_one_speaker_by_date_with_outlet_and_offsets(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quotes", "Zakharova", "--index", str(index_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 6  # three quotes, two lines each
    assert lines[0] == "Maria Zakharova: “The talks on the treaty will continue next week”"
    assert lines[1].startswith("    Ministry briefing on the talks — TASS, 2022-06-01 (")
    assert lines[2].startswith("Maria Zakharova: “We urge Washington")
    assert "Moscow warns Washington — Reuters, 2022-06-12 (https://www.reuters.com/" in lines[3]
    assert lines[4] == "Zakharova: “Sanctions will not change our course”"  # undated: last
    assert "characters " in lines[5]
    assert "Ushakov" not in out and "exclusively" not in out and "Nothing has" not in out


def test_quotes_json_carries_metadata_and_verbatim_offsets(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quotes", "Ushakov", "--json", "--index", str(index_path)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["published"] for r in rows] == ["2022-06-01", "2022-06-12"]
    assert [r["outlet"] for r in rows] == ["TASS", "Reuters"]
    assert rows[1]["url"] == "https://www.reuters.com/world/moscow-warns"
    assert {r["speaker"] for r in rows} == {"Yuri Ushakov", "Ushakov"}
    index = Index(index_path)
    for r in rows:
        assert index.article(r["article_id"]).text[r["start"] : r["end"]] == r["text"]
        assert "Washington" not in r["text"]  # Zakharova's words are not his
    index.close()


def test_about_narrows_to_a_topic(index_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quotes", "Zakharova", "--about", "sanctions", "--index", str(index_path)]) == 0
    out = capsys.readouterr().out
    assert "Sanctions will not change" in out and "treaty" not in out


def test_no_quotes_is_a_friendly_line_and_exit_1(
    index_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quotes", "Lavrov", "--index", str(index_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"no quotes by Lavrov in the 3 articles of {index_path}\n"


def test_a_missing_index_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quotes", "Putin", "--index", str(tmp_path / "none")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no index at ") and err.count("\n") == 1
