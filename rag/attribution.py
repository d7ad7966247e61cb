"""Attribution: who said each quoted stretch of an article.

Owns deciding which attribution a quote has ("X said: “...”", "“...,” X said", "“...,” said X",
"“...,” he said", "X delivered a promise: “...”"), which quotes name a work rather than anyone's
words, and quotes inheriting a neighbour's speaker (in the same sentence, or a paragraph of
quote after one of reported speech).
Leaves the wording (speech verbs, subject patterns) to `rag.speech`, whom "he"/"who"/"it"
means to `rag.mentions`, finding the quote marks to `rag.quotemarks`, name handling to
`rag.speakers`, the `Quote` records to `rag.quotes`, and the quotes these rules leave open to
`rag.grammar` (a dependency parse), asked last.
Regular expressions and small heuristics: a quote whose speaker cannot be told is left out, as a
wrong speaker is worse than a missing quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag import grammar
from rag.mentions import Mentions
from rag.quotemarks import Span, quote_spans
from rag.speakers import TITLES, is_org
from rag.speech import (
    A_BEFORE,
    ACCORDING_TO,
    AFTER_SUBJECT_FIRST,
    AFTER_VERB_FIRST,
    AFTER_VERB_FIRST_ANYWHERE,
    CLAUSE_END,
    CLAUSE_VERB,
    GAP_RE,
    NOT_SUBJECT,
    NOUN_AFTER,
    PARTICIPLES,
    SENTENCE_END,
    SUBJECT_RE,
    SUBJECT_THEN_VERB,
    TAKES_TITLE,
    VERB_RE,
    is_title,
)


@dataclass(frozen=True)
class Said:
    """A speaker found for one span, before it becomes a Quote."""

    speaker: str
    verb: str
    at: int
    to: int


class _Reader:
    """One article's paragraphs, spans and named people, read once for all its quotes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.paras = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
        self.spans = quote_spans(text)
        self.names = Mentions(text, self.paras, self._quoted)
        self.titles = [self._names_a_work(k) for k in range(len(self.spans))]

    def _quoted(self, pos: int) -> bool:
        return any(s.open <= pos <= s.close for s in self.spans)

    def speaker(self, m: re.Match[str], offset: int) -> tuple[str, int, int] | None:
        """The speaker a SUBJECT match names, with where the words are."""
        for group in ("pron", "role", "who", "it", "orgrole"):
            if m.group(group):
                at, to = offset + m.start(group), offset + m.end(group)
                if group == "who":
                    name = self.names.resolve_who(at)
                elif group in ("it", "orgrole"):
                    name = self.names.resolve_org(at, m.group("orgrole"))
                elif group == "role" and NOUN_AFTER.match(self.text, to):
                    return None  # "said the Republican operative": a description of no one named
                else:
                    name = self.names.resolve(at, m.group("pron") or "")
                return None if name is None else (name, at, to)
        raw = m.group("name")
        at, to = m.start("name"), m.end("name")
        head = re.split(r" (?:to|for) ", raw)[0]
        if head != raw and head.split()[-1] not in TITLES:
            raw, to = head, at + len(head)  # "Smith to the Senate" is Smith
        full = self.names.named(raw)
        return None if full is None else (full, offset + at, offset + to)

    def clause_subject(self, lo: int, hi: int) -> tuple[str, int, int] | None:
        """The subject of the main clause in text[lo:hi]: the first name (or pronoun) outside
        quotes and not after a preposition that a verb-like word follows."""
        for s in SUBJECT_RE.finditer(self.text, lo, hi):
            if s.group("who") or s.group("it") or self._quoted(s.start()):
                continue
            before = self.text[max(lo, s.start() - 40) : s.start()]
            if not NOT_SUBJECT.search(before) and CLAUSE_VERB.match(self.text, s.end()):
                return self.speaker(s, 0)
        return None

    def _participle_subject(self, sentence: int, at: int) -> tuple[str, int, int] | None:
        """Who "..., adding that" or "..., saying" belongs to: the speaker of an attribution
        earlier in the sentence ("said Modi, adding"), else the subject it starts with
        ("Kishida paid his ..., saying")."""
        earlier = [
            m
            for pattern in (AFTER_VERB_FIRST_ANYWHERE, SUBJECT_THEN_VERB)
            for m in pattern.finditer(self.text, sentence, at)
            if not self._quoted(m.start())
            and m.group("verb") not in PARTICIPLES
            # "Upton said he has no plans": a pronoun after the verb starts what was said.
            and not (
                m.re is AFTER_VERB_FIRST_ANYWHERE
                and (
                    m.group("pron")
                    or m.group("it")
                    or m.group("who")
                    # "Graham suggested Jackson does not": a name after a verb is who was
                    # spoken of, unless the verb follows a quote or a comma ("”, said Modi").
                    or not re.search(r"[,”\"’]\s*$", self.text[sentence : m.start()])
                )
            )
        ]
        for m in sorted(earlier, key=lambda m: m.start(), reverse=True):
            found = self.speaker(m, 0)
            if found:
                return found
        lead = re.compile(r"\s*(?:(?:But|And|Yet|Still|Then)\s+)?").match(self.text, sentence)
        s = SUBJECT_RE.match(self.text, lead.end() if lead else sentence)
        return self.speaker(s, 0) if s else None

    def after_subject(self, k: int) -> Said | None:
        """For a quote that is a sentence of its own inside a paragraph, the subject of the
        sentence before it: "Joyce also said some members reached out to him, but he
        dismissed it. “At the end of the day, Kevin's going to be the new speaker.”"."""
        span, text = self.spans[k], self.text
        para_start, para_end = self.paras[span.para]
        ends = [e for e in SENTENCE_END.finditer(text, para_start, span.open + 1)]
        if not ends or ends[-1].end() != span.open or text[span.end - 1] not in ".?!…":
            return None  # the quote does not start a sentence after another, or end one
        if text[span.close + 1 : para_end].strip() and not SENTENCE_END.match(text, span.end - 1):
            return None
        lo = ends[-2].end() if len(ends) > 1 else para_start
        if any(s.open < ends[-1].start() and s.close > lo for s in self.spans):
            return None  # the sentence before has quotes: their attribution decides
        found = self.clause_subject(lo, ends[-1].start())
        return None if found is None else Said(found[0], "", found[1], found[2])

    def _names_a_work(self, k: int) -> bool:
        """Whether span k names a work or a show ("CNN's “Amanpour”", “The Brutalist”)."""
        span, text = self.spans[k], self.text
        before = text[self.paras[span.para][0] : span.open]
        # "Xi called the “one country, two systems” a “good system”": the first is what he
        # spoke of, the second his words.
        named = re.search(r"\bcall(?:ed|s|ing)?\s+(?:the\s+)?$", before) and re.match(
            r"\s+an?\s+[“\"‘']", text[span.close + 1 : span.close + 8]
        )
        return (
            is_title(text[span.start : span.end])
            or bool(re.search(rf"{TAKES_TITLE}\s*$", before) and span.capitalised(text))
            or bool(named)
        )

    def reported_before(self, k: int) -> Said | None:
        """For a paragraph that is all quote, the speaker of the paragraph before when that
        one ends with reported speech and no quote: "Biden said she told her own family
        members they should do more.\n\n“So many young girls ...”"."""
        span, text = self.spans[k], self.text
        para_start, para_end = self.paras[span.para]
        if span.para == 0 or span.open != para_start or text[span.close + 1 : para_end].strip():
            return None
        lo, hi = self.paras[span.para - 1]
        if any(s.para == span.para - 1 for s in self.spans):
            return None  # the quotes there have attributions of their own to inherit
        ends = [e.end() for e in SENTENCE_END.finditer(text, lo, hi)]
        lo = ends[-1] if ends else lo
        for m in SUBJECT_THEN_VERB.finditer(text, lo, hi):
            before = text[max(lo, m.start() - 40) : m.start()]
            if m.group("who") or m.group("it") or NOT_SUBJECT.search(before):
                continue
            if m.group("verb") in PARTICIPLES:
                return None
            found = self.speaker(m, 0)
            return None if found is None else Said(found[0], m.group("verb"), found[1], found[2])
        return None

    def names_someone_else(self, k: int, prev_said: Said | None) -> bool:
        """Whether span k has an attribution of its own that named no one ("a message posted on
        Weibo said"), so it must not take a neighbour's speaker. The attribution of the quote
        before ("“A” wrote Brad Slager at Red State, making up for a lack of “B”") is not one."""
        span, text = self.spans[k], self.text
        para_end = self.paras[span.para][1]
        tail = text[span.close + 1 : min(para_end, span.close + 80)]
        prev = self.spans[k - 1] if k and self.spans[k - 1].para == span.para else None
        lo = prev.close + 1 if prev else span.open
        if prev and prev_said and lo <= prev_said.at < span.open:
            lo = max(lo, prev_said.to)
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
        j = k - 1
        while j >= 0 and self.spans[j].para == span.para and self.titles[j]:
            j -= 1  # "Muratov told CNN's “Amanpour” show that his team were “forced”"
        prev = self.spans[j] if j >= 0 and self.spans[j].para == span.para else None
        nxt = (
            self.spans[k + 1]
            if k + 1 < len(self.spans) and self.spans[k + 1].para == span.para
            else None
        )
        lo = prev.close + 1 if prev else para_start
        ends = list(SENTENCE_END.finditer(text, lo, span.open + 1))
        lo = ends[-1].end() if ends else lo
        prefix = text[lo : span.open]
        after = self._after(k, nxt, para_end, prefix) if span.close < para_end else None
        if after and after.verb != "according to":
            return after
        # "Trump also said, “...,” according to Hutchinson": the words are Trump's, as
        # Hutchinson tells it.
        return self._before(span, lo, prefix) or after

    def _before(self, span: Span, lo: int, prefix: str) -> Said | None:
        """The attribution before the quote in its sentence (prefix = text[lo:span.open])."""
        text = self.text
        para_start = self.paras[span.para][0]
        if re.search(rf"{TAKES_TITLE}\s*$", prefix) and span.capitalised(text):
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
                # "Biden and Harris said" is both; "... discipline” and the Daily Mail said" a
                # new clause.
                joined = re.search(r"[A-Z][\w.’'\-]*\s+(?:and|or|&)\s+$", prefix[: s.start()])
                # "an ally of the PM said": the one named after "of" is not who speaks.
                owned = re.search(r"\b(?:of|for|to|with|by|from)\s+$", prefix[: s.start()])
                # "A Labour MP has demanded": a description, not a name.
                owned = (
                    owned or A_BEFORE.search(prefix[: s.start()]) or re.match(r"An?\s", s.group())
                )
                if GAP_RE.fullmatch(prefix, s.end(), verb.start()) and not joined and not owned:
                    best = s
            if best:
                found = self.speaker(best, lo)
                return None if found is None else Said(found[0], verb.group(), found[1], found[2])
        if prefix.rstrip().endswith(":") and not VERB_RE.search(prefix):
            # "House GOP leader Kevin McCarthy delivered a promise: “I'll never leave”": the
            # sentence's subject introduces the quote.
            found = self.clause_subject(lo, span.open)
            if found:
                return Said(found[0], ":", found[1], found[2])
        return None

    def _after(self, k: int, nxt: Span | None, para_end: int, prefix: str) -> Said | None:
        """The attribution after span k: right after it ("“...,” X said", "“...,” said X"), or
        ending its sentence after a comma ("will have “real consequences” for the American
        people, said Trudeau")."""
        span, text = self.spans[k], self.text
        tail_end = nxt.open if nxt else para_end
        tail = text[span.close + 1 : tail_end]
        after = self.spans[k + 2].open if k + 2 < len(self.spans) else para_end
        if nxt and len(text[nxt.start : nxt.end].split()) <= 4 and nxt.close < para_end:
            # A short quote inside the attribution's apposition ("Rep. Bob Good, a Virginia
            # Republican who is a “hard no” on McCarthy, told CNN") is read through, its
            # marks neutralised so that the offsets stay the same.
            tail = (
                text[span.close + 1 : nxt.open]
                + "'"
                + text[nxt.open + 1 : nxt.close]
                + "'"
                + text[nxt.close + 1 : min(after, para_end)]
            )
        last = text[span.close - 1 : span.close].strip() or "x"
        if last in ".…" and tail.lstrip(" ")[:1].isupper():
            return None  # a new sentence starts after the quote
        # Unless the quote ends a clause, it is no one's words: “several” Republicans told them.
        ends_clause = last in CLAUSE_END or tail[:1] in CLAUSE_END
        for pattern in (AFTER_SUBJECT_FIRST, AFTER_VERB_FIRST):
            m = pattern.match(tail)
            # "“PR machine for toxic masculinity” wrote Brad Slager": a verb right after the
            # quote attributes it even without a comma.
            if m and (ends_clause or pattern is AFTER_VERB_FIRST):
                found = self.speaker(m, span.close + 1)
                if found:
                    return Said(found[0], m.group("verb"), found[1], found[2])
        if VERB_RE.search(prefix) or last in ".?!…":
            return None  # the sentence has an attribution before the quote, or ended with it
        end = SENTENCE_END.search(tail)
        sentence = tail[: end.start() + 1 if end else len(tail)]
        for comma in reversed(list(re.finditer(r",\s+", sentence))):
            clause = sentence[comma.start() :]
            for pattern in (AFTER_SUBJECT_FIRST, AFTER_VERB_FIRST):
                m = pattern.match(clause)
                # ", saying she has": a participle and a pronoun start what was said.
                # ", he added." ends the sentence with its speaker.
                reported = m and (
                    m.group("verb") in PARTICIPLES
                    or m.group("pron")
                    and pattern is AFTER_VERB_FIRST
                )
                if m and not reported and "," not in clause[m.end() :]:
                    found = self.speaker(m, span.close + 1 + comma.start())
                    if found:
                        return Said(found[0], m.group("verb"), found[1], found[2])
            break  # only the clause that ends the sentence
        return None


