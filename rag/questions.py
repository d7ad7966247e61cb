"""What a question asks for: the kind of answer (a number, a date, a name, one of its options...).

Owns the table of question kinds (KINDS: how a question asks for each, and how to tell that an
answer gives it) and choice questions: reading the options out of a choice question ("... Options: A; B; C; D.", "Was it X or
Y?", "Which of A, B or C ...?") and finding which options an answer names. Evaluation grades
with the same functions the checks use, so "names the gold option and no other" means one thing.
Leaves judging support to `support` and the other question kinds to `verification`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from rag.text import content_terms, found

# "... Options: Bed Bath & Beyond; IKEA; Best Buy; Petco." as `rag eval` asks RealTime QA.
_OPTIONS = re.compile(r"\s*\b(?:options|choices)\s*:\s*(?P<list>.+?)\s*\.?\s*$", re.I | re.S)
# "Was it Biden or Trump?", "Did he go to Paris or Rome?": alternatives at the end.
_EITHER = re.compile(
    r"^\s*(?:was|is|were|are|did|does|do|will|would|has|have|should|can)\b(?P<head>.*?)"
    r"\s*,?\s+or\s+(?P<b>[^\s?,][^?,]{0,40}?)\s*\?\s*$",
    re.I,
)
# "Which of Paris, Rome or Berlin ...": a listed set after "which of".
_WHICH_OF = re.compile(
    r"\bwhich (?:one )?of (?:these|the following)?:?\s*(?P<list>[^?]+?(?:,|\bor\b)[^?]+?)\s*"
    r"(?:\b(?:is|was|are|were|did|does|has|have)\b|\?)",
    re.I,
)


def split_options(question: str) -> tuple[str, list[str]]:
    """(the question without its options list, the options) for a choice question; else
    (question, [])."""
    match = _OPTIONS.search(question)
    if match and ";" in match.group("list"):
        options = [o.strip(" .;") for o in match.group("list").split(";")]
        return question[: match.start()].strip(), [o for o in options if o]
    match = _WHICH_OF.search(question)
    if match:
        parts = re.split(r"\s*,\s*(?:or\s+)?|\s+or\s+", match.group("list"))
        options = [p.strip(" .") for p in parts if p.strip(" .")]
        if len(options) >= 2:
            return question, options
    match = _EITHER.search(question)
    if match and match.group("b").lower() not in ("not", "no"):
        return question, [_alternative(match.group("head"), match.group("b")), match.group("b")]
    return question, []


def _alternative(head: str, other: str) -> str:
    """The words before "or" that mirror the words after it: a run of capitalised words for a
    name ("it Joe Biden" -> "Joe Biden"), else as many words as the other alternative has."""
    words = head.split()
    if other[:1].isupper():
        run: list[str] = []
        for word in reversed(words):
            if not word[:1].isupper():
                break
            run.insert(0, word)
        if run:
            return " ".join(run)
    return " ".join(words[-len(other.split()) :])


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("&amp;", "&").lower()
    words = (w.strip(".'") for w in re.findall(r"[\w'&$%.]+", text))
    return " ".join(w for w in words if w)


def named_options(answer: str, options: list[str]) -> list[int]:
    """Indexes of the options the answer names, longest first so that "Joe Biden" named is not
    also "Biden" named."""
    text = f" {_norm(answer)} "
    named: list[int] = []
    for i in sorted(range(len(options)), key=lambda i: -len(options[i])):
        option = _norm(options[i])
        if not option:
            continue
        pattern = re.compile(rf"(?<![\w&$]){re.escape(option)}(?![\w&%])")
        if pattern.search(text):
            named.append(i)
            text = pattern.sub(" ", text)
    return sorted(named)


# What a question asks for, and how to tell that an answer gives it. A question that asks "how
# many" is not answered by a sentence without a number, however well supported: "Iran fired
# rockets [1]" to "How many rockets did Iran fire?" is a dodge. The same holds for "when"
# without a time, and for "what is the name" without a name the question lacks.
_NUMBER_WORDS = (
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|hundreds|thousand|thousands|million|millions|billion|dozen|dozens)\b"
)
_MONTHS_DAYS = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"may|june|july|august|september|october|november|december"
)
_HAS_NUMBER = re.compile(_NUMBER_WORDS, re.I)
_HAS_TIME = re.compile(
    rf"\d|\b({_MONTHS_DAYS}|today|yesterday|tomorrow|tonight|morning|afternoon|evening|night|"
    r"week|weekend|month|year|day|ago|earlier|later|since|after|before|during|recently|spring|"
    r"summer|autumn|winter)\b",
    re.I,
)
# "Earlier this year" is a time but not the date asked for.
_HAS_DATE = re.compile(rf"\d|\b({_MONTHS_DAYS}|today|yesterday|tomorrow)\b", re.I)
_HAS_DURATION = re.compile(
    rf"{_NUMBER_WORDS}|\b(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b", re.I
)
_HAS_REACTION = re.compile(
    r"\b(respon\w*|repl\w*|react\w*|retaliat\w*|answer\w*|said|says|told|stated|vowed|rejected|"
    r"dismissed|ignored|launched|fired|struck|hit back)\b",
    re.I,
)
SAID_ABOUT = re.compile(
    r"^\s*what (exactly )?(did|does|do|has|have) .+? (say|said|think|tell|claim|write) about "
    r"(?P<topic>.+?)(\s+(during|in|on|at|when|after|before|while)\b.*)?\?*\s*$",
    re.I,
)


def _said_about(answer: str, question: str) -> bool:
    """ "What did Xi say about the war?" is not answered by what Xi said about something else."""
    match = SAID_ABOUT.search(question)
    topic = content_terms(match.group("topic")) if match else {}
    have = set(content_terms(answer))
    return not topic or any(found(t, have) for t in topic)


def _a_name(answer: str, question: str) -> bool:
    """A capitalised word or a quotation that the question does not already contain."""
    asked = set(content_terms(question))
    names = [t for t, weight in content_terms(answer).items() if weight > 1]
    return any(not found(t, asked) for t in names) or bool(re.search(r"[«“\"]", answer))


@dataclass(frozen=True)
class Kind:
    name: str
    asks: re.Pattern[str]  # matches the questions that ask for this kind
    gives: Callable[[str, str], bool]  # (answer, question) -> whether the answer gives it
    missing: str  # in a reader's words, to finish "The model's answer ...": "gave no number"


KINDS = (
    Kind("number", re.compile(r"\bhow (many|much)\b", re.I),
         lambda a, q: bool(_HAS_NUMBER.search(a)), "gave no number"),
    Kind("duration", re.compile(r"\bhow long\b", re.I),
         lambda a, q: bool(_HAS_DURATION.search(a)), "gave no length of time"),
    Kind("date", re.compile(r"\b(what|which) (exact )?(date|day)\b", re.I),
         lambda a, q: bool(_HAS_DATE.search(a)), "gave no date"),
    Kind("time", re.compile(r"^\s*(when\b|(in |at )?what (year|month|time)\b)", re.I),
         lambda a, q: bool(_HAS_TIME.search(a)), "gave no time"),
    Kind("name", re.compile(r"\b(what|which) (is|was|are|were) the (\w+ )?names?\b", re.I),
         _a_name, "gave no name"),
    # "How did Israel respond to the warning?" is not answered by the warning itself.
    Kind("reaction",
         re.compile(r"^\s*how (did|does|do|will|would|has|have) [^?]*?\b(respond|reply|react|"
                    r"retaliate)\b", re.I),
         lambda a, q: bool(_HAS_REACTION.search(a)), "did not say how they responded"),
    Kind("topic", SAID_ABOUT, _said_about, "was about something else than what was asked"),
)  # fmt: skip


def kinds_asked(question: str) -> list[Kind]:
    return [k for k in KINDS if k.asks.search(question)]


def nearest_option(answer: str, options: list[str]) -> int | None:
    """The option an answer means when it names none exactly: "a ruling overturning Roe vs
    Wade" -> "A ruling that overturned Roe vs Wade". The option whose content words the answer
    covers best, if it covers at least two thirds of them and no other option comes as close."""
    have = set(content_terms(answer))
    scores = []
    for option in options:
        terms = content_terms(option)
        total = sum(terms.values())
        scores.append(sum(w for t, w in terms.items() if found(t, have)) / total if total else 0.0)
    ranked = sorted(range(len(options)), key=lambda i: -scores[i])
    best = ranked[0]
    if scores[best] < 2 / 3 or (len(ranked) > 1 and scores[ranked[1]] >= scores[best]):
        return None
    return best
