"""Attribution: who said each quoted stretch of an article.

Owns the speech verbs, the attribution around a quote ("X said: “...”", "“...,” X said",
"“...,” said X", "“...,” he said"), resolving "he"/"the minister" to the nearest named speaker,
and quotes inheriting a neighbour's speaker. Leaves finding the quote marks to
`rag.quotemarks`, name handling to `rag.speakers` and the `Quote` records to `rag.quotes`.
Pure regular expressions and small heuristics, no model: a quote whose speaker cannot be told
is left out, as a wrong speaker is worse than a missing quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.quotemarks import Span, quote_spans
from rag.speakers import (
    NAME,
    NAME_RE,
    NOT_NAMES,
    SENTENCE_WORDS,
    TITLES,
    NameBook,
    is_org,
    strip_titles,
    words,
)

VERBS = words(
    """said says say told tells tell stated states added adds adding warned warns warning urged
    urges asked asks noted notes wrote writes explained explains insisted insists argued argues
    claimed claims declared declares emphasized emphasised stressed remarked replied responded
    recalled continued acknowledged admitted announced tweeted posted testified suggested
    clarified complained cautioned conceded concluded joked quipped predicted promised vowed
    pledged shouted yelled wondered observed commented countered reiterated boasted lamented
    contended maintained indicated called described recounted repeated cautions texted messaged
    assured affirmed alleged charged saying noting telling calling writing arguing"""
)
VERB_RE = re.compile(r"\b(?:" + "|".join(sorted(set(VERBS), key=len, reverse=True)) + r")\b")
# "the minister said" means someone named before; "a spokesperson said" or "officials said"
# names no one, and is left out.
ROLES = (
    "president|minister|prime minister|secretary|senator|governor|mayor|spokesman|spokeswoman|"
    "spokesperson|chancellor|leader|congressman|congresswoman|lawmaker|judge|justice|speaker|"
    "ambassador|chairman|chairwoman|chief executive|ceo|general|king|queen|pope|premier|"
    "candidate|nominee|star|actor|actress|singer|coach|founder|author|attorney|lawyer"
)
# Words that describe the person named next: "Foreign Ministry spokesman Zhao Lijian said".
DESCRIBED = (
    "spokesman|spokeswoman|spokesperson|secretary|adviser|advisor|coordinator|director|chief|"
    "minister|leader|chairman|chairwoman|aide|analyst|professor|economist|contributor|lawyer|"
    "attorney|president|senator|governor|mayor|ambassador|official|expert|fellow|founder"
)
SUBJECT = (
    r"(?P<pron>\b(?:[Hh]e|[Ss]he)\b)"
    rf"|(?P<role>\b(?:[Tt]he|[Tt]his)\s+(?:[\w.’'\-]+\s+){{0,2}}?(?:{ROLES})\b)"
    rf"|(?:(?:[Tt]he\s+)?(?:{NAME}\s+)?(?:[a-z\-]+\s+){{0,2}}(?:{DESCRIBED})\s+(?={NAME}))?"
    rf"(?P<name>(?<![\w’'\-])(?:[Tt]he\s+)?{NAME}(?: (?:to|for) (?:the )?{NAME})?)"
)
# "..., saying ...": the participle's subject is the sentence's.
PARTICIPLES = {"saying", "adding", "noting", "warning", "telling", "calling", "writing", "arguing"}
SUBJECT_RE = re.compile(SUBJECT)
# Between a subject and its verb: an apposition ("Yuri Ushakov, a foreign policy adviser to
# Putin, told"), an adverb or an auxiliary.
GAP_RE = re.compile(
    r"\s*(?:,[^,;“”«»\"]{1,140},\s*)?(?:(?:also|later|then|previously|again|once|just|has|had|"
    r"have|would|will|did|\w+ly)\s+)*"
)
LEAD = r"^[\s,—–\-]*"
AFTER_SUBJECT_FIRST = re.compile(
    rf"{LEAD}(?:{SUBJECT})(?={GAP_RE.pattern}(?P<verb>{VERB_RE.pattern}))"
)
AFTER_VERB_FIRST = re.compile(rf"{LEAD}(?P<verb>{VERB_RE.pattern}|according to)\s+(?:{SUBJECT})")
AFTER_VERB_FIRST_ANYWHERE = re.compile(rf"(?P<verb>{VERB_RE.pattern})\s+(?:{SUBJECT})")
SUBJECT_THEN_VERB = re.compile(rf"(?:{SUBJECT})(?={GAP_RE.pattern}(?P<verb>{VERB_RE.pattern}))")
ACCORDING_TO = re.compile(rf"\b[Aa]ccording to\s+(?:{SUBJECT})\s*,\s*$")
# A sentence ends at . ! or ? (maybe inside a closing mark) before a capital or a quote mark,
# but not after an initial ("U.S. President") or a short title ("Dr. Smith").
SENTENCE_END = re.compile(
    r"(?<![A-Z])(?<!\b(?:Mr|Ms|Dr|St|Jr|Sr|vs))(?<!\bMrs)[.!?][”\"’»']?\s+(?=[A-Z“\"«‘])"
)
# A person named right after a preposition or an object-taking verb is not the sentence subject
# ("spoke by phone with Chinese leader Xi Jinping").
NOT_SUBJECT = re.compile(
    r"\b(?:with|to|by|from|of|for|at|about|against|on|in|after|before|and|than|between|"
    r"toward|towards|including|like|as|via|under|over|into|met|called|thanked|visited|named|"
    r"replaced|succeeded|joined|criticized|praised|'s|’s)\s+(?:[\w.’'\-]+\s+){0,2}$"
)
# A quote right after these is a title or a name, not anyone's words.
TAKES_TITLE = r"\b(?:of|on|titled|entitled)"


@dataclass(frozen=True)
class Said:
    """A speaker found for one span, before it becomes a Quote."""

    speaker: str
    verb: str
    at: int
    to: int


class _Reader:
    """One article's paragraphs, people and spans, read once for all its quotes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.paras = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
        self.spans = quote_spans(text)
        outside = [m for m in NAME_RE.finditer(text) if not self._quoted(m.start())]
        self.book = NameBook(m.group() for m in outside)
        speaks = re.compile(GAP_RE.pattern + VERB_RE.pattern)
        # (position, paragraph, full name, is a speaker, is a sentence subject) of each person
        self.people: list[tuple[int, int, str, bool, bool]] = []
        for m in outside:
            name = self.book.full(m.group())
            if name is None or is_org(name) or m.group().endswith(("’s", "'s")):
                continue
            para = self._para(m.start())
            before = text[max(self.paras[para][0], m.start() - 40) : m.start()]
            speaker = speaks.match(text, m.end()) is not None
            self.people.append((m.start(), para, name, speaker, not NOT_SUBJECT.search(before)))

    def _quoted(self, pos: int) -> bool:
        return any(s.open <= pos <= s.close for s in self.spans)

    def _para(self, pos: int) -> int:
        return next(i for i, (a, b) in enumerate(self.paras) if a <= pos <= b)

    def resolve(self, pos: int) -> str | None:
        """The person "he" or "the minister" at pos means: in this paragraph and then up to
        three before it, the last person who speaks or is a sentence's subject."""
        para = self._para(pos)
        for p in range(para, max(para - 4, -1), -1):
            found = [m for m in self.people if m[1] == p and m[0] < pos and (m[3] or m[4])]
            if found:
                return found[-1][2]
        return None

    def speaker(self, m: re.Match[str], offset: int) -> tuple[str, int, int] | None:
        """The speaker a SUBJECT match names, with where the words are."""
        at, to = m.start("pron"), m.end("pron")
        if m.group("pron") or m.group("role"):
            if m.group("role"):
                at, to = m.start("role"), m.end("role")
            name = self.resolve(offset + at)
            return None if name is None else (name, offset + at, offset + to)
        raw = m.group("name")
        at, to = m.start("name"), m.end("name")
        head = re.split(r" (?:to|for) ", raw)[0]
        if head != raw and head.split()[-1] not in TITLES:
            raw, to = head, at + len(head)  # "Smith to the Senate" is Smith

        name = strip_titles(raw)
        words = name.split()
        if not name or raw.endswith(("’s", "'s")) or words[0] in SENTENCE_WORDS:
            return None
        if is_org(name):
            return name, offset + at, offset + to
        full = self.book.full(name)
        if full is None and len(words) == 1 or full is None and words[-1] in NOT_NAMES:
            # A country or a surname no full name was given for is still named by the text.
            full = name if words[0] not in NOT_NAMES or len(words) == 1 else None
        return None if full is None else (full, offset + at, offset + to)

    def _participle_subject(self, sentence: int, at: int) -> tuple[str, int, int] | None:
        """Who "..., adding that" or "..., saying" belongs to: the speaker of an attribution
        earlier in the sentence ("said Modi, adding"), else the subject it starts with
        ("Kishida paid his ..., saying")."""
        earlier = [
            m
            for pattern in (AFTER_VERB_FIRST_ANYWHERE, SUBJECT_THEN_VERB)
            for m in pattern.finditer(self.text, sentence, at)
            if not self._quoted(m.start()) and m.group("verb") not in PARTICIPLES
        ]
        for m in sorted(earlier, key=lambda m: m.start(), reverse=True):
            found = self.speaker(m, 0)
            if found:
                return found
        lead = re.compile(r"\s*(?:(?:But|And|Yet|Still|Then)\s+)?").match(self.text, sentence)
        s = SUBJECT_RE.match(self.text, lead.end() if lead else sentence)
        return self.speaker(s, 0) if s else None

    def names_someone_else(self, k: int) -> bool:
        """Whether span k has an attribution of its own that named no one ("a message posted on
        Weibo said"), so it must not take a neighbour's speaker."""
        span, text = self.spans[k], self.text
        para_end = self.paras[span.para][1]
        tail = text[span.close + 1 : min(para_end, span.close + 80)]
        prev = self.spans[k - 1] if k and self.spans[k - 1].para == span.para else None
        lo = prev.close + 1 if prev else span.open
        ends = list(SENTENCE_END.finditer(text, lo, span.open + 1))
        between = text[ends[-1].end() if ends else lo : span.open]  # this quote's sentence
        return bool(
            re.match(rf"^[\s,—–\-]*(?:[\w’'\-]+\s+){{0,6}}?{VERB_RE.pattern}", tail)
            or VERB_RE.search(between)
        )

    def attribute(self, k: int) -> Said | None:
        """The attribution in the sentence around span k: after it, else before it."""
        span, text = self.spans[k], self.text
        para_start, para_end = self.paras[span.para]
        prev = self.spans[k - 1] if k and self.spans[k - 1].para == span.para else None
        nxt = (
            self.spans[k + 1]
            if k + 1 < len(self.spans) and self.spans[k + 1].para == span.para
            else None
        )
        if span.close < para_end:
            tail_end = nxt.open if nxt else para_end
            tail = text[span.close + 1 : tail_end]
            last = text[span.close - 1 : span.close].strip() or "x"
            new_sentence = last in ".…" and tail.lstrip(" ")[:1].isupper()
            for pattern in (AFTER_SUBJECT_FIRST, AFTER_VERB_FIRST):
                m = pattern.match(tail)
                if m and not new_sentence:
                    found = self.speaker(m, span.close + 1)
                    if found:
                        return Said(found[0], m.group("verb"), found[1], found[2])
        lo = prev.close + 1 if prev else para_start
        ends = list(SENTENCE_END.finditer(text, lo, span.open + 1))
        lo = ends[-1].end() if ends else lo
        prefix = text[lo : span.open]
        if re.search(rf"{TAKES_TITLE}\s*$", prefix):
            return None  # “New Day” in "Kirby told CNN on “New Day”" is a show
        m = ACCORDING_TO.search(prefix)
        if m:
            found = self.speaker(m, lo)
            if found:
                return Said(found[0], "according to", found[1], found[2])
        sentence = max(
            (
                e.end()
                for e in SENTENCE_END.finditer(text, para_start, span.open + 1)
                if not self._quoted(e.start())
            ),
            default=para_start,
        )
        for verb in reversed(list(VERB_RE.finditer(prefix))):
            best = None
            # "X has warned ... and (ambiguously) called for «...»": a verb joined to the
            # sentence's first one has its subject, as a participle does.
            joined_verb = re.search(r"\band\s+(?:\w+ly\s+)?$", prefix[: verb.start()])
            if verb.group() in PARTICIPLES or joined_verb:
                found = self._participle_subject(sentence, lo + verb.start())
                if found:
                    return Said(found[0], verb.group(), found[1], found[2])
                if not joined_verb:
                    continue
            for s in SUBJECT_RE.finditer(prefix, 0, verb.start()):
                joined = re.search(r"\b(?:and|or|&)\s+$", prefix[: s.start()])
                if GAP_RE.fullmatch(prefix, s.end(), verb.start()) and not joined:
                    best = s
            if best:
                found = self.speaker(best, lo)
                return None if found is None else Said(found[0], verb.group(), found[1], found[2])
        return None


