"""Wire copies shown with their source: the outlets that re-ran a story, in every output."""

from __future__ import annotations

import pytest

from rag.completions import sources_of
from rag.records import Answer, Chunk, Citation, Passage, byline_text
from rag.render import render_sources

TEXT = "Storm\n\nThe harbour flooded on Tuesday."


def answer() -> Answer:
    chunk = Chunk("a1@7", "a1", TEXT[7:], 7, len(TEXT))
    passage = Passage(
        1, chunk, "Storm", "https://reuters.com/storm", 0.9, "Reuters", "https://reuters.com/storm",
        "2022-07-01", (), also_in=("AP", "Daily Post"),
    )  # fmt: skip
    cite = Citation(
        1, "a1", "Storm", "https://reuters.com/storm", 7, len(TEXT), TEXT[7:], "Reuters"
    )
    return Answer("q", "The harbour flooded [1].", False, [cite], [passage])


def test_the_byline_names_the_other_outlets() -> None:
    assert byline_text("Reuters", "2022-07-01", ("AP",)) == "Reuters, 2022-07-01; also ran in AP"
    assert byline_text("", "", ("AP",)) == "also ran in AP"
    assert byline_text("Reuters", "") == "Reuters"


def test_chat_card_and_api_sources_carry_the_other_outlets() -> None:
    a = answer()
    assert "also ran in AP, Daily Post" in render_sources(a, lambda _: TEXT)
    (source,) = sources_of(a)
    assert source["also_in"] == ["AP", "Daily Post"] and source["outlet"] == "Reuters"


def test_the_cli_sources_line_names_the_other_outlets(capsys: pytest.CaptureFixture[str]) -> None:
    from rag.cli import _print_sources

    _print_sources(answer())
    assert (
        '[1] Storm — Reuters; also ran in AP, Daily Post: "The harbour' in capsys.readouterr().out
    )