def _inherit(reader: _Reader, said: list[Said | None], k: int) -> Said | None:
    """The speaker of a neighbouring quote, for a quote with no attribution of its own."""
    spans, text = reader.spans, reader.text
    j = k - 1
    while j > 0 and said[j] is None and spans[j - 1].para == spans[k].para and spans[j].short(text):
        j -= 1  # past an unattributed short quote ("a “hard no” on McCarthy") to a speaker
    span, prev = spans[k], spans[j] if k else None
    para_start, para_end = reader.paras[span.para]
    if prev and prev.para == span.para:
        between = text[prev.close + 1 : span.open]
        # Same sentence ("X said “A” and “B”"), unless the quote is a title ("author of “...”"),
        # or a sentence of quote after an attributed one ("“A,” X said. “B.”").
        joined = not (re.search(rf"{TAKES_TITLE}\s*$", between) and span.capitalised(text))
        if said[j] and (
            not SENTENCE_END.search(between) and joined or not between.strip(" ")[-1:].isalpha()
        ):
            return said[j]
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
    later = said[k + 1] if nxt and nxt.para == span.para else None
    if nxt and later and not SENTENCE_END.search(text, span.close, nxt.open):
        # "Kishida paid his “deepest condolences” to Abe, saying he “was a friend”", "the lens
        # of “A” is “B”, she said": the sentence's one attribution covers all its quotes.
        return later
    return reader.after_subject(k) or reader.reported_before(k)