def _inherit(reader: _Reader, said: list[Said | None], k: int) -> Said | None:
    """The speaker of a neighbouring quote, for a quote with no attribution of its own."""
    spans, text = reader.spans, reader.text
    span, prev = spans[k], spans[k - 1] if k else None
    para_start, para_end = reader.paras[span.para]
    if prev and prev.para == span.para:
        between = text[prev.close + 1 : span.open]
        # Same sentence ("X said “A” and “B”"), unless the quote is a title ("author of “...”"),
        # or a sentence of quote after an attributed one ("“A,” X said. “B.”").
        joined = len(between.split()) <= 12 and not re.search(rf"{TAKES_TITLE}\s*$", between)
        if not SENTENCE_END.search(between) and joined or not between.strip(" ")[-1:].isalpha():
            return said[k - 1]
    if prev and prev.para == span.para - 1 and span.open == para_start:
        prev_start, prev_end = reader.paras[prev.para]
        # A quote running on from the paragraph before (left open there, or a paragraph that
        # is all quote after a quoted paragraph), as quotes of several paragraphs do.
        whole = (
            span.close >= para_end - 1
            and text[span.open] in '“"«'
            and text[span.end - 1] in ".?!…"
            and not text[span.close + 1 : para_end].strip(" .")
        )
        if prev.close == prev_end or whole and said[k - 1]:
            return said[k - 1]
    nxt = spans[k + 1] if k + 1 < len(spans) else None
    if nxt and nxt.para == span.para and not text[span.close + 1 : nxt.open].strip():
        return said[k + 1]  # “A.” “B,” X said.
    return None


def attribute_spans(text: str) -> list[tuple[Span, Said]]:
    """Each quoted stretch of text whose speaker can be told, with its speaker, in text order."""
    reader = _Reader(text)
    spans = reader.spans
    said: list[Said | None] = [None] * len(spans)
    for k in range(len(spans)):
        said[k] = reader.attribute(k)
        found = said[k]
        if found and not is_org(found.speaker):
            # A resolved speaker is who a later "he said" most likely means.
            reader.people.append((found.at, spans[k].para, found.speaker, True, True))
            reader.people.sort()
    for k in range(len(spans)):
        if said[k] is None and not reader.names_someone_else(k):
            said[k] = _inherit(reader, said, k)
    return [(span, s) for span, s in zip(spans, said, strict=True) if s is not None]
