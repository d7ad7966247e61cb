import random
from pathlib import Path

import pytest

from rag.articles import (
    Article,
    article_id,
    author_names,
    domain,
    find_files,
    front_matter,
    html_to_text,
    is_gone,
    iso_date,
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


def test_the_plain_html_extractor_drops_scripts_and_styles_and_uses_title() -> None:
    # html_to_text is the fallback for fragments trafilatura finds no article in.
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


NEWS_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Harbour budget agreed after long night | The Daily Gazette</title>
<meta property="og:site_name" content="The Daily Gazette">
<meta property="og:title" content="Harbour budget agreed after long night">
<meta name="author" content="Jane Smith">
<meta property="article:published_time" content="2022-06-12T08:30:00Z">
<link rel="canonical" href="https://gazette.example.com/news/harbour-budget">
</head><body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience. By
continuing you accept our cookie policy.</p><button>Accept all cookies</button></div>
<header><nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/weather">Weather</a></li></ul></nav></header>
<main><article><h1>Harbour budget agreed after long night</h1>
<p>The city council agreed a budget of 4.2 million pounds for the harbour on Sunday, after a
meeting that ran past midnight.</p>
<div class="ad">Advertisement</div>
<p>Mayor Ann Lee said the money would repair the north wall, which was damaged in the winter
storms, and dredge the channel.</p>
<div class="share"><a>Share this article</a><a>Copy link</a></div>
<p>Work is expected to start in September and to last eighteen months, the council said.</p>
</article>
<aside class="related"><h2>Related stories</h2><ul><li><a href="/a">Storm damages north
wall</a></li><li><a href="/b">Fishermen demand action on channel</a></li></ul></aside></main>
<footer><p>Sign up for our newsletter</p><p>(c) 2022 The Daily Gazette.</p></footer>
</body></html>"""


def test_a_news_page_gives_its_story_and_metadata_without_the_furniture(tmp_path: Path) -> None:
    f = tmp_path / "page.html"
    f.write_text(NEWS_PAGE, encoding="utf-8")
    article = load_article(f)
    assert article is not None
    assert article.title == "Harbour budget agreed after long night"
    assert (article.outlet, article.url) == (
        "The Daily Gazette", "https://gazette.example.com/news/harbour-budget"
    )  # fmt: skip
    assert (article.published, article.authors) == ("2022-06-12", ("Jane Smith",))
    assert article.source == str(f.resolve())
    paragraphs = article.text.split("\n\n")
    assert paragraphs[1].startswith("The city council agreed") and len(paragraphs) == 4
    for furniture in ("cookies", "Sport", "Advertisement", "Share", "Copy link", "Related",
                      "Storm damages", "newsletter", "(c) 2022"):  # fmt: skip
        assert furniture not in article.text, furniture


def test_front_matter_is_metadata_and_the_text_starts_after_it(tmp_path: Path) -> None:
    f = tmp_path / "a.md"
    f.write_text(
        "---\ntitle: Harbour budget agreed\ndate: 2022/6/12\nsource: Reuters\n"
        "url: https://www.reuters.com/x\nauthors:\n  - Jane Smith\n  - 'Tom Lee'\ntags: [a]\n---\n"
        "# Harbour\n\nThe council agreed.\n",
        encoding="utf-8",
    )
    article = load_article(f)
    assert article is not None
    assert (article.title, article.text) == (
        "Harbour budget agreed",
        "# Harbour\n\nThe council agreed.",
    )
    assert (article.outlet, article.url, article.published) == (
        "Reuters", "https://www.reuters.com/x", "2022-06-12"
    )  # fmt: skip
    assert article.authors == ("Jane Smith", "Tom Lee")
    f.write_text("---\nurl: https://apnews.com/y\nauthor: Ann Lee and Bo Wu\n---\nStory.")
    article = load_article(f)
    assert article is not None and article.title == "Story." and article.outlet == "apnews.com"
    assert article.authors == ("Ann Lee", "Bo Wu")


@pytest.mark.parametrize(
    "text",
    [
        "Plain text.\n---\ntitle: not at the top\n---",
        "---\ntitle: never closed\nStory.",
        "---\nthis is not a field\n---\nStory.",
        "---\n---\nA rule, then a story.",
    ],
)
def test_absent_or_malformed_front_matter_is_plain_text(text: str) -> None:
    assert front_matter(text) == ({}, text)


def test_metadata_helpers() -> None:
    assert iso_date("2022-06-12T08:30:00Z") == iso_date("2022/06/12") == "2022-06-12"
    assert iso_date("June 12, 2022") == iso_date("2022-13-01") == iso_date(None) == ""
    assert domain("https://www.cnn.com/2022/x") == "cnn.com" and domain("cnn.com") == ""
    assert author_names("A, B and C") == ("A", "B", "C")
    assert author_names(["A", " A ", ""]) == ("A",) and author_names(5) == ()


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