def attribute_spans(text: str) -> list[tuple[Span, Said]]:
    """Each quoted stretch of text whose speaker can be told, with its speaker, in text order."""
    reader = _Reader(text)
    spans = reader.spans
    said: list[Said | None] = [None] * len(spans)
    titles = reader.titles
    for k in range(len(spans)):
        if titles[k]:
            continue  # “The Brutalist”, “State of the Union”: a name, not anyone's words
        said[k] = reader.attribute(k)
        found = said[k]
        if found and not is_org(found.speaker):
            # A resolved speaker is who a later "he said" most likely means.
            reader.names.add_person(found.at, spans[k].para, found.speaker)
        elif found:
            # and an organisation that spoke, who a later "it said" means.
            reader.names.add_org(found.at, spans[k].para, found.speaker)
    # Backwards too: in "“A” and so “B” does not include “C”, said X", C's speaker reaches A
    # through B.
    for order in (range(len(spans)), reversed(range(len(spans)))):
        for k in order:
            if (
                said[k] is None
                and not titles[k]
                and not reader.names_someone_else(k, said[k - 1] if k else None)
            ):
                said[k] = _inherit(reader, said, k)
    left = [span for k, span in enumerate(spans) if said[k] is None and not titles[k]]
    parsed = grammar.speakers(text, reader.paras, left, reader.names) if left else {}
    for k, span in enumerate(spans):
        if span in parsed:
            name, at, to = parsed[span]
            said[k] = Said(name, "", at, to)
    return [(span, s) for span, s in zip(spans, said, strict=True) if s is not None]
