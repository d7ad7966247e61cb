import random
from pathlib import Path

import pytest

from rag.articles import (
    Article,
    article_id,
    find_files,
    html_to_text,
    is_gone,
    load_article,
    load_articles,
)
from rag.errors import RagError


def test_txt_title_is_first_line_and_id_is_stable(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("\n  Headline here \n\nBody text.\n", encoding="utf-8")
    a, b = load_article(f), load_article(f)
    assert a is not None and b is not None
    assert a.title == "Headline here"
    assert a.id == b.id and len(a.id) == 16
    assert a.source == str(f.resolve())
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


def test_cp1252_is_decoded_and_named_in_a_warning(tmp_path: Path) -> None:
    f = tmp_path / "latin.txt"
    text = "Café société\n\nLe cœur de la ville, à Noël: “quotes” and €5."
    f.write_bytes(text.replace("\n", "\r\n").encode("cp1252"))
    warnings: list[str] = []
    article = load_article(f, warnings.append)
    assert article is not None and article.text == text and article.title == "Café société"
    assert warnings == [f"read {f} as cp1252, as it is not UTF-8"]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Café société", "latin-1"),  # charset-normalizer alone calls this cp1006
        ("Der Bürgermeister sagte: „Straße“ – schön.", "cp1252"),  # ...and this mac_iceland
        ("Москва сказала, что договор подписан. Новости дня.", "cp1251"),
    ],
)
def test_short_legacy_texts_decode_to_the_right_characters(
    tmp_path: Path, text: str, encoding: str
) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(text.encode(encoding))
    article = load_article(f)
    assert article is not None and article.text == text


def test_utf16_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    f = tmp_path / "wide.txt"
    f.write_bytes("Café société\n\nThe council met.".encode("utf-16"))  # BOM + UTF-16 LE
    warnings: list[str] = []
    article = load_article(f, warnings.append)
    assert article is not None and article.text == "Café société\n\nThe council met."
    assert warnings == [f"read {f} as utf-16, as it is not UTF-8"]
    f.write_bytes("\ufeffUTF-8 with a mark".encode())
    article = load_article(f, warnings.append)
    assert article is not None and article.text == "UTF-8 with a mark" and len(warnings) == 1


def test_binary_without_nul_bytes_is_rejected_by_its_content(tmp_path: Path) -> None:
    rng = random.Random(1)
    f = tmp_path / "noise.txt"
    f.write_bytes(bytes(rng.randrange(1, 256) for _ in range(4000)))
    warnings: list[str] = []
    assert load_article(f, warnings.append) is None
    assert warnings == [f"skipped {f}: not text"]
    # Valid UTF-8 that is mostly control characters is not text either.
    f.write_bytes(bytes(rng.randrange(1, 32) for _ in range(400)) + b"some words")
    assert load_article(f, warnings.append) is None


def test_the_same_text_twice_in_one_run_is_stored_once(tmp_path: Path) -> None:
    for name, text in (
        ("a", "Same story.\n\nBody."),
        ("b", "Same story.\n\nBody."),
        ("c", "Other."),
    ):
        (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8")
    a, b, c = (tmp_path / f"{n}.txt" for n in "abc")
    warnings: list[str] = []
    articles = list(load_articles([a, b, c, a], warnings.append))  # a named twice: no warning
    assert [Path(x.source).name for x in articles] == ["a.txt", "c.txt"]
    assert warnings == [f"{b} has the same text as {a}; skipped"]


def test_sources_are_resolved_and_old_relative_ones_are_trusted_only_where_they_resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "x" / "seeds").mkdir(parents=True)
    (tmp_path / "y").mkdir()
    f = tmp_path / "x" / "seeds" / "a.txt"
    f.write_text("Title\n\nBody.", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "x")
    article = load_article(Path("seeds/a.txt"))
    assert article is not None and article.source == str(f.resolve())
    assert is_gone(article) is False
    # An index from before: the source as typed, the id from the resolved path.
    old = Article(article_id(Path("seeds/a.txt")), "Title", "seeds/a.txt", "Body.", "0")
    assert is_gone(old) is False
    monkeypatch.chdir(tmp_path / "y")
    assert is_gone(old) is None and is_gone(article) is False  # can't tell from here
    f.unlink()
    assert is_gone(article) is True and is_gone(old) is None
    monkeypatch.chdir(tmp_path / "x")
    assert is_gone(old) is True
    assert is_gone(Article("u", "t", "https://example.com/a", "x", "0")) is False


def test_empty_and_binary_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "ok.txt").write_text("Title\n\nBody.", encoding="utf-8")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    warnings: list[str] = []
    articles = list(load_articles(find_files([tmp_path]), warnings.append))
    assert [a.title for a in articles] == ["Title"]
    assert sorted(warnings) == [
        f"skipped {tmp_path / 'bin.txt'}: not text",
        f"skipped {tmp_path / 'empty.txt'}: empty",
    ]


def test_missing_and_unsupported_paths_are_errors(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="no such file"):
        find_files([tmp_path / "nope"])
    (tmp_path / "a.pdf").write_bytes(b"%PDF")
    with pytest.raises(RagError, match="unsupported"):
        find_files([tmp_path / "a.pdf"])
