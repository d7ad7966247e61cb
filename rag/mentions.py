"""Mentions: the people and organisations an article names, and whom a reference means.

Owns the article's book of names (so "Putin" is "Vladimir Putin"), which named people speak or
are a sentence's subject, which pronoun the text itself uses for each ("Ocasio-Cortez said that
she"), and resolving "he"/"the minister" (the last such person nearby who is not called by the
other pronoun),
"who" (the name it follows), "it"/"the department" (the organisation named before). Leaves
matching the attribution patterns around a quote to `rag.attribution` and name rules to
`rag.speakers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.speakers import NAME_RE, NOT_NAMES, SENTENCE_WORDS, NameBook, is_org, strip_titles
from rag.speech import (
    A_BEFORE,
    GAP_RE,
    NOT_SUBJECT,
    ORG_OBJECT,
    SENTENCE_END,
    TO_LISTENER,
    VERB_RE,
    WHO_FOLLOWS,
)

# "said X", "according to X" (but "told X" names the listener)
SPEAKER_BEFORE = re.compile(
    rf"(?!{TO_LISTENER})(?:{VERB_RE.pattern}|[Aa]ccording to)\s+"
    r"(?:[\w.’'\-]+\s+){0,4}$"
)
PRONOUN = re.compile(r"\b(?:[Hh]e|him|his|[Ss]he|her|hers)\b")
# A transcript turn: "[29:15] Biden: ...", "BIDEN: ..." or "Biden: ..." when Biden is a person
# the article names (not "Q:" or "Photos:").
TURN = re.compile(r"\s*(?:\[[\d:]+\]\s*)?(?P<who>[A-Z][\w.’'\-]*(?: [A-Z][\w.’'\-]*){0,2}):\s")


class Mentions:
    """Who one article names, and where."""

    def __init__(
        self, text: str, paras: list[tuple[int, int]], quoted: Callable[[int], bool]
    ) -> None:
        self.text = text
        self.paras = paras  # (start, end) of each paragraph (a line)
        # Capitalised words after "a" describe ("in his role as a Qatar World Cup ambassador"),
        # and are no one's name.
        outside = [
            m
            for m in NAME_RE.finditer(text)
            if not quoted(m.start()) and not A_BEFORE.search(text, max(0, m.start() - 4), m.start())
        ]
        self.book = NameBook(m.group() for m in outside)
        speaks = re.compile(GAP_RE.pattern + VERB_RE.pattern)
        # (position, paragraph, full name, is a speaker, is a sentence subject) of each person
        self.people: list[tuple[int, int, str, bool, bool]] = []
        self._genders: dict[str, set[str]] = {}
        # (position, paragraph, name) of each organisation not named as an object
        self.orgs: list[tuple[int, int, str]] = []
        for m in outside:
            org = strip_titles(m.group())
            if (
                org
                and is_org(org)
                and not ORG_OBJECT.search(text[max(0, m.start() - 20) : m.start()])
            ):
                self.orgs.append((m.start(), self.para(m.start()), org))
            name = self.book.full(m.group()) or self.surname(m.group())
            if name is None or is_org(name) or m.group().endswith(("’s", "'s")):
                continue
            para = self.para(m.start())
            before = text[max(self.paras[para][0], m.start() - 40) : m.start()]
            speaker = speaks.match(text, m.end()) is not None
            # A name that ends its sentence is no sentence's subject ("..., said Ganeshan
            # Wignaraja, an associate at the think tank, ODI Global."), unless a speech verb
            # names it there ("according to chief financial officer Tammy Romo.").
            ends = re.match(r"\s*(?:[.!?]|$)", text[m.end() : m.end() + 3])
            named_speaking = SPEAKER_BEFORE.search(before)
            subject = bool(named_speaking) or not NOT_SUBJECT.search(before) and not ends
            self.people.append((m.start(), para, name, speaker, subject))
            self._note_gender(name, m, quoted)
        # "she said" cannot mean a man the article calls "he", and "he said" not a woman.
        self.gender = {n: g.pop() for n, g in self._genders.items() if len(g) == 1}

    def _note_gender(self, name: str, m: re.Match[str], quoted: Callable[[int], bool]) -> None:
        """The pronoun the text uses for this mention: a title ("Mrs.") or the first "he"/
        "she" after the name in its sentence, before anyone else is named ("Ocasio-Cortez
        said that she")."""
        genders = self._genders.setdefault(name, set())
        title = re.match(r"(?:(Mr)|(Mrs|Ms|Miss))\.?\s", m.group())
        if title:
            genders.add("he" if title.group(1) else "she")
            return
        end = SENTENCE_END.search(self.text, m.end(), m.end() + 200)
        window = self.text[m.end() : end.start() if end else m.end() + 200]
        pron = PRONOUN.search(window)
        if not pron or quoted(m.end() + pron.start()) or NAME_RE.search(window, 0, pron.start()):
            return
        genders.add("he" if pron.group().lower() in ("he", "him", "his") else "she")

    def surname(self, raw: str) -> str | None:
        """A lone surname the article gives to more than one person ("Biden" beside Jill and
        Joe Biden): still someone whom a later "she" may mean."""
        name = strip_titles(raw)
        if " " in name or not self.book.ambiguous(name):
            return None
        return name

    def para(self, pos: int) -> int:
        """The index of the paragraph holding pos."""
        return next(i for i, (a, b) in enumerate(self.paras) if a <= pos <= b)

    def add_person(self, pos: int, para: int, name: str) -> None:
        """A speaker found for a quote: who a later "he said" most likely means."""
        self.people.append((pos, para, name, True, True))
        self.people.sort()

    def add_org(self, pos: int, para: int, name: str) -> None:
        """An organisation found speaking: what a later "it said" means."""
        self.orgs.append((pos, para, name))
        self.orgs.sort()

    def resolve(self, pos: int, pronoun: str = "") -> str | None:
        """The person "he" or "the minister" at pos means: in this paragraph and then up to
        three before it, the last person who speaks or is a sentence's subject, and whom the
        text never calls by the other pronoun."""
        para, want = self.para(pos), pronoun.lower()
        turn = TURN.match(self.text, self.paras[para][0])
        if turn and self.book.full(turn.group("who").title()) is not None:
            # "[29:15] Biden: ... he said, ‘I only pay that little’": in a transcript the
            # turn's speaker says "I", and "he" is someone this turn does not name.
            return None
        for p in range(para, max(para - 4, -1), -1):
            found = [
                m
                for m in self.people
                if m[1] == p
                and m[0] < pos
                and (m[3] or m[4])
                and (not want or self.gender.get(m[2], want) == want)
            ]
            if found:
                return found[-1][2]
        return None

    def resolve_org(self, pos: int, role: str | None) -> str | None:
        """The organisation "the department" (the last one named whose last word that is) or
        "it" (the last one named in this paragraph or the one before) at pos means."""
        para = self.para(pos)
        if role:
            noun = role.split()[-1].lower()
            found = [o for o in self.orgs if o[0] < pos and o[2].split()[-1].lower() == noun]
            # else "the department" is the Department of Homeland Security
            found = found or [
                o for o in self.orgs if o[0] < pos and f"{noun} of " in o[2].lower() + " "
            ]
        else:
            found = [o for o in self.orgs if o[0] < pos and o[1] >= para - 1]
        return found[-1][2] if found else None

    def resolve_who(self, pos: int) -> str | None:
        """The person a "who" at pos follows, past an apposition: "Rep. Henry Cuellar, a
        moderate Democrat from Texas who told CNN"."""
        window = self.text[max(self.paras[self.para(pos)][0], pos - 160) : pos]
        m = WHO_FOLLOWS.search(window)
        if m is None or re.search(rf"\b{TO_LISTENER}\s+$", window[: m.start()]):
            return None  # "one lawmaker told CNN, who lamented": not the listener
        return self.named(m.group("n"))

    def named(self, raw: str) -> str | None:
        """The speaker a name in the text means: a full name, an organisation, a country, or a
        surname no full name was given for; None for a title alone or a sentence word."""
        name = strip_titles(raw)
        words = name.split()
        if not name or raw.endswith(("’s", "'s")) or words[0] in SENTENCE_WORDS:
            return None
        if is_org(name):
            return name
        full = self.book.full(name)
        if full is None and len(words) == 1 or full is None and words[-1] in NOT_NAMES:
            # A country or a surname no full name was given for is still named by the text.
            full = name if words[0] not in NOT_NAMES or len(words) == 1 else None
        return full
