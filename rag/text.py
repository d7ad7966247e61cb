"""The text rules every stage shares: words, stems, stopwords, sentences and refusal phrases.

Owns: the word and number patterns, the stop, negation and question word lists, the crude
stemmer and content-word weighting, scoped negation, the sentence splitter (with its
abbreviations) and the phrases that mark an answer as a refusal. One home, so retrieval,
citations, support checking and verification always agree on what a word or a sentence is.
Leaves out everything that needs a model or a tokenizer (token counts live in `chunking`,
embeddings in `embedding`) and any scoring policy (`support`, `verification`); standard library
only, so it imports in milliseconds.
"""

from __future__ import annotations

import re

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "been", "being", "by", "for", "from", "had", "has", "have", "he", "her", "hers", "him", "his", "i", "in", "into", "is", "it", "its", "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "whose", "why", "how", "will", "would", "with", "you", "your", "also", "both", "either", "any", "all", "said", "says", "say", "told", "stated", "according", "did", "does", "do", "done", "about", "can", "could", "should", "may", "might", "must", "shall", "just", "very", "more", "most", "other", "such", "only", "over"]
)  # fmt: skip
NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nor",
        "without",
        "neither",
        "n't",
        "don't",
        "doesn't",
        "didn't",
        "isn't",
        "wasn't",
    ]
)
QUESTION_WORDS = frozenset(
    [
        "what",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "which",
        "did",
        "does",
        "do",
        "is",
        "are",
        "was",
        "were",
    ]
)


