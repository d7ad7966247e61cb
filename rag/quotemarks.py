"""Quote marks: where the quoted words in an article start and end, in any quote style.

Owns pairing opening and closing marks (“...”, "...", «...», „...“, ‘...’, '...') per paragraph,
telling a single quote mark from an apostrophe, and quotes left open that run on to the
paragraph's end. Leaves who said the words to `rag.attribution`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENERS = {"“": "”", "«": "»", "„": "“", '"': '"', "‘": "’", "'": "'"}


@dataclass(frozen=True)
class Span:
    open: int  # the opening mark
    close: int  # the closing mark, or the paragraph end for a quote running on
    start: int  # the quoted words, trimmed
    end: int
    para: int

    def capitalised(self, text: str) -> bool:
        """Whether the quote starts as a name or title does ("author of “The Art of the
        Deal”"), where reported words run on in lower case ("the droves of “wounded and sick
        children”")."""
        first = text[self.start : self.start + 1]
        return first.isupper() or first.isdigit()

    def short(self, text: str) -> bool:
        """A quote of a few words: a phrase, not a statement."""
        return len(text[self.start : self.end].split()) <= 4


def _opens(text: str, i: int) -> bool:
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return not (before.isalnum() or after.isspace())


def _closes(text: str, j: int) -> bool:
    after = text[j + 1] if j + 1 < len(text) else " "
    return not text[j - 1].isspace() and not after.isalnum()


def _find_close(text: str, mark: str, i: int, stop: int) -> int | None:
    """The closing mark for an opening one at i; single marks must look like quote marks, as
    the same characters are apostrophes."""
    want = OPENERS[mark]
    if mark in '“"' and want not in text[i + 1 : stop]:
        # Mixed marks ("China's leadership ... FDI,” or “... United States," it stated): with
        # no closing mark of its own kind left in the paragraph, the other double one closes.
        want = '"' if mark == "“" else "”"
    # Marks that are also apostrophes or openers must look like a closing mark.
    check = mark in "‘'" or want == '"' and mark == "“"
    for j in range(i + 1, stop):
        if text[j] == want and (not check or _closes(text, j)):
            return j
        if (
            mark == "“"
            and text[j] == '"'
            and text[j - 1] in ",.?!"
            and re.match(r"\s+[A-Z]?[a-z]", text[j + 1 : j + 4])
        ):
            # “I certainly don’t endorse that," Lawler said: a straight mark that closes a
            # sentence closes the curly one, though a curly close comes later in the paragraph.
            return j
        if mark == "“" and text[j] == "“":  # a new opening before the close: this one runs on
            return None
    return None


def quote_spans(text: str) -> list[Span]:
    """Every stretch of quoted words, per paragraph (a line); quotes nested inside others are
    part of the outer one. A quote left open runs to its paragraph's end."""
    spans: list[Span] = []
    for para, line in enumerate(re.finditer(r"[^\n]+", text)):
        i, stop = line.start(), line.end()
        while i < stop:
            mark = text[i]
            # Straight double marks pair up in order, whatever surrounds them ('5\'10"' aside);
            # the others must look like an opening, and "‘90s" is a year.
            if (
                mark not in OPENERS
                or mark == '"'
                and i
                and text[i - 1].isdigit()
                or mark != '"'
                and not _opens(text, i)
                or mark in "‘'"
                and i + 1 < stop
                and text[i + 1].isdigit()
            ):
                i += 1
                continue
            close = _find_close(text, mark, i, stop)
            if close is None and mark in "‘'":
                i += 1
                continue
            end = stop if close is None else close
            start, stripped_end = i + 1, end
            while start < stripped_end and text[start].isspace():
                start += 1
            while stripped_end > start and (
                text[stripped_end - 1].isspace() or text[stripped_end - 1] == ","
            ):
                stripped_end -= 1
            if stripped_end > start:
                spans.append(Span(i, end, start, stripped_end, para))
            i = end + 1
    return spans
