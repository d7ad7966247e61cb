"""Check the model's answer against the passages and the question before anyone sees it.

Owns the checks that need no trust in the model. Sentence by sentence:
  - a sentence naming a number or a proper noun that neither the question nor any passage
    contains is a guess and is left out;
  - a sentence whose cited passage does not support it (rag/support.py) while another given
    passage does is re-pointed to that passage; one without a citation gets one; one that no
    passage supports is marked "(not found in the articles)" (or dropped or kept, by policy);
  - "Yes, X has not ..." is turned into "No, ...": the leading word must agree with the rest.
Then the answer as a whole goes through CHECKS, small named checks over the question kinds of
`rag/questions.py`: it names one of the options a choice question offers, gives the kind of
thing asked for (a number, a date, a name, a reaction, ...), says something the question does
not, and is more than a bare denial. At the first failure the answer is replaced (`fallback`):
by the option the passages support best (a choice question, see `choices`, which also reads an
answer as the option it means), else by the passage sentence that best answers the question,
quoted and cited, if that sentence passes the same checks, else by "The articles don't say.".
Every note is in a reader's words. A "focus" check (the answer must mention the question's
rarest term) was dropped: it rescued 3 seed answers but harmed 2 of 90 open RealTime QA ones.
Leaves marker parsing and quote offsets to `citations`, support scores to `support`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rag.choices import choose_option, read_as_option
from rag.citations import answer_sentences, strip_markers
from rag.embedding import Embedder
from rag.errors import RagError
from rag.questions import kinds_asked, named_options, split_options
from rag.records import REFUSAL, Checked, Passage
from rag.support import SupportJudge
from rag.text import (
    NEGATIONS,
    NUMBER,
    content_terms,
    found,
    in_context,
    is_refusal,
    sentence_spans,
    unknown_name,
)

KEYWORD_WEIGHT = 0.3  # per unit of IDF, added to the cosine when ranking sentences
# What happens to an answer sentence that no given passage supports: it is shown marked "(not
# found in the articles)" and uncited. On the dev set (benchmarks/verify_policies.py) dropping
# it answered 89% right and refused 6% of answerable questions, against 91% and 4% marked;
# marking never shows such a sentence as fact either.
UNSUPPORTED = "mark"
POLICIES = ("mark", "drop", "keep")
UNSUPPORTED_MARK = "not found in the articles"


@dataclass(frozen=True)
class Draft:
    """An answer under check: what was asked and what is left of the model's answer."""

    question: str  # without its options list
    options: list[str]  # a choice question's options, else []
    text: str  # the sentences kept, with their citations
    kept: int
    marked: int  # of the kept sentences, how many no passage supports
    passages: list[Passage]
    judge: SupportJudge

    @property
    def plain(self) -> str:
        """The text without citation markers: "[1]" is not the number a question asks for."""
        return strip_markers(self.text)


def _sentences(passages: list[Passage]) -> list[tuple[Passage, str]]:
    return [(p, p.chunk.text[s:e]) for p in passages for s, e in sentence_spans(p.chunk.text)]


def _guessed(claim: str, evidence_terms: set[str], evidence_numbers: set[str]) -> str:
    """A number or proper noun in the claim that appears in no passage, or ""."""
    for number in NUMBER.findall(claim):
        if number not in evidence_numbers:
            return number
    return unknown_name(claim, evidence_terms)


# The checks of the answer as a whole. Each returns "" when the answer passes, else what is
# wrong with it, to finish the sentence "The model's answer ...".
def names_one_option(d: Draft) -> str:
    if not d.options:
        return ""
    named = named_options(d.plain, d.options)
    if len(named) == 1:
        return ""
    return "named none of the options" if not named else "named more than one option"


def gives_kind(d: Draft) -> str:
    for kind in kinds_asked(d.question):
        if not kind.gives(d.plain, d.question):
            return kind.missing
    return ""


def says_something(d: Draft) -> str:
    """ "AFP contributed the reporting [1]" to "Which AFP journalist contributed the
    reporting?" only restates the question."""
    if d.options or adds_information(d.question, d.plain):
        return ""
    return "only repeated the question"


def not_bare_denial(d: Draft) -> str:
    """ "Khamenei did not respond to the demand" with no passage saying so only negates the
    question."""
    if d.options or d.marked < d.kept or adds_information(d.question, d.plain, negation=False):
        return ""
    return "only repeated or denied the question, and no article says so"


Check = Callable[[Draft], str]
CHECKS: tuple[tuple[str, Check], ...] = (
    ("one option", names_one_option),
    ("kind", gives_kind),
    ("says something", says_something),
    ("not a bare denial", not_bare_denial),
)


def first_failure(d: Draft) -> str:
    for _, check in CHECKS:
        if why := check(d):
            return why
    return ""


def agree_yes_no(question: str, answer: str) -> tuple[str, bool]:
    """ "Yes, Iran has not requested aid" -> "No, Iran has not requested aid": the leading word
    must agree with the rest of the answer. Returns the answer and whether it changed."""
    match = re.match(r"^\s*yes\b\s*[,.;:!-]?\s*", answer, re.I)
    if not match:
        return answer, False
    words = set(re.findall(r"[\w']+", answer[match.end() :].lower().replace("’", "'")))
    asked = set(re.findall(r"[\w']+", question.lower().replace("’", "'")))
    negated = any((w in NEGATIONS or w.endswith("n't")) and w not in asked for w in words)
    return ("No, " + answer[match.end() :], True) if negated else (answer, False)