def stem(word: str) -> str:
    """A deliberately crude stemmer: enough to match 'requested'/'requests', 'leaders'/'leader'."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]  # "Iran's" is "Iran"
    for suffix in ("ations", "ation", "ingly", "ing", "edly", "ed", "ies", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# Always names, even first in a sentence: "Monday night." is as much a guess as "Lavrov said".
# ("May" is left out: it opens sentences as a verb.)
CALENDAR = frozenset(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    + ("january", "february", "april", "june", "july", "august", "september", "october")
    + ("november", "december")
)


def _is_name(text: str, match: re.Match[str]) -> bool:
    """Capitalised and not the first word of a sentence (or of the text), or a day or month."""
    if not match.group(0)[0].isupper():
        return False
    if match.group(0).lower() in CALENDAR:
        return True
    before = text[: match.start()].rstrip(" \t\"'“‘«(")
    return bool(before) and before[-1] not in ".!?:\n"


_INITIALS = re.compile(r"\b([A-Z])\.([A-Z])\.?(?![A-Za-z])")


def _initials(text: str) -> str:
    """ "U.S." and "U.K." as one word, the way "US" and "UK" are written elsewhere."""
    return _INITIALS.sub(r"\1\2", text)


def content_terms(text: str) -> dict[str, float]:
    """Stemmed content words with weights: proper nouns (capitalised mid-sentence) weigh 2."""
    text = _initials(text)
    terms: dict[str, float] = {}
    for match in WORD.finditer(text):
        low = match.group(0).lower().replace("’", "'")
        if low in STOPWORDS or low in NEGATIONS or len(low) < 2:
            continue
        weight = 2.0 if _is_name(text, match) else 1.0
        key = stem(low)
        terms[key] = max(terms.get(key, 0.0), weight)
    return terms


def names(text: str) -> list[list[str]]:
    """Proper names as runs of capitalised words, stemmed: "Vladimir Putin said" ->
    [["vladimir", "putin"]]."""
    text = _initials(text)
    groups: list[list[str]] = []
    end = -1
    for match in WORD.finditer(text):
        low = match.group(0).lower().replace("’", "'")
        if low in STOPWORDS or low in NEGATIONS or len(low) < 2 or not _is_name(text, match):
            end = -1
            continue
        if groups and end >= 0 and not text[end : match.start()].strip():
            groups[-1].append(stem(low))
        else:
            groups.append([stem(low)])
        end = match.end()
    return groups


def unknown_name(text: str, known: set[str]) -> str:
    """The first proper name in `text` that `known` (stemmed terms) lacks, or "". A name counts
    as known when its last word is ("Vladimir Putin" where the article says "Putin") or most of
    its words are."""
    for group in names(text):
        hits = sum(found(t, known) for t in group)
        if not (found(group[-1], known) or hits * 2 > len(group)):
            return " ".join(group)
    return ""


def found(term: str, terms: set[str]) -> bool:
    """Exact, or one is a prefix of the other: Iran/Iranian, Israel/Israeli, Russia/Russian."""
    if term in terms:
        return True
    return len(term) >= 4 and any(
        len(t) >= 4 and (t.startswith(term) or term.startswith(t)) for t in terms
    )


def in_context(question: str, claim: str) -> str:
    """A fragment answer ("St. Petersburg") is judged together with its question, as a reader
    reads it; a full sentence stands alone."""
    return claim if len(content_terms(claim)) >= 3 else f"{question} {claim}"


def negated_terms(text: str) -> set[str]:
    """Stems of the content words a negation applies to: the next two after "not", "no", ...

    Scoped, because a negation elsewhere in the evidence ("he said he did not want ...") says
    nothing about the part the claim relies on.
    """
    # A leading "No," answers a yes/no question; it negates nothing in the sentence after it.
    text = re.sub(r"^\s*(no|yes)\s*[,.;:!]", "", text, flags=re.I)
    words = [w.lower().replace("’", "'") for w in WORD.findall(text)]
    scoped: set[str] = set()
    for i, word in enumerate(words):
        if word in NEGATIONS or word.endswith("n't"):
            following = [
                w for w in words[i + 1 : i + 5] if w not in STOPWORDS and w not in NEGATIONS
            ]
            scoped.update(stem(w) for w in following[:2])
    return scoped


# Words whose trailing period does not end a sentence ("Mr. Putin", "St. Petersburg").
ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "gen", "col", "lt", "sgt", "capt", "gov",
    "sen", "rep", "pres", "rev", "mt", "ft", "no", "vs", "etc", "inc", "ltd", "co", "corp",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "e.g", "i.e", "approx", "est", "dept", "univ",
}  # fmt: skip

# A candidate end: terminal punctuation, any closing quotes/brackets, then whitespace.
_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_OPENERS = "\"'“‘«([¿¡"


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at `dot` belongs to an abbreviation or an initial such as U.S."""
    if text[dot] != ".":
        return False
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
        word_start -= 1
    word = text[word_start:dot].lower()
    if not word:
        return False
    if word in ABBREVIATIONS:
        return True
    # Single letters and dotted initials: "U.S.", "J. K. Rowling", "a.m."
    return len(word.replace(".", "")) <= 1 or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) spans of sentences; paragraph breaks always end a sentence."""
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]*)*", text):
        p_start, p_end = para.span()
        start = p_start
        for match in _END.finditer(text, p_start, p_end):
            end = match.end()
            nxt = end
            while nxt < p_end and text[nxt].isspace():
                nxt += 1
            if nxt >= p_end:
                break
            following = text[nxt]
            if not (following.isupper() or following.isdigit() or following in _OPENERS):
                continue
            if _is_abbreviation(text, match.start()) and match.end() - match.start() == 1:
                continue
            spans.append((start, end))
            start = nxt
        # Trim trailing whitespace so spans never end in blanks.
        end = p_end
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append((start, end))
    return [(s, e) for s, e in spans if text[s:e].strip()]


# How a model says the passages hold no answer, matched anywhere in the lowered answer.
REFUSALS = (
    "articles don't say", "articles do not say", "article doesn't say", "article does not say",
    "passages don't say", "passages do not say", "don't contain", "do not contain",
    "does not contain", "not mentioned", "no information", "cannot answer", "can't answer",
    "not provided", "does not mention", "do not mention", "doesn't mention", "don't mention",
    "not say anything", "didn't say anything", "no mention", "not specified", "not stated",
)  # fmt: skip


def is_refusal(answer: str) -> bool:
    """True for an empty answer or one that says the passages hold no answer."""
    lowered = answer.lower().replace("’", "'")
    return not lowered.strip() or any(phrase in lowered for phrase in REFUSALS)
