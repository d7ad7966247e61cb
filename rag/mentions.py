"""Mentions: the people and organisations an article names, and whom a reference means.

Owns the article's book of names (so "Putin" is "Vladimir Putin"), which named people speak or
are a sentence's subject, and resolving "he"/"the minister" (the last such person nearby),
"who" (the name it follows), "it"/"the department" (the organisation named before). Leaves
matching the attribution patterns around a quote to `rag.attribution` and name rules to
`rag.speakers`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.speakers import NAME_RE, NOT_NAMES, SENTENCE_WORDS, NameBook, is_org, strip_titles
from rag.speech import A_BEFORE, GAP_RE, NOT_SUBJECT, ORG_OBJECT, VERB_RE, WHO_FOLLOWS


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
            name = self.book.full(m.group())
            if name is None or is_org(name) or m.group().endswith(("’s", "'s")):
                continue
            para = self.para(m.start())
            before = text[max(self.paras[para][0], m.start() - 40) : m.start()]
            speaker = speaks.match(text, m.end()) is not None
            self.people.append((m.start(), para, name, speaker, not NOT_SUBJECT.search(before)))

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

    def resolve(self, pos: int) -> str | None:
        """The person "he" or "the minister" at pos means: in this paragraph and then up to
        three before it, the last person who speaks or is a sentence's subject."""
        para = self.para(pos)
        for p in range(para, max(para - 4, -1), -1):
            found = [m for m in self.people if m[1] == p and m[0] < pos and (m[3] or m[4])]
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
        else:
            found = [o for o in self.orgs if o[0] < pos and o[1] >= para - 1]
        return found[-1][2] if found else None

    def resolve_who(self, pos: int) -> str | None:
        """The person a "who" at pos follows, past an apposition: "Rep. Henry Cuellar, a
        moderate Democrat from Texas who told CNN"."""
        window = self.text[max(self.paras[self.para(pos)][0], pos - 160) : pos]
        m = WHO_FOLLOWS.search(window)
        return self.named(m.group("n")) if m else None

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
