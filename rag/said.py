""" "What did X say (about Y)?": answered with X's own quoted words, composed in code.

Owns telling such a question from others, finding X's quotes (`rag.quotes`) in the articles
the question's passages come from and in the in-scope articles that name X, choosing the ones
about Y, and writing the answer with one Citation per quote whose offsets are exactly the
quoted words. When X is named but not quoted (on Y) it gives the sentence that says so, for the
assistant to put before its usual answer, and the sentence that reports X's words on Y without
quote marks, for when the model finds no answer; when X is named nowhere it gives nothing and
the assistant answers as usual. Leaves extraction and name matching to `rag.quotes` and
`rag.speakers`, searching to `rag.retrieval`, and the Answer record to the assistant.

No model is asked: the words are the article's and the speaker is the one `extract_quotes`
found, so another speaker's words can only reach the answer through an extraction mistake.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rag.articles import Article
from rag.filters import Scope
from rag.questions import split_options
from rag.quotemarks import quote_spans
from rag.quotes import SENTENCE_END, Quote, extract_quotes, named_in
from rag.records import Chunk, Citation, Passage
from rag.retrieval import Retriever
from rag.speakers import (
    NAME,
    NAME_RE,
    SENTENCE_WORDS,
    is_org,
    speaker_matches,
    strip_titles,
    words,
)
from rag.speech import VERB_RE
from rag.text import content_terms, sentence_spans

# Starts the code's own sentence when X is named but not quoted: a finding about the articles
# made by the quote extractor, not a claim of the model's (evaluation does not judge it as one).
NOT_QUOTED = "The articles do not quote "

MAX_QUOTES = 3
MAX_ARTICLES = 12  # articles read for quotes: the passages' first, then those naming X
NAME_HITS = 200  # keyword hits fetched to find the articles that name X
MIN_WORDS = 2  # a one-word quote is a scare quote or a label, not a statement
PASSAGE_CHARS = 1200  # a quote's paragraph longer than this is shown as its sentences only
REPEAT = 0.6  # a quote sharing this share of its words with one chosen repeats it
# The weighted share of the topic's words a quote's sentence must hold to be about the topic.
ABOUT = 0.6

_AUX = r"(?:did|does|do|has|have|had)"
_VERB = r"(?:say|says|said|announce|announces|announced|warn|warns|warned|state|states|stated)"
# "tell reporters", "told CNN": whom X told, not what about.
_TOLD = r"(?:reporters|journalists|the press|the media|lawmakers|(?:the\s+)?(?-i:[A-Z][\w.]*))"
_ADVERB = r"(?:just|actually|publicly|recently|really|first|last|previously|ever)"
# About/on/regarding name a topic the quote must be about; to/after/at/during name an audience
# or an occasion, which a quote seldom repeats, so they only rank the quotes.
_STRICT = ("about", "on", "regarding", "concerning", "of")
SAID_RE = re.compile(
    rf"^\s*(?:so\s+|and\s+)?what\s+{_AUX}\s+(?P<who>.+?)\s+(?:{_ADVERB}\s+)?"
    rf"(?:{_VERB}|(?:tell|tells|told)(?:\s+{_TOLD})?)"
    rf"(?:\s+(?P<prep>about|on|regarding|concerning|of|to|after|at|during|in)\s+(?P<topic>.+?))?"
    r"(?:\s+about)?\s*[?.!]*\s*$",
    re.IGNORECASE,
)
# Lower-case words inside a name: "Ursula von der Leyen", "Charles de Gaulle".
_CONNECT = words("of de da van von bin der den la le du del al dos ibn")
_ANOTHER_QUESTION = re.compile(r"\b(?:what|who|whom|which|why)\b|\?.", re.IGNORECASE)


@dataclass(frozen=True)
class SaidQuestion:
    who: str  # as asked, without a leading "the": "Putin", "Kremlin", "Maria Zakharova"
    topic: str  # as asked: "the treaty with Iran"; "" when none
    strict: bool  # the quotes must be about the topic (about/on), else it only ranks them


def parse(question: str) -> SaidQuestion | None:
    """The speaker and topic of a "what did X say (about Y)?" question, else None.

    Conservative: X must be written as a name (capitalised words: "Putin", "the Kremlin"), so
    "What did the report say about inflation?" is an ordinary question: a report has no quotes
    of its own. "How did X react to Y?" is left to the model too, as a reaction is often an act
    ("imposed sanctions") that X's quoted words would leave out. Choice questions are too."""
    if split_options(question)[1]:
        return None
    m = SAID_RE.match(question)
    if m is None:
        return None
    who = re.sub(r"^(?:the|The)\s+", "", m.group("who").strip())
    parts = who.split()
    if (
        not all(re.fullmatch(NAME, w) or w in _CONNECT for w in parts)
        or not re.fullmatch(NAME, parts[-1])
        or parts[0] in SENTENCE_WORDS
    ):
        return None  # "the report", "he", "they", "It"
    topic = (m.group("topic") or "").strip()
    if _ANOTHER_QUESTION.search(topic):
        return None  # "... about X and what did Y say?" asks two things
    return SaidQuestion(who, topic, (m.group("prep") or "").lower() in _STRICT)


