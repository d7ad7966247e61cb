"""What a question asks for: its options, if it offers a choice.

Owns: reading the options out of a choice question ("... Options: A; B; C; D.", "Was it X or
Y?", "Which of A, B or C ...?") and finding which options an answer names. Evaluation grades
with the same functions the checks use, so "names the gold option and no other" means one thing.
Leaves judging support to `support` and the other question kinds to `verification`.
"""

from __future__ import annotations

import re
import unicodedata

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
    if match:
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