def verify(
    question: str,
    answer: str,
    passages: list[Passage],
    embedder: Embedder,
    unsupported: str | None = None,
    planted: str = "",
) -> Checked:
    """The answer to show, given the model's (marker-normalised) answer.

    `unsupported` says what happens to a sentence no passage supports: "drop", "mark" or
    "keep" (the last two exist to measure the choice). `planted` is the text of instructions
    found in the articles (rag/untrusted.py): a sentence that repeats it obeyed them."""
    unsupported = unsupported or UNSUPPORTED
    if unsupported not in POLICIES:
        raise RagError(f"unsupported must be one of {', '.join(POLICIES)}, not {unsupported!r}")
    if not passages:
        return Checked(REFUSAL, True, "No passage was close enough to the question.")
    asked, options = split_options(question)
    if is_refusal(answer):
        # Only a choice question gets here: an article may still support one of its options.
        return choose_option(asked, options, passages, embedder, "said the articles don't say")
    # A name the question itself uses is not the model's guess ("Americans" in a question
    # about "U.S." passages), nor is an option it offers; support is judged below.
    text = " ".join([question] + [p.chunk.text for p in passages])
    evidence_terms, evidence_numbers = set(content_terms(text)), set(NUMBER.findall(text))
    planted_terms = set(content_terms(planted)) - evidence_terms
    judge = SupportJudge(embedder)
    answer, flipped = agree_yes_no(asked, answer)
    answer, reading = read_as_option(answer, options)
    kept: list[tuple[str, str]] = []
    dropped = moved = marked = obeyed = 0
    sentences = list(answer_sentences(answer))
    judge.prefetch([in_context(asked, c) for c, _ in sentences], [p.chunk.text for p in passages])
    for claim, numbers in sentences:
        if any(found(t, planted_terms) for t in content_terms(claim)):
            obeyed += 1
            continue
        if _guessed(claim, evidence_terms, evidence_numbers):
            dropped += 1
            continue
        better, supported = repoint(asked, claim, numbers, passages, judge)
        moved += better != numbers
        numbers = better
        if not supported and unsupported == "drop":
            dropped += 1
            continue
        if not supported and unsupported == "mark":
            # Shown, in place, as what it is; guesses (a number or name in no passage) are not.
            claim, numbers, marked = _marked(claim), [], marked + 1
        kept.append((claim, "".join(f"[{n}]" for n in numbers)))
    if not kept:
        why = (
            "repeated instructions planted in an article"
            if obeyed
            else "named something no article mentions"
            if dropped
            else "was empty"
        )
        return fallback(asked, options, passages, embedder, why)
    shown = " ".join(_with_marks(claim, marks) for claim, marks in kept)
    draft = Draft(asked, options, shown, len(kept), marked, passages, judge)
    if why := first_failure(draft):
        return fallback(asked, options, passages, embedder, why)
    if options and marked == len(kept):
        # No passage supports the model's option; another option may be better founded.
        alternative = choose_option(
            asked, options, passages, embedder, "is not supported by the articles", closest=True
        )
        picked = named_options(strip_markers(shown), options)
        if not alternative.abstained and named_options(alternative.answer, options) != picked:
            return alternative
    notes = ["Changed “Yes” to “No”: the rest of the answer says no."] if flipped else []
    notes += [reading] if reading else []
    notes += [f"Left out {dropped} sentence(s) naming something no article mentions."] * bool(
        dropped
    )
    notes += [
        f"Left out {obeyed} sentence(s) that followed instructions planted in an article."
    ] * bool(obeyed)
    notes += [f"Corrected the citation of {moved} sentence(s)."] * bool(moved)
    notes += [f"Marked {marked} sentence(s) the articles don't support."] * bool(marked)
    return Checked(shown, False, " ".join(notes))


def adds_information(question: str, answer: str, negation: bool = True) -> bool:
    """Whether the answer says anything the question does not: a content word, a number, a
    yes/no or (if `negation`) a negation that the question lacks."""
    asked = set(content_terms(question))
    if any(not found(t, asked) for t in content_terms(answer.replace(UNSUPPORTED_MARK, ""))):
        return True
    if not negation:
        return False
    extra = NEGATIONS | {"yes", "true", "false"}
    # "True or false: ...?" offers both words; picking one answers it.
    question_words = set(re.findall(r"[\w']+", question.lower())) - {"true", "false"}
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


def fallback(
    question: str, options: list[str], passages: list[Passage], embedder: Embedder, why: str
) -> Checked:
    """The model's answer failed a check (`why`, to finish "The model's answer ..."): answer
    from the passages alone if they clearly do, else refuse."""
    if options:
        return choose_option(question, options, passages, embedder, why)
    return extractive(question, passages, embedder, why)


def extractive(question: str, passages: list[Passage], embedder: Embedder, why: str) -> Checked:
    """Answer with the passage sentence that best answers the question, quoted and cited, if it
    clearly does; else refuse."""
    text = set(content_terms(" ".join(p.chunk.text for p in passages)))
    if absent := unknown_name(question, text):
        # "Did China offer weapons?" over passages that never name China: any sentence quoted
        # would answer a different question.
        return Checked(
            REFUSAL, True, f"The model's answer {why}, and no article mentions {absent!r}."
        )
    passage, sentence = focus_sentence(question, passages, embedder)
    draft = Draft(question, [], sentence, 1, 0, passages, SupportJudge(embedder))
    if gives_kind(draft) or says_something(draft):
        return Checked(
            REFUSAL, True, f"The model's answer {why}, and no article sentence answers it."
        )
    note = f"The model's answer {why}; shown instead: the article sentence that answers it."
    return Checked(f"{sentence.rstrip()} [{passage.n}]", False, note)


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