@dataclass(frozen=True)
class Said:
    """What the quote path made of a question. With citations, `text` is the whole answer;
    without, it is the sentence saying X is not quoted (on Y), put before the usual answer."""

    text: str
    citations: list[Citation]
    passages: list[Passage]  # those given, plus one per quote found outside them
    # With the "not quoted" sentence: the answer to show if the model finds none, X's words
    # reported without quote marks ("... Furthermore, he clarified that a treaty ... [1]").
    reported: Said | None = None


@dataclass(frozen=True)
class _Found:
    article: Article
    quote: Quote
    about: float  # share of the topic's words around the quote (1.0 without a topic)
    rank: int  # the article's place among those read: the passages' articles come first


def said_answer(
    question: str, passages: list[Passage], retriever: Retriever, scope: Scope
) -> Said | None:
    """X's quotes about Y as an answer, the "not quoted" sentence, or None when the question
    is not such a question or X is named in none of the articles read."""
    asked = parse(question)
    if asked is None:
        return None
    articles = _articles(asked, passages, retriever, scope)
    if not any(named_in(asked.who, a.text) for a in articles):
        return None
    topic = _topic_terms(asked)
    every = [extract_quotes(a.text) for a in articles]  # per article, read once
    found = []
    for rank, article in enumerate(articles):
        quotes = [
            q
            for q in every[rank]
            if speaker_matches(asked.who, q.speaker) and len(q.text.split()) >= MIN_WORDS
        ]
        weights = _weights(article.text, topic) if quotes else {}
        found += [_Found(article, q, _about(article.text, q, weights), rank) for q in quotes]
    if asked.strict and topic:
        found = [f for f in found if f.about >= ABOUT]
    name = _display_name(asked.who, articles, found)
    if not found:
        on = f" on {asked.topic}" if asked.topic and asked.strict else ""
        # Next to X there is a quote whose speaker the extractor could not tell: it may well
        # be X's, so the answer makes no claim that the articles do not quote X.
        unsure = _unattributed_near(asked.who, articles, every)
        not_quoted = "" if unsure else f"{NOT_QUOTED}{name}{on}."
        reported = _reported(asked, articles, every)
        fallback = _compose_reported(not_quoted, *reported, passages) if reported else None
        return Said(not_quoted, [], passages, fallback)
    chosen = _choose(found, passages)
    return _compose(name, chosen, passages)


