from rag.chunking import chunk_text, count_tokens
from rag.text import sentence_spans


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_guillemets_quotes_and_abbreviations() -> None:
    text = (
        "Trump called for an «unconditional surrender.» «We urge Washington to refrain,» "
        "she said. Officials in the U.S. State Department met in St. Petersburg. "
        '"It is over." Then they left.'
    )
    assert sentences(text) == [
        "Trump called for an «unconditional surrender.»",
        "«We urge Washington to refrain,» she said.",
        "Officials in the U.S. State Department met in St. Petersburg.",
        '"It is over."',
        "Then they left.",
    ]


def test_paragraph_break_ends_a_sentence() -> None:
    assert sentences("A headline without a stop\n\nBody starts here.") == [
        "A headline without a stop",
        "Body starts here.",
    ]


def test_chunks_have_exact_offsets_and_respect_the_size(seed_text: str) -> None:
    chunks = list(chunk_text("a1", seed_text, max_tokens=60, overlap=1))
    assert len(chunks) > 3
    for c in chunks:
        assert c.text == seed_text[c.start : c.end]
        assert c.article_id == "a1"
        assert count_tokens(c.text) <= 60 or len(sentence_spans(c.text)) == 1
    # Chunks move forward, leave no gaps, and overlap by a sentence when they hold several.
    for prev, cur in zip(chunks, chunks[1:], strict=False):
        assert prev.start < cur.start
        assert not seed_text[prev.end : cur.start].strip()
        if len(sentence_spans(prev.text)) > 1:
            assert cur.start < prev.end
    assert chunks[-1].end == len(seed_text)


def test_overlong_sentence_is_split_at_words() -> None:
    text = " ".join(["word"] * 300) + "."
    chunks = list(chunk_text("x", text, max_tokens=50, overlap=0))
    assert len(chunks) >= 6
    assert all(count_tokens(c.text) <= 52 for c in chunks)
    assert all(c.text == text[c.start : c.end] for c in chunks)
