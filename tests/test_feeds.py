"""JSON Lines feeds: article lines, RealTime QA rows, ids, metadata, bad lines."""

import hashlib
import json
from pathlib import Path

import pytest

from rag.articles import find_files, is_gone, load_articles
from rag.errors import RagError
from rag.feeds import read_feed


def write(path: Path, *rows: object) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_article_lines_carry_their_metadata(tmp_path: Path) -> None:
    feed = write(
        tmp_path / "feed.jsonl",
        {
            "title": "Harbour budget agreed", "text": "The council agreed.\nAdvertisement\nIt ends.",
            "url": "https://www.gazette.example.com/harbour", "published": "2022-06-12T08:30:00Z",
            "authors": ["Jane Smith", "Tom Lee"],
        },
        "",
        {"title": "No url", "text": "A plain story.", "source": "The Gazette", "authors": "Ann Lee"},
    )  # fmt: skip
    first, second = read_feed(feed)
    assert first.text == "Harbour budget agreed\n\nThe council agreed.\nIt ends."
    assert first.id == hashlib.sha1(b"https://www.gazette.example.com/harbour").hexdigest()[:16]
    assert (first.source, first.url) == ("https://www.gazette.example.com/harbour",) * 2
    assert (first.outlet, first.published) == ("gazette.example.com", "2022-06-12")
    assert first.authors == ("Jane Smith", "Tom Lee")
    where = f"{feed.resolve()}:3"
    assert second.id == hashlib.sha1(where.encode()).hexdigest()[:16] and second.source == where
    assert (second.outlet, second.url, second.published) == ("The Gazette", "", "")
    assert second.authors == ("Ann Lee",)
    assert is_gone(second) is False
    feed.unlink()
    assert is_gone(second) is True and is_gone(first) is False


def test_realtimeqa_rows_are_read_and_deduplicated_by_url(tmp_path: Path) -> None:
    page = {
        "url": "https://www.cnn.com/a", "title": "AC cut", "text": "Stores cut the AC.",
        "authors": ["Nicole Goodkind"], "publish_date": "2022/06/28",
    }  # fmt: skip
    empty = {"url": "https://x/empty", "title": "Nothing", "text": None, "authors": None}
    other = {"url": "https://usatoday.com/b", "title": "", "text": "IKEA opened a store."}
    feed = write(
        tmp_path / "20990101_gcs.jsonl",
        {"search_result": [page, empty, other]},
        {"search_result": [page]},
    )
    a, b = read_feed(feed)
    assert (a.title, a.outlet, a.published, a.authors) == (
        "AC cut", "cnn.com", "2022-06-28", ("Nicole Goodkind",)
    )  # fmt: skip
    assert b.title == "https://usatoday.com/b" and b.text == "IKEA opened a store."


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "Expecting value"),
        ("[1, 2]", "not a JSON object"),
        ('{"title": "no text"}', "no 'text'"),
        ('{"title": "T", "text": 5}', '"text" is not a string'),
        ('{"search_result": "x"}', '"search_result" is not a list'),
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line(
    tmp_path: Path, line: str, reason: str
) -> None:
    feed = write(tmp_path / "f.jsonl", {"title": "ok", "text": "Fine."}, line)
    with pytest.raises(RagError) as info:
        read_feed(feed)
    message = str(info.value)
    assert message.startswith(f"{feed}:2: not a feed line (") and reason in message
    assert "\n" not in message


def test_rag_index_takes_a_named_feed_but_a_folder_walk_skips_feeds(tmp_path: Path) -> None:
    feed = write(tmp_path / "f.jsonl", {"title": "One", "text": "First."}, {"text": "First."})
    (tmp_path / "a.txt").write_text("A story.", encoding="utf-8")
    assert find_files([tmp_path]) == [tmp_path / "a.txt"]
    warnings: list[str] = []
    found = list(load_articles(find_files([feed, tmp_path / "a.txt"]), warnings.append))
    assert [a.title for a in found] == ["One", "f.jsonl:2", "A story."]
    empty = write(tmp_path / "e.jsonl", {"title": "T", "text": "  "})
    with pytest.raises(RagError, match="holds no articles"):
        read_feed(empty, warnings.append)
    assert warnings[-1] == f"skipped {empty}:1: no text"


def test_a_feed_articles_byline_reaches_passages_citations_json_and_the_sources_panel(
    tmp_path: Path,
) -> None:
    from rag.citations import cite
    from rag.records import Answer
    from rag.render import Turn, export_markdown, render_sources
    from rag.retrieval import Retriever
    from rag.store import Index, build_index
    from tests.fakes import FakeEmbedder

    feed = write(
        tmp_path / "f.jsonl",
        {
            "title": "Harbour budget agreed", "text": "The council agreed a harbour budget.",
            "url": "https://www.reuters.com/h", "published": "2022-06-12",
            "authors": ["Jane <b>Smith</b>"], "source": "Reuters",
        },
    )  # fmt: skip
    embedder = FakeEmbedder()
    build_index(tmp_path / "idx", read_feed(feed), embedder, 60, 1)
    index = Index(tmp_path / "idx")
    (passage,) = Retriever(index, embedder).retrieve("harbour budget", 3, 0.0, 500)
    assert (passage.outlet, passage.url, passage.published) == (
        "Reuters", "https://www.reuters.com/h", "2022-06-12"
    )  # fmt: skip
    article = index.article(passage.chunk.article_id)
    answer_text = "The council agreed a harbour budget [1]."
    (citation,) = cite(answer_text, [passage], {article.id: article.text})
    assert (citation.outlet, citation.authors) == ("Reuters", ("Jane <b>Smith</b>",))
    answer = Answer("q", answer_text, False, [citation], [passage])
    data = answer.to_dict()
    old_keys = {"n", "article_id", "title", "source", "start", "end", "quote"}
    assert old_keys <= set(data["citations"][0])
    assert data["citations"][0]["authors"] == ["Jane <b>Smith</b>"]
    assert {"outlet": "Reuters", "published": "2022-06-12"}.items() <= data["passages"][0].items()
    panel = render_sources(answer, lambda _: article.text)
    assert 'Harbour budget agreed — <a href="https://www.reuters.com/h"' in panel
    assert ">Reuters</a>, 2022-06-12" in panel and "Jane &lt;b&gt;Smith" in panel
    assert "[1] Harbour budget agreed — Reuters, 2022-06-12" in export_markdown(
        [Turn("q", answer)], lambda _: article.text
    )
    index.close()