def _articles(
    asked: SaidQuestion, passages: list[Passage], retriever: Retriever, scope: Scope
) -> list[Article]:
    """The passages' articles, then the in-scope articles whose text names X, best keyword
    match (X's surname with the topic's words) first."""
    ids = list(dict.fromkeys(p.chunk.article_id for p in passages))
    surname = (strip_titles(asked.who) or asked.who).split()[-1]
    terms = [surname.lower(), *sorted(_topic_terms(asked))]
    rows = retriever.index.keyword_search(terms, NAME_HITS)
    if scope.active:
        allowed = retriever.in_scope(scope)
        rows = [r for r in rows if r in allowed]
    word = re.compile(rf"\b{re.escape(surname)}\b")
    chunks = retriever.index.chunks(rows) if rows else {}
    for row in rows:
        if len(ids) >= MAX_ARTICLES:
            break
        chunk = chunks[row]
        if chunk.article_id not in ids and word.search(chunk.text):
            ids.append(chunk.article_id)
    return [retriever.index.article(i) for i in ids]


def _unattributed_near(who: str, articles: list[Article], quotes: list[list[Quote]]) -> bool:
    """Whether a quote of two words or more that no one was found to have said sits in a
    paragraph naming X or right after one ("Saxi thinks that any move would “probably
    result in a build-up”")."""
    for article, found in zip(articles, quotes, strict=True):
        text = article.text
        near: set[int] = set()
        for i, para in enumerate(re.finditer(r"[^\n]+", text)):
            if named_in(who, para.group()):
                near.update((i, i + 1))
        said = {q.start for q in found}
        for span in quote_spans(text):
            words = len(text[span.start : span.end].split())
            if span.para in near and span.start not in said and words >= MIN_WORDS:
                return True
    return False


def _topic_terms(asked: SaidQuestion) -> set[str]:
    """The topic's content words, stemmed, without X's own name."""
    own = set(content_terms(asked.who))
    return set(content_terms(asked.topic)) - own


def _context(text: str, quote: Quote) -> str:
    """The quote's sentence with its attribution; when the sentence opens with the quote, the
    sentence before it too, as a quote that follows a paraphrase ("Putin indicated that Iran
    has not asked for aid. «Our Iranian partners have not approached us,» he remarked.") is
    about what the paraphrase says. A sentence with a lead-in of its own ("When asked about
    Khamenei, Putin replied «...»") is about its lead-in only."""
    lo, hi = min(quote.start, quote.attribution_start), max(quote.end, quote.attribution_end)
    # lo + 1: the look-ahead for the capital that starts the sentence must see it.
    starts = [0, *(m.end() for m in SENTENCE_END.finditer(text, 0, lo + 1))]
    begin = starts[-1]
    if not text[begin : quote.start].strip(" \n“«\"'‘"):
        begin = starts[-2] if len(starts) > 1 else begin
    after = SENTENCE_END.search(text, hi)
    return text[begin : after.start() + 1 if after else len(text)]


def _weights(text: str, topic: set[str]) -> dict[str, float]:
    """How much each topic word tells the article's sentences apart: log(n / df), with n the
    sentences and df those holding the word (at least 1). In an article about Iran, "Iran" is
    near everywhere and says little; "treaty", in one sentence, says a lot."""
    sentences = [set(content_terms(text[a:b])) for a, b in sentence_spans(text)] or [set()]
    n = len(sentences)
    return {t: math.log((n + 1) / max(1, sum(_has(s, t) for s in sentences))) for t in topic}


def _has(words: set[str], term: str) -> bool:
    """The stemmed term, or a word one or two letters longer or shorter that starts the same:
    the stemmer leaves short words whole, so "guns" must still find "gun"."""
    return term in words or any(
        len(w) >= 3 and abs(len(w) - len(term)) <= 2 and (w.startswith(term) or term.startswith(w))
        for w in words
    )


def _about(text: str, quote: Quote, weights: dict[str, float]) -> float:
    """The weighted share of the topic's words found around the quote (1.0 with no topic)."""
    total = sum(weights.values())
    if not total:
        return 1.0
    found = set(content_terms(_context(text, quote)))
    return sum(w for t, w in weights.items() if _has(found, t)) / total


