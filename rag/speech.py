"""The wording of attribution: speech verbs, the subjects that say them, and sentence ends.

Owns the vocabularies ("said", "told", "according to"; "the minister", "the department", "he",
"who") and the regular expressions `rag.attribution` matches around a quote ("“...,” X said",
"said X", "X, an adviser, told"). Leaves deciding which attribution a quote has to it.
"""

from __future__ import annotations

import re

from rag.speakers import NAME, words

VERBS = words(
    """said says say told tells tell stated states added adds adding warned warns warning urged
    urges asked asks noted notes wrote writes explained explains insisted insists argued argues
    claimed claims declared declares emphasized emphasised stressed remarked replied responded
    recalled continued acknowledged admitted announced tweeted posted testified suggested
    clarified complained cautioned conceded concluded joked quipped predicted promised vowed
    pledged shouted yelled wondered observed commented countered reiterated boasted lamented
    contended maintained indicated called described recounted repeated cautions texted messaged
    assured affirmed alleged charged confirmed reported saying noting telling calling writing
    arguing proclaimed proclaims demanded demands asserted asserts answered pleaded"""
)
VERB_RE = re.compile(r"\b(?:" + "|".join(sorted(set(VERBS), key=len, reverse=True)) + r")\b")
# "the minister said" means someone named before; "a spokesperson said" or "officials said"
# names no one, and is left out.
ROLES = (
    "president|minister|prime minister|secretary|senator|governor|mayor|spokesman|spokeswoman|"
    "spokesperson|chancellor|leader|congressman|congresswoman|lawmaker|judge|justice|speaker|"
    "ambassador|chairman|chairwoman|chief executive|ceo|general|king|queen|pope|premier|"
    "candidate|nominee|star|actor|actress|singer|coach|founder|author|attorney|lawyer|"
    "democrat|republican"
)
# Words that describe the person named next: "Foreign Ministry spokesman Zhao Lijian said".
DESCRIBED = (
    "spokesman|spokeswoman|spokesperson|secretary|adviser|advisor|coordinator|director|chief|"
    "minister|leader|chairman|chairwoman|aide|analyst|professor|economist|contributor|lawyer|"
    "attorney|president|senator|governor|mayor|ambassador|official|expert|fellow|founder|"
    "coach|manager|specialist|scientist|researcher|meteorologist|ecologist|activist|agent|"
    "editor|correspondent|reporter|agency|newspaper|broadcaster|commissioner|grad|graduate|"
    "student|resident|member|owner|executive|officer|doctor|teacher|chef"
)
# "the department said" means the last organisation named with that word ("the Justice
# Department"), and "it said" the last organisation named just before.
ORG_ROLES = (
    "ministry|department|commission|committee|agency|council|court|government|administration|"
    "embassy|office|campaign|police|company|organization|organisation|institute|foundation|"
    "party|alliance|board|bureau|union|league|conference|team|firm|network|university|hospital|"
    "association|service|group|club"
)
SUBJECT = (
    r"(?P<pron>\b(?:[Hh]e|[Ss]he)\b)"
    r"|(?P<who>\bwho\b)"
    r"|(?P<it>\b[Ii]t\b)"
    rf"|(?P<orgrole>\b[Tt]he\s+(?:{ORG_ROLES})\b)"
    rf"|(?P<role>\b(?:[Tt]he|[Tt]his)\s+(?:[\w.’'\-]+\s+){{0,2}}?(?i:{ROLES})\b)"
    rf"|(?:(?:[Tt]he\s+)?(?:{NAME}\s+)?(?:[a-z\-]+(?:['’]s)?\s+){{0,3}}(?:{DESCRIBED})s?\s+(?={NAME}))?"
    rf"(?P<name>(?<![\w’'\-])(?:[Tt]he\s+)?{NAME}(?: (?:to|for) (?:the )?{NAME})?)"
)
# "..., saying ...": the participle's subject is the sentence's.
PARTICIPLES = {"saying", "adding", "noting", "warning", "telling", "calling", "writing", "arguing"}
SUBJECT_RE = re.compile(SUBJECT)
# Between a subject and its verb: an abbreviation ("The Financial Times (FT) said"), an
# apposition of up to two parts ("Yuri Ushakov, a foreign policy adviser to Putin, told";
# "Oleksandra Matviichuck, the head of the Center for Civil Liberties, which won the prize last
# year, wrote"), an adverb or an auxiliary.
GAP_RE = re.compile(
    r"\s*(?:\([^()]{1,20}\)\s*)?(?:(?:,[^,;“”«»\"]{1,140}){1,2},\s*)?"
    # "Mark Brnovich – who took the lead for the states – said"
    r"(?:[–—][^–—;“”«»\"]{1,140}[–—]\s*)?"
    # "Christoph Heubner of the International Auschwitz Committee told"
    rf"(?:(?:of|at|from)\s+(?:the\s+)?{NAME}\s+)?"
    r"(?:(?:also|later|then|previously|again|once|just|has|had|"
    r"have|would|will|did|\w+ly)\s+)*"
)
LEAD = r"^[\s,—–\-]*(?:as\s+)?"  # "“...”, as Alia E. Dastagir described them"
AFTER_SUBJECT_FIRST = re.compile(
    rf"{LEAD}(?:{SUBJECT})(?={GAP_RE.pattern}(?P<verb>{VERB_RE.pattern}))"
)
# "told X", "asked X" in a sentence: the one named after these is the listener.
TO_LISTENER = r"(?:told|tell|tells|telling|asked|asks)\b"
# "“...,” said X", but not "told X" (where "“Why?” asked X" is X's question).
AFTER_VERB_FIRST = re.compile(
    rf"{LEAD}(?!(?:told|tell|tells|telling)\b)(?P<verb>{VERB_RE.pattern}|according to)\s+"
    rf"(?:{SUBJECT})"
)
AFTER_VERB_FIRST_ANYWHERE = re.compile(rf"(?P<verb>{VERB_RE.pattern})\s+(?:{SUBJECT})")
SUBJECT_THEN_VERB = re.compile(rf"(?:{SUBJECT})(?={GAP_RE.pattern}(?P<verb>{VERB_RE.pattern}))")
ACCORDING_TO = re.compile(rf"\b[Aa]ccording to\s+(?:{SUBJECT})\s*,\s*$")
# A sentence ends at . ! or ? (maybe inside a closing mark) before a capital or a quote mark,
# but not after an initial ("U.S. President", "George W. Bush") or a short title ("Dr. Smith");
# an acronym does end one ("told CNN. “I think ...”").
SENTENCE_END = re.compile(
    r"(?<!\b[A-Z])(?<!\b(?:Mr|Ms|Dr|St|Jr|Sr|vs))(?<!\bMrs)[.!?][”\"’»']?\s+(?=[A-Z“\"«‘])"
)
# A person named right after a preposition or an object-taking verb is not the sentence subject
# ("spoke by phone with Chinese leader Xi Jinping").
NOT_SUBJECT = re.compile(
    r"\b(?:with|to|by|from|of|for|at|about|against|on|in|after|before|and|than|between|"
    r"toward|towards|including|like|as|via|under|over|into|met|called|thanked|visited|named|"
    r"replaced|succeeded|joined|criticized|praised|told|tells|asked|interviewed|'s|’s)"
    r"\s+(?:[\w.’'\-]+\s+){0,2}$"
)
# A quote right after these is a title or a name, not anyone's words.
TAKES_TITLE = r"(?:\b(?:of|on|titled|entitled)|\w(?:'s|’s))"  # CNN's “State of the Union”
# Lower-case words inside a title ("State of the Union").
SMALL_WORDS = frozenset(
    ["of", "the", "a", "an", "and", "or", "in", "on", "at", "to", "for", "with", "from", "by"]
)
# A capitalised run right after "a"/"an" is a description, not a name.
A_BEFORE = re.compile(r"\b(?:[Aa]n?)\s+$")
# "Rep. Matt Gaetz, a Republican from Florida who said": the person a "who" follows.
WHO_FOLLOWS = re.compile(rf"(?P<n>{NAME})(?:,\s*(?:an?|the)\s+[^,;“”«»\"]{{1,80}}?)?,?\s*$")
# An organisation named right after these is not the one "it" refers to.
ORG_OBJECT = re.compile(
    r"\b(?:with|to|by|from|of|for|at|about|against|on|in|than|between|toward|towards|"
    r"including|like|via|under|over|into)\s+(?:the\s+)?$"
)
# A word that looks like a verb right after a sentence's subject ("Joyce also said", "Kevin
# McCarthy delivered a promise:").
CLAUSE_VERB = re.compile(
    r"\s+(?:(?:also|then|later|again|\w+ly)\s+)?(?:[a-z]+ed|[a-z]+s|said|told|made|gave|took|"
    r"met|sent|spoke|wrote|had|was|is)\b"
)
# Punctuation that ends a quoted clause: the attribution after a quote follows one of these
# ("“No,” Bowman said"), where "“several” Republicans have told" is a modifier.
CLAUSE_END = ",.?!…—–:;-"
# Words after a role that keep it a subject ("the senator who", "the minister also said").
SMALL_WORDS_AFTER = words(
    """who which that also then has had have was is were are would will could can may might
    later earlier again and but or on in at of to for with from after before last this now
    himself herself"""
)
# A lower-case word after a role that is neither a verb of saying nor an adverb nor "who": the
# role word only describes the noun that follows ("the Republican operative").
NOUN_AFTER = re.compile(
    rf"\s+(?!{VERB_RE.pattern}|\w+ly\b|(?:{'|'.join(sorted(SMALL_WORDS_AFTER))})\b)[a-z]+\b(?![’'])"
)


def is_title(phrase: str) -> bool:
    """Title Case words of a film, a show or a document ("The Brutalist", "State of the
    Union", "Terminator 2"), not a sentence; a single word ("No") may be a reply."""
    parts = phrase.rstrip(".,").split()
    return (
        len(parts) >= 2
        and all(p[:1].isupper() or p[:1].isdigit() or p in SMALL_WORDS for p in parts)
        and not re.search(r"[.!?;:]\s", phrase)
    )
