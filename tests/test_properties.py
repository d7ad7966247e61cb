"""Properties that must hold for any text, checked on generated input with hypothesis.

Offsets are the project's promise that a quote can be found in its article, so they are checked
on arbitrary Unicode as well as on text built from the pieces that trip sentence splitters.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_text
from rag.citations import MarkerFilter, answer_sentences, cite, normalise_markers, strip_markers
from rag.records import Passage
from rag.support import SupportJudge
from rag.text import sentence_spans
from tests.fakes import FakeEmbedder

FAST = settings(max_examples=150, deadline=None)

# Pieces of news text that sentence splitting, markers and names have to cope with.
PIECES = [
    "Putin", "said", "the", "treaty", "Iran", "U.S.", "Mr.", "St.", "e.g.", "3.5", "1,000",
    "don't", "not", "no", "Café", "日本", "Москва", "🙂", ".", "!", "?", "…", ",", "”", "»", "«",
    '"', "(", ")", "[1]", "[2, 3]", "[", "]", " ", " ", " ", "\n", "\n\n", "\t", "\r\n", "\u2028",
    "\u00a0", "\u200b", "e\u0301", "İ", "ß", "ﬁ",
]  # fmt: skip
newsy = st.lists(st.sampled_from(PIECES), max_size=80).map(" ".join)
texts = st.one_of(st.text(max_size=300), newsy)
# Answers whose sentences cite passages, so that many examples produce citations.
cited = st.lists(st.tuples(newsy, st.integers(1, 4)), min_size=1, max_size=4).map(
    lambda claims: " ".join(f"{claim} [{n}]." for claim, n in claims)
)


@FAST
@given(texts, st.integers(8, 40), st.integers(0, 3))
def test_chunks_are_exact_slices_of_the_article(text: str, max_tokens: int, overlap: int) -> None:
    chunks = list(chunk_text("a", text, max_tokens, overlap))
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.text.strip()
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


@FAST
@given(texts)
def test_sentence_spans_are_ordered_non_blank_slices(text: str) -> None:
    spans = sentence_spans(text)
    for (s, e), (next_s, _) in zip(spans, spans[1:], strict=False):
        assert 0 <= s < e <= next_s
    assert all(text[s:e].strip() for s, e in spans)


@FAST
@given(article=texts, answer=st.one_of(cited, texts), top=st.integers(1, 4))
def test_citation_quotes_are_exact_slices_of_the_article(
    article: str, answer: str, top: int
) -> None:
    chunks = list(chunk_text("a", article, 20, 1))[:top]
    passages = [Passage(i + 1, c, "T", "a.txt", 0.5) for i, c in enumerate(chunks)]
    for c in cite(answer, passages, {"a": article}):
        assert c.quote == article[c.start : c.end]
        chunk = passages[c.n - 1].chunk
        assert chunk.start <= c.start < c.end <= chunk.end  # a sentence of the cited passage


@FAST
@given(texts, st.integers(0, 5), st.lists(st.integers(1, 7), max_size=10))
def test_marker_parsing_never_crashes_and_streams_the_same(
    text: str, valid: int, cuts: list[int]
) -> None:
    whole = normalise_markers(text, valid)
    list(answer_sentences(text))  # must not raise
    strip_markers(text)
    markers = MarkerFilter(valid)
    streamed, i = [], 0
    for size in cuts:  # the model's pieces, cut anywhere
        streamed.append(markers.feed(text[i : i + size]))
        i += size
    streamed.append(markers.feed(text[i:]))
    streamed.append(markers.flush())
    assert "".join(streamed) == whole


@FAST
@given(claim=texts, evidence=texts)
def test_support_judge_never_crashes(claim: str, evidence: str) -> None:
    judge = SupportJudge(FakeEmbedder(dim=256))  # hashed words: no model loads
    support = judge.judge(claim, evidence)
    assert 0.0 <= support.lexical <= 1.0
    assert support.veto in ("", "question", "number", "name", "negation")
    assert not (support.veto and support.supported)
    start, end, best = judge.best_span(claim, evidence)
    assert 0 <= start <= end <= len(evidence)
    assert best.supported in (True, False)