def _inside(start: int, end: int, passage: Passage, article_id: str) -> bool:
    c = passage.chunk
    return c.article_id == article_id and c.start <= start and end <= c.end


def _choose(found: list[_Found], passages: list[Passage]) -> list[_Found]:
    """At most MAX_QUOTES: most about the topic first, then from the best-ranked article, a
    quote in the given passages before one outside them, then in text order. A quote repeated
    (a wire copy in another outlet, or the same words transcribed twice) is given once."""

    def key(f: _Found) -> tuple[float, int, bool, int]:
        given = any(_inside(f.quote.start, f.quote.end, p, f.article.id) for p in passages)
        return (-f.about, f.rank, not given, f.quote.start)

    chosen: list[_Found] = []
    seen: list[set[str]] = []
    for f in sorted(found, key=key):
        words = set(re.findall(r"\w+", f.quote.text.lower()))
        if any(len(words & s) >= REPEAT * min(len(words), len(s)) for s in seen):
            continue
        seen.append(words)
        chosen.append(f)
        if len(chosen) == MAX_QUOTES:
            break
    # Read in the order they were said: by article rank, then by place in the article.
    return sorted(chosen, key=lambda f: (f.rank, f.quote.start))


def _display_name(who: str, articles: list[Article], found: list[_Found]) -> str:
    """The speaker as the answer names them: the full name the articles give a person
    ("Vladimir Putin" for "Putin"), an organisation as asked ("the Kremlin")."""
    if found and not is_org(found[0].quote.speaker):
        return found[0].quote.speaker
    if is_org(who) or not found and not _person_in(who, articles):
        return f"the {who}" if is_org(who) and not who.isupper() else who
    return _person_in(who, articles) or who


def _person_in(who: str, articles: list[Article]) -> str:
    """The longest name in the articles that `speaker_matches` X: "Xi Jinping" for "Xi"."""
    best = ""
    for article in articles:
        for m in NAME_RE.finditer(article.text):
            name = strip_titles(re.sub(r"['’]s$", "", m.group()))
            if name and speaker_matches(who, name) and len(name) > len(best):
                best = name
    return best


def _passage_for(n: int, article: Article, lo: int, hi: int) -> Passage:
    """A passage for words found outside the given passages (a quote and its attribution,
    text[lo:hi]): their paragraph (or, when that is long, their sentences), so the reader sees
    who said them."""
    text = article.text
    start = text.rfind("\n", 0, lo) + 1
    end = text.find("\n", hi)
    end = len(text) if end < 0 else end
    if end - start > PASSAGE_CHARS:
        ends = [m.end() for m in SENTENCE_END.finditer(text, start, lo + 1)]
        after = SENTENCE_END.search(text, hi, end)
        start, end = (ends[-1] if ends else start), (after.start() + 1 if after else end)
    chunk = Chunk(f"{article.id}:quote{lo}", article.id, text[start:end], start, end)
    return Passage(
        n, chunk, article.title, article.source, 0.0, article.outlet, article.url,
        article.published, article.authors,
    )  # fmt: skip


def _compose(name: str, chosen: list[_Found], passages: list[Passage]) -> Said:
    """ "Vladimir Putin said: “...” [1]. Vladimir Putin also said: “...” [2]." with one
    Citation per quote, its offsets exactly the quoted words."""
    passages = list(passages)
    sentences: list[str] = []
    citations: list[Citation] = []
    subject = name[0].upper() + name[1:]
    for i, f in enumerate(chosen):
        a, q = f.article, f.quote
        passage = next((p for p in passages if _inside(q.start, q.end, p, a.id)), None)
        if passage is None:
            lo, hi = min(q.start, q.attribution_start), max(q.end, q.attribution_end)
            passage = _passage_for(max((p.n for p in passages), default=0) + 1, a, lo, hi)
            passages.append(passage)
        end = "" if q.text[-1:] in ".!?…" else "."
        if i == 0:
            sentences.append(f"{subject} said: “{q.text}” [{passage.n}]{end}")
        else:  # the whole name again: "Liu Pengyu" is Mr Liu, so a surname rule would be wrong
            sentences.append(f"{subject} also said: “{q.text}” [{passage.n}]{end}")
        citations.append(
            Citation(
                passage.n,
                a.id,
                a.title,
                a.source,
                q.start,
                q.end,
                a.text[q.start : q.end],
                a.outlet,
                a.url,
                a.published,
                a.authors,
            )  # fmt: skip
        )
    return Said(" ".join(sentences), citations, passages)


