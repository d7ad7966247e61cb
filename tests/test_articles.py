from pathlib import Path

import pytest

from rag.articles import find_files, html_to_text, load_article, load_articles
from rag.errors import RagError


def test_txt_title_is_first_line_and_id_is_stable(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("\n  Headline here \n\nBody text.\n", encoding="utf-8")
    a, b = load_article(f), load_article(f)
    assert a is not None and b is not None
    assert a.title == "Headline here"
    assert a.id == b.id and len(a.id) == 16
    assert a.source == str(f)
    assert a.text.startswith("Headline here")


def test_markdown_title_drops_hashes(tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text("# The Title\n\nSome words.", encoding="utf-8")
    article = load_article(f)
    assert article is not None and article.title == "The Title"


def test_html_drops_scripts_and_styles_and_uses_title() -> None:
    html = (
        "<html><head><title>Page T</title><style>p{color:red}</style></head><body>"
        "<h1>Big</h1><script>var x = 'secret';</script><p>First &amp; para.</p><p>Second.</p></body></html>"
    )
    title, text = html_to_text(html)
    assert title == "Page T"
    assert "secret" not in text and "color" not in text
    assert "First & para." in text and "Second." in text
    assert text.index("First") < text.index("Second")


def test_html_falls_back_to_h1(tmp_path: Path) -> None:
    f = tmp_path / "x.html"
    f.write_text("<body><h1>Only heading</h1><p>Text.</p></body>", encoding="utf-8")
    article = load_article(f)
    assert article is not None and article.title == "Only heading"


def test_bad_bytes_are_replaced_not_fatal(tmp_path: Path) -> None:
    f = tmp_path / "latin.txt"
    f.write_bytes(b"Caf\xe9 news\n\nSomething happened.")
    article = load_article(f)
    assert article is not None and "\ufffd" in article.text


def test_empty_and_binary_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "ok.txt").write_text("Title\n\nBody.", encoding="utf-8")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    warnings: list[str] = []
    articles = list(load_articles(find_files([tmp_path]), warnings.append))
    assert [a.title for a in articles] == ["Title"]
    assert len(warnings) == 2 and any("empty.txt" in w for w in warnings)


def test_missing_and_unsupported_paths_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="no such file"):
        find_files([tmp_path / "nope"])
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(RagError, match="unsupported"):
        find_files([tmp_path / "a.pdf"])
