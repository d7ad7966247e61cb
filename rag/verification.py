"""Check the model's answer against the passages and the question before anyone sees it.

Owns the checks that need no trust in the model:
  1. a sentence naming a number or a proper noun that neither the question nor any passage
     contains is a guess and is dropped;
  2. a sentence whose cited passage does not support it (rag/support.py) while another given
     passage does is re-pointed to that passage; one without a citation gets one; one that no
     passage supports is marked "(not found in the articles)" (or dropped or kept, by policy);
  3. the answer as a whole must answer: give the kind of thing asked for (ANSWER_KINDS: a
     number, a date, a name, a reaction, the topic asked about, ...), say something the
     question does not, and mention the question's most specific term (for "What did Putin say
     about the treaty?" that is "treaty", not "Putin");
  4. an answer failing 1-3 is replaced by the passage sentence that best answers the question,
     quoted and cited (the extractive fallback), if that sentence passes the same tests; else
     the answer is "The articles don't say.".
Leaves marker parsing and quote offsets to `citations`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from rag.citations import answer_sentences
from rag.embedding import Embedder
from rag.errors import RagError
from rag.records import REFUSAL, Passage
from rag.support import SupportJudge
from rag.text import NEGATIONS, NUMBER, content_terms, found, in_context, sentence_spans

KEYWORD_WEIGHT = 0.3  # per unit of IDF, added to the cosine when ranking sentences
# What happens to an answer sentence that no given passage supports: it is shown marked "(not
# found in the articles)" and uncited. On the dev set (benchmarks/verify_policies.py) dropping
# it answered 89% right and refused 6% of answerable questions, against 91% and 4% marked (the
# check is strict about paraphrase); marking never shows such a sentence as fact either.
UNSUPPORTED = "mark"
POLICIES = ("mark", "drop", "keep")
UNSUPPORTED_MARK = "not found in the articles"
NO_SUPPORT = "no passage supports it"
_NUMBER_WORDS = (
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|dozen|dozens)\b"
)
_TIME_WORDS = (
    r"\d|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|today|yesterday|tomorrow|"
    r"tonight|morning|afternoon|evening|night|week|weekend|month|year|day|ago|earlier|later|"
    r"since|after|before|during|recently|spring|summer|autumn|winter)\b"
)
_REACTS = r"(respon\w*|repl\w*|react\w*|retaliat\w*|answer\w*)"
_SAID_ABOUT = re.compile(
    r"^\s*what (exactly )?(did|does|do|has|have) .+? (say|said|think|tell|claim|write) about "
    r"(?P<topic>.+?)(\s+(during|in|on|at|when|after|before|while)\b.*)?\?*\s*$",
    re.I,
)
# A question that asks "how many" is not answered by a sentence without a number, however well
# supported: "Iran fired rockets [1]" to "How many rockets did Iran fire?" is a dodge. The same
# holds for "when" without a time, and for "what is the name" without a name the question lacks.
ANSWER_KINDS = (
    (re.compile(r"^\s*how (many|much)\b", re.I), "number"),
    (re.compile(r"^\s*how long\b", re.I), "duration"),
    (re.compile(r"\b(what|which) (exact )?(date|day)\b", re.I), "date"),
    (re.compile(r"^\s*(when\b|(in |at )?what (year|month|time)\b)", re.I), "time"),
    (re.compile(r"\b(what|which) (is|was|are|were) the (\w+ )?names?\b", re.I), "name"),
    # "How did Israel respond to the warning?" is not answered by the warning itself.
    (
        re.compile(
            r"^\s*how (did|does|do|will|would|has|have) [^?]*?\b(respond|reply|react|retaliate)\b",
            re.I,
        ),
        "reaction",
    ),
    # "What did Xi say about the war?" is not answered by what Xi said about something else.
    (_SAID_ABOUT, "topic"),
)
_HAS_NUMBER = re.compile(_NUMBER_WORDS, re.I)
_HAS_TIME = re.compile(_TIME_WORDS, re.I)
_HAS_REACTION = re.compile(
    rf"\b({_REACTS}|said|says|told|stated|vowed|rejected|dismissed|ignored|launched|fired|"
    r"struck|hit back)\b",
    re.I,
)
_HAS_DURATION = re.compile(r"\b(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b", re.I)
# "Earlier this year" is a time but not the date asked for.
_HAS_DATE = re.compile(
    r"\d|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|"
    r"april|may|june|july|august|september|october|november|december|today|yesterday|"
    r"tomorrow)\b",
    re.I,
)


def _has(kind: str, answer: str, question: str) -> bool:
    if kind == "number":
        return bool(_HAS_NUMBER.search(answer))
    if kind == "time":
        return bool(_HAS_TIME.search(answer))
    if kind == "duration":
        return bool(_HAS_NUMBER.search(answer) or _HAS_DURATION.search(answer))
    if kind == "reaction":
        return bool(_HAS_REACTION.search(answer))
    if kind == "topic":
        match = _SAID_ABOUT.search(question)
        topic = content_terms(match.group("topic")) if match else {}
        have = set(content_terms(answer))
        return not topic or any(found(t, have) for t in topic)
    if kind == "date":
        return bool(_HAS_DATE.search(answer))
    # A name: a capitalised word or a quotation that the question does not already contain.
    asked = set(content_terms(question))
    names = [t for t, weight in content_terms(answer).items() if weight > 1]
    return any(not found(t, asked) for t in names) or bool(re.search(r"[«“\"]", answer))


@dataclass(frozen=True)
class Checked:
    answer: str
    abstained: bool
    note: str  # "" when the model's answer stood as written, else what was changed and why


def _sentences(passages: list[Passage]) -> list[tuple[Passage, str]]:
    return [(p, p.chunk.text[s:e]) for p in passages for s, e in sentence_spans(p.chunk.text)]


def _unsupported_detail(claim: str, evidence_terms: set[str], evidence_numbers: set[str]) -> str:
    """A number or proper noun in the claim that appears in no passage, or ""."""
    for number in NUMBER.findall(claim):
        if number not in evidence_numbers:
            return number
    for term, weight in content_terms(claim).items():
        if weight > 1 and not found(term, evidence_terms):
            return term
    return ""


def _missing_kind(question: str, answer: str) -> str:
    """The kind of answer the question asks for (see ANSWER_KINDS) if the answer lacks it,
    else ""."""
    for asks, kind in ANSWER_KINDS:
        if asks.search(question) and not _has(kind, answer, question):
            return kind
    return ""


def verify(
    question: str,
    answer: str,
    passages: list[Passage],
    embedder: Embedder,
    unsupported: str | None = None,
) -> Checked:
    """The answer to show, given the model's (marker-normalised) answer.

    `unsupported` says what happens to a sentence no passage supports: "drop", "mark" or
    "keep" (the last two exist to measure the choice)."""
    if not passages:
        return Checked(REFUSAL, True, "no passages")
    # A name the question itself uses is not the model's guess ("Americans" in a question
    # about "U.S." passages); whether the sentence is supported is judged below.
    text = " ".join([question] + [p.chunk.text for p in passages])
    evidence_terms, evidence_numbers = set(content_terms(text)), set(NUMBER.findall(text))
    kept: list[tuple[str, str, str]] = []
    dropped: list[tuple[str, str, str]] = []
    judge = SupportJudge(embedder)
    unsupported = unsupported or UNSUPPORTED
    if unsupported not in POLICIES:
        raise RagError(f"unsupported must be one of {', '.join(POLICIES)}, not {unsupported!r}")
    moved = marked = 0
    sentences = list(answer_sentences(answer))
    judge.prefetch(
        [in_context(question, c) for c, _ in sentences], [p.chunk.text for p in passages]
    )
    for claim, numbers in sentences:
        detail = _unsupported_detail(claim, evidence_terms, evidence_numbers)
        if not detail:
            better, supported = repoint(question, claim, numbers, passages, judge)
            moved += better != numbers
            numbers = better
            if not supported and unsupported != "keep":
                detail = NO_SUPPORT
        if detail == NO_SUPPORT and unsupported == "mark":
            # Shown, in place, as what it is; guesses (a number or name in no passage) are not.
            claim, numbers = _marked(claim), []
            detail, marked = "", marked + 1
        marks = "".join(f"[{n}]" for n in numbers)
        (dropped if detail else kept).append((claim, marks, detail))
    if not kept:
        why = f"dropped every sentence ({dropped[0][2]})" if dropped else ""
        return extractive(question, passages, embedder, why)
    if missing := _missing_kind(question, " ".join(c for c, _, _ in kept)):
        # The model dodged; the best passage sentence may still hold the number, time or name.
        return extractive(question, passages, embedder, f"the answer has no {missing}")
    shown = " ".join(_with_marks(claim, marks) for claim, marks, _ in kept)
    # An unsupported denial ("Khamenei did not respond to the demand") only negates the question.
    denial = marked == len(kept) and not adds_information(question, shown, negation=False)
    if denial or not adds_information(question, shown):
        # "AFP contributed the reporting [1]" to "Which AFP journalist contributed the
        # reporting?" only restates the question; a passage sentence may still answer it.
        return extractive(question, passages, embedder, "the answer only restated the question")
    focus = focus_terms(question, passages)
    # The answer, read with the passage sentences it rests on: «our Iranian partners» [1] is
    # about Putin's remark when the sentence it quotes says "he remarked".
    by_n = {p.n: p.chunk.text for p in passages}
    spans = [
        _closest_sentence(judge, in_context(question, claim), by_n[n])
        for claim, marks, _ in kept
        for n in map(int, re.findall(r"\d+", marks))
    ]
    answer_terms = set(content_terms(" ".join([shown, *spans])))
    if focus and not any(found(t, answer_terms) for t in focus):
        why = f"the answer did not mention {focus[0]!r}"
        return extractive(question, passages, embedder, why)
    notes = [f"dropped {len(dropped)} sentence(s) with details in no passage"] if dropped else []
    notes += [f"added or re-pointed the citations of {moved} sentence(s)"] if moved else []
    notes += [f"marked {marked} sentence(s) no passage supports"] if marked else []
    return Checked(shown, False, "; ".join(notes))


def _closest_sentence(judge: SupportJudge, claim: str, text: str) -> str:
    """The one sentence of `text` closest to the claim (lexical plus semantic score)."""
    sentences = [text[s:e] for s, e in sentence_spans(text)] or [text]
    scores = judge.judge_many([(claim, s) for s in sentences])
    return max(zip(sentences, scores, strict=True), key=lambda x: x[1].lexical + x[1].semantic)[0]


def adds_information(question: str, answer: str, negation: bool = True) -> bool:
    """Whether the answer says anything the question does not: a content word, a number, a
    yes/no or (if `negation`) a negation that the question lacks."""
    asked = set(content_terms(question))
    if any(not found(t, asked) for t in content_terms(answer.replace(UNSUPPORTED_MARK, ""))):
        return True
    if not negation:
        return False
    extra = NEGATIONS | {"yes"}
    question_words = set(re.findall(r"[\w']+", question.lower()))
    return any(
        w in extra and w not in question_words for w in re.findall(r"[\w']+", answer.lower())
    )


def _marked(claim: str) -> str:
    """'He said «no.»' -> 'He said «no» (not found in the articles).': the mark stays inside
    the sentence, so no reader or sentence splitter can separate the two."""
    body, closing = claim.rstrip(), ""
    while body and body[-1] in '»”"’':
        closing, body = body[-1] + closing, body[:-1].rstrip()
    return f"{body.rstrip('.!? ')}{closing} ({UNSUPPORTED_MARK})."


def _with_marks(claim: str, marks: str) -> str:
    """'Putin said so .' + '[1]' -> 'Putin said so [1].'"""
    body = re.sub(r"\s+([.!?,;:])", r"\1", claim).rstrip()
    if not marks:
        return body
    end = body[-1] if body and body[-1] in ".!?" else "."
    return f"{body.rstrip('.!?')} {marks}{end}"


def repoint(
    question: str, claim: str, cited: list[int], passages: list[Passage], judge: SupportJudge
) -> tuple[list[int], bool]:
    """The passages to cite for `claim` (the cited ones if one supports it, else the best
    supporting passage, else the citation as the model gave it), and whether any supports it."""
    if not content_terms(claim):
        return cited, True  # "Yes." or a bare name: judged with the question, not alone
    full = in_context(question, claim)
    judge.prefetch([full], [p.chunk.text for p in passages])
    verdicts = {p.n: judge.best_span(full, p.chunk.text)[2] for p in passages}
    supporting = [n for n, v in verdicts.items() if v.supported]
    if not supporting:
        return cited, False
    if set(cited) & set(supporting):
        return cited, True
    best = max(supporting, key=lambda n: verdicts[n].lexical + verdicts[n].semantic)
    return [best], True


def focus_terms(question: str, passages: list[Passage]) -> list[str]:
    """The question's rarest terms among the passage sentences (present in some, not in most)."""
    sentences = [set(content_terms(s)) for _, s in _sentences(passages)]
    df = {t: sum(1 for s in sentences if found(t, s)) for t in content_terms(question)}
    present = {t: d for t, d in df.items() if d}
    if not present:
        return []
    rarest = min(present.values())
    # A term in more than a third of the sentences says little about which one answers.
    if rarest > max(1, len(sentences) // 3):
        return []
    return [t for t, d in present.items() if d == rarest]


def extractive(question: str, passages: list[Passage], embedder: Embedder, why: str) -> Checked:
    """The model's answer failed for `why`: answer with the passage sentence that best answers
    the question, quoted and cited, if it clearly does; else refuse."""
    text = set(content_terms(" ".join(p.chunk.text for p in passages)))
    absent = [t for t, w in content_terms(question).items() if w > 1 and not found(t, text)]
    if absent:
        # "Did China offer weapons?" over passages that never name China: any sentence quoted
        # would answer a different question.
        return Checked(REFUSAL, True, f"{why}; no passage mentions {absent[0]!r}")
    passage, sentence = focus_sentence(question, passages, embedder)
    if missing := _missing_kind(question, sentence):
        return Checked(REFUSAL, True, f"{why}; no passage sentence has the {missing} asked for")
    if not adds_information(question, sentence):
        return Checked(REFUSAL, True, f"{why}; no passage sentence adds to the question")
    return Checked(f"{sentence.rstrip()} [{passage.n}]", False, f"extractive: {why}")


def focus_sentence(
    question: str, passages: list[Passage], embedder: Embedder
) -> tuple[Passage, str]:
    """The passage sentence that best answers the question."""
    sentences = _sentences(passages)
    vectors = embedder.embed([question] + [s for _, s in sentences])  # (1 + n, dim)
    cosines = vectors[1:] @ vectors[0]
    terms = [set(content_terms(s)) for _, s in sentences]
    question_terms = content_terms(question)
    df = {t: sum(1 for s in terms if found(t, s)) for t in question_terms}

    def keyword_score(i: int) -> float:
        return sum(
            math.log(1 + len(terms) / df[t]) for t in question_terms if df[t] and found(t, terms[i])
        )

    best = int(np.argmax([c + KEYWORD_WEIGHT * keyword_score(i) for i, c in enumerate(cosines)]))
    return sentences[best]