def _reported(
    asked: SaidQuestion, articles: list[Article], every: list[list[Quote]]
) -> tuple[Article, int, int] | None:
    """The sentence that reports X's words on the topic without quoting them ("Putin indicated
    that Iran has not requested aid", "Furthermore, he clarified that a treaty ..." after a
    quote of Putin's): (article, start, end), most about the topic first, then the
    best-ranked article, then the earliest. None when there is none."""
    topic = _topic_terms(asked)
    best: tuple[float, int, int, Article, int, int] | None = None
    for rank, article in enumerate(articles):
        text = article.text
        spans = sentence_spans(text)
        quotes = every[rank]  # each article's quotes, as said_answer extracted them
        weights = _weights(text, topic)
        total = sum(weights.values())
        for i, (start, end) in enumerate(spans):
            sentence = text[start:end]
            if any(q.start < end and start < q.end for q in quotes):
                continue  # a quoted sentence is the quote path's, and X's quotes were none
            if _speaker_of(asked.who, text, spans, i, quotes) is not True:
                continue
            terms = set(content_terms(sentence))
            about = sum(w for t, w in weights.items() if _has(terms, t)) / total if total else 1.0
            if topic and about < ABOUT:
                continue
            key = (about, -rank, -start)
            if best is None or key > best[:3]:
                best = (about, -rank, -start, article, start, end)
    return None if best is None else (best[3], best[4], best[5])


_PRONOUN = re.compile(r"^(?:[A-Z]\w+,\s+)?(?:he|she|He|She)$")  # "he", "Furthermore, he"
SUBJECT_CHARS = 80  # a speech verb further into its sentence than this has another subject


def _speaker_of(
    who: str, text: str, spans: list[tuple[int, int]], i: int, quotes: list[Quote], hops: int = 2
) -> bool | None:
    """Whether X says sentence i: its quote is X's, or a speech verb follows X's name ("Putin
    indicated"), or "he"/"she" whose sentence before is X's (up to `hops` back). None when the
    sentence says nothing about who speaks."""
    start, end = spans[i]
    inside = [q for q in quotes if q.start < end and start < q.end]
    if inside:
        return speaker_matches(who, inside[-1].speaker)
    verb = VERB_RE.search(text, start, end)
    if verb is None or verb.start() - start > SUBJECT_CHARS:
        return None
    subject = text[start : verb.start()].strip()
    if _PRONOUN.match(subject):
        return hops > 0 and i > 0 and _speaker_of(who, text, spans, i - 1, quotes, hops - 1) is True
    return named_in(who, subject)


def _compose_reported(
    not_quoted: str, article: Article, start: int, end: int, passages: list[Passage]
) -> Said:
    """ "The articles do not quote X on Y. <the sentence reporting X's words> [n]", the
    sentence cited whole."""
    passages = list(passages)
    passage = next((p for p in passages if _inside(start, end, p, article.id)), None)
    if passage is None:
        passage = _passage_for(max((p.n for p in passages), default=0) + 1, article, start, end)
        passages.append(passage)
    sentence = article.text[start:end].strip()
    citation = Citation(
        passage.n, article.id, article.title, article.source, start, start + len(sentence),
        sentence, article.outlet, article.url, article.published, article.authors,
    )  # fmt: skip
    return Said(f"{not_quoted} {sentence} [{passage.n}]".lstrip(), [citation], passages)
