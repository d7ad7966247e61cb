import json
from pathlib import Path

import pytest

from rag.articles import Article
from rag.quotes import extract_quotes, format_quote, quote_dict, quotes_by
from rag.speakers import speaker_matches, strip_titles

SEED = (Path(__file__).parent.parent / "seeds" / "000_6d30a0e044389692.txt").read_text().strip()


def said(text: str) -> list[tuple[str, str]]:
    quotes = extract_quotes(text)
    for q in quotes:
        assert text[q.start : q.end] == q.text  # verbatim, always
    return [(q.speaker, q.text) for q in quotes]


@pytest.mark.parametrize(
    "text",
    [
        "Jane Doe said: “We will rebuild the bridge.”",
        "“We will rebuild the bridge,” Jane Doe said.",
        "“We will rebuild the bridge,” said Jane Doe.",
        '"We will rebuild the bridge," Jane Doe said.',
        "«We will rebuild the bridge», Jane Doe said.",
        "‘We will rebuild the bridge,’ Jane Doe said.",
        "'We will rebuild the bridge,' Jane Doe told reporters.",
        "“We will rebuild the bridge,” Jane Doe, the mayor of the town, added on Monday.",
        "Mayor Jane Doe told reporters that the town would “rebuild the bridge”.",
    ],
)
def test_every_quote_style_and_order(text: str) -> None:
    [(speaker, words)] = said(text)
    assert speaker == "Jane Doe"
    assert "rebuild the bridge" in words


def test_titles_are_stripped() -> None:
    text = "“We are ready,” Russian President Vladimir Putin said."
    assert said(text) == [("Vladimir Putin", "We are ready")]
    assert strip_titles("Former Japanese Prime Minister Shinzo Abe") == "Shinzo Abe"
    assert strip_titles("Sen. Chuck Schumer") == "Chuck Schumer"


def test_pronouns_and_short_names_resolve_to_the_named_speaker() -> None:
    text = (
        "Finance Minister Ana Silva presented the budget on Tuesday.\n\n"
        "“It is a fair budget,” she said. “Nobody will pay more.”\n\n"
        "“We listened,” Silva added, “to everyone.”\n\n"
        "“It will pass,” the minister said."
    )
    assert said(text) == [("Ana Silva", w) for w in ("It is a fair budget", "Nobody will pay more.", "We listened", "to everyone.", "It will pass")]  # fmt: skip


def test_organisations_speak() -> None:
    text = "«Their condemnation is unequivocal,» the Kremlin noted."
    assert said(text) == [("Kremlin", "Their condemnation is unequivocal")]


def test_scare_quotes_without_a_speech_verb_are_not_quotes() -> None:
    assert said("The so-called “peace plan” was published on Friday.") == []
    assert said("Officials called it off. The “deal” collapsed.") == []


def test_unnamed_speakers_are_left_out() -> None:
    assert said("“We are worried,” a senior official said.") == []
    assert said("“We are worried,” he said.") == []  # no one named before


def test_two_speakers_in_one_paragraph_keep_their_own_words() -> None:
    text = (
        "“The deal is dead,” said John Park, the union leader. But company chief Mary Lowe "
        "disagreed: “We are still talking,” she said, adding that “nothing is final.”"
    )
    assert said(text) == [
        ("John Park", "The deal is dead"),
        ("Mary Lowe", "We are still talking"),
        ("Mary Lowe", "nothing is final."),
    ]


def test_the_seed_article() -> None:
    got = said(SEED)
    assert ("Maria Zakharova", "We specifically urge Washington to refrain from any military intervention in this context") in got  # fmt: skip
    assert ("Kremlin", "Their condemnation of Israel’s actions is unequivocal") in got
    assert ("Yuri Ushakov", "exclusively through political and diplomatic channels.") in got
    putin = [w for s, w in got if s == "Vladimir Putin"]
    assert putin == [
        "Our Iranian partners have not approached us on this matter",
        "I don’t want to entertain the thought of such a scenario.",
    ]


def test_speaker_matches() -> None:
    assert speaker_matches("Putin", "Vladimir Putin")
    assert speaker_matches("vladimir putin", "Vladimir Putin")
    assert speaker_matches("President Putin", "Vladimir Putin")
    assert speaker_matches("the Kremlin", "Kremlin")
    assert not speaker_matches("Putin", "Yuri Ushakov")
    assert not speaker_matches("Vladimir", "Yuri Ushakov")


def test_quotes_by_filters_by_speaker_and_topic() -> None:
    article = Article("a1", "Russia cautions U.S.", "seeds/000.txt", SEED, "")
    found = quotes_by([article], "Putin")
    assert [q.speaker for _, q in found] == ["Vladimir Putin", "Vladimir Putin"]
    # "about" looks at the quote and the sentence around it
    [(_, q)] = quotes_by([article], "Putin", about="Khamenei")
    assert q.text.startswith("I don’t want")
    assert quotes_by([article], "Putin", about="bananas") == []
    row = quote_dict(article, q)
    assert json.loads(json.dumps(row))["start"] == q.start
    assert set(row) == {
        "article_id", "title", "source", "speaker", "text", "start", "end", "outlet", "url",
        "published",
    }  # fmt: skip
    line = format_quote(article, q)
    assert "Vladimir Putin" in line and q.text in line and "Russia cautions U.S." in line


def test_quotes_are_kept_on_disk_per_text_and_code_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.quotes

    monkeypatch.setattr(rag.quotes, "cache_dir", lambda: tmp_path)
    text = "“We will win this,” Mayor Ana Ruiz said on Monday."
    first = extract_quotes(text)
    assert [q.speaker for q in first] == ["Ana Ruiz"]
    files = list((tmp_path / "quotes").rglob("*.json"))
    assert len(files) == 1 and files[0].parent.name == rag.quotes._version()
    stale = tmp_path / "quotes" / "an-old-version"
    stale.mkdir()
    # A new process reads the file instead of extracting again, and drops other versions' files.
    rag.quotes._extract.cache_clear()
    rag.quotes._folder.cache_clear()
    monkeypatch.setattr(rag.quotes, "attribute_spans", lambda text: [])
    assert extract_quotes(text) == first
    assert not stale.exists()
    # A damaged file is extracted again, not trusted.
    files[0].write_text("{not json")
    rag.quotes._extract.cache_clear()
    assert extract_quotes(text) == []
