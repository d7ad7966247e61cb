"""Names of speakers: finding capitalised names in text, stripping titles, telling people from
organisations, and matching a short name ("Putin") to a full one ("Vladimir Putin").

Owns only name handling for `rag.quotes`. Leaves quote marks, speech verbs and pronouns to it.
Heuristic and English-only: a name is a run of capitalised words, so "Despite" at the start of
a sentence or "Middle East" would pass if the word lists below did not stop them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# One capitalised word: initials and "U.S.", a few abbreviated titles, or a plain word
# ("O'Brien", "al-Assad" via its capital part). A trailing full stop is only kept for initials
# and abbreviations, so "said Smith. The" does not become one name.
_ABBR = r"(?:Mr|Mrs|Ms|Dr|Sen|Rep|Gov|Gen|Lt|Col|Capt|Sgt|Adm|Prof|Rev|St|Jr|Sr|Maj|Cmdr|Sec|Pres|Atty|Supt|Det|Insp|Cpl|Pvt|Amb)\."
_TOKEN = rf"(?:(?:[A-Z]\.){{1,3}}(?![a-z])|{_ABBR}|(?:al-|el-|bin-)?[A-Z][\w’'\-]*\w|[A-Z])"
_CONNECT = r"(?:of|de|da|van|von|bin|der|den|la|le|du|del|al|dos|ibn)"
NAME = rf"{_TOKEN}(?:(?: {_CONNECT})* {_TOKEN})*"  # "Ursula von der Leyen"
NAME_RE = re.compile(rf"(?<![\w’'\-]){NAME}")

TITLES = words(
    """President Vice Prime Minister Secretary Sen. Senator Rep. Representative Gov. Governor
    Mayor Speaker Leader Chancellor Chairman Chairwoman Chair Director Spokesman Spokeswoman
    Spokesperson Ambassador Judge Justice General Gen. Adm. Admiral Lt. Col. Capt. Sgt. Maj.
    Officer Chief Commissioner Attorney Dr. Mr. Mrs. Ms. Miss Prof. Professor Pope King Queen
    Prince Princess Sheriff CEO Editor Coach Pastor Rev. Rabbi Deputy Foreign Defense Defence
    Treasury Counsel Detective Superintendent Councilman Councilwoman Congressman
    Congresswoman Majority Minority Whip Premier Ayatollah Supreme Former Sec. Pres. Atty.
    Supt. Det. Insp. Amb. Lady First Commander Emperor Sir Dame Lord Baroness Justice Agent
    State Senate House Health Interior Homeland Security Finance Trade Commerce Labor Energy
    Education Transportation Agriculture Republican Democratic Democrat GOP Gen Press White
    Adviser Advisor"""
)
# A name ending in one of these is an organisation ("the State Department", "Russia's Foreign
# Ministry"), which may speak but is never a person a pronoun refers to.
ORG_WORDS = words(
    """Ministry Department House Office Council Party Committee University Agency Commission
    Court Police Army Navy Company Inc Inc. Corp Corp. News Times Post Association Union Bank Fund
    Service Administration Kremlin Pentagon Congress Senate Parliament Government Embassy
    Institute Center Centre Foundation Organization Organisation Group Board Bureau
    Authority Command Force Forces Guard Network Campaign Coalition Alliance NATO UN EU FBI CIA
    CDC WHO Commons Downing Cabinet Legislature Assembly Federation League Church Hospital
    School College Journal Tribune Reuters AP AFP CNN BBC Xinhua TASS Ministry Secretariat
    Directorate Prosecutor Prosecutors Department's Clinic Airlines Motors Group"""
)
# Capitalised words that start sentences or name days and months: never a speaker.
SENTENCE_WORDS = words(
    """The A An In On At But And Or When While Despite Furthermore However Last Since Her His
    Their Our We It This That These Those There Here He She They I You If As After Before
    Although Though During For From With Without By To Of Yet So Then Now Still Also Meanwhile
    Earlier Later Today Yesterday Tomorrow Monday Tuesday Wednesday Thursday Friday Saturday
    Sunday January February March April May June July August September October November
    December What Who Why How Where Which Whether According Asked Speaking Photos Video Read
    Related Getty Images Opinion Analysis Editor's Note Sign Up Click Watch Follow More Some
    Many Most All Both Each Every Other Another One Two Three First Second Third Mr Mrs Ms Not
    No Yes Even Just Only Instead Under Over Among Between Like Unlike Until About Against"""
)
# Places and things: they may speak ("China said"), but are never a person a pronoun means.
PLACE_WORDS = words(
    """East West North South Middle United States Kingdom Union Republic City County Street
    Avenue Road Island Islands River Mountain Park Beach Valley Bay Lake Sea Ocean Gulf Coast
    Nations Capitol Hill Square Airport Station Day Week Year Americans American Democrats
    Republicans Christmas Easter Covid COVID Twitter Facebook Instagram TikTok YouTube Google
    St. New San Los Las Santa Fort Mount Great Little Old Washington Moscow Beijing London
    Paris Kyiv Kiev Tehran Tokyo Taipei Taiwan China Russia Ukraine Iran Israel Japan India
    Canada Mexico America Europe Asia Africa Germany France Britain England Congress OK
    Cup Games Olympics Bowl Series Championship Championships Tournament Prize Award Awards
    Festival Summit"""
)
NOT_NAMES = SENTENCE_WORDS | PLACE_WORDS
# Adjectives before a title ("Russian President ..."); a list, as endings like -an or -i
# would also take "Ryan" or "Nikki".
NATIONALITIES = words(
    """Russian Chinese American British English French German Italian Spanish Ukrainian
    Iranian Israeli Japanese Korean Indian Pakistani Afghan Turkish Syrian Iraqi Saudi Egyptian
    Canadian Mexican Brazilian Australian Polish Swedish Finnish Norwegian Danish Dutch Belgian
    Swiss Austrian Greek Hungarian Czech Taiwanese Palestinian Lebanese Qatari Emirati Jordanian
    European Belarusian Georgian Venezuelan Cuban Colombian Argentine Chilean Irish Scottish
    Welsh Nigerian Kenyan Ethiopian Vietnamese Thai Filipino Indonesian Malaysian Singaporean
    Republican Democratic"""
)


def tokens(name: str) -> list[str]:
    return name.split()


def is_org(name: str) -> bool:
    """An organisation rather than a person: its last word names a body ("Foreign Ministry")."""
    words = tokens(name)
    if "of" in words[1:]:
        # "Department of Homeland Security", but not "Bank of England Governor Andrew Bailey"
        at = words.index("of")
        after = words[at + 1 :]
        named_after_title = any(
            a in TITLES and b not in TITLES for a, b in zip(after, after[1:], strict=False)
        )
        if words[at - 1] in ORG_WORDS and len(after) <= 3 and not named_after_title:
            return True
    return bool(words) and (words[-1] in ORG_WORDS or words[-1].isupper() and len(words) == 1)


def strip_titles(name: str) -> str:
    """ "Russian President Vladimir Putin" -> "Vladimir Putin"; organisations keep every word
    but a leading "the"; a possessive or leading sentence word is dropped."""
    words = [w for w in tokens(name) if w not in ("the", "The")]
    for at, word in enumerate(words):
        # "Rep. Jamaal Bowman of New York", "Stephen Yale-Loehr of Cornell Law School": a
        # person "of" a place or a body is the person. Only when a person comes before "of"
        # and no title after it, as "Secretary of State Antony Blinken" and "Bank of England
        # Governor Andrew Bailey" name the person after.
        if word == "of" and not any(w in TITLES for w in words[at + 1 :]):
            person = strip_titles(" ".join(words[:at]))
            if is_person(person):
                return person
    if is_org(" ".join(words)):
        return " ".join(words)
    # Everything up to the last title, possessive or nationality goes: "Japan's Prime Minister
    # Fumio Kishida", "Former Japanese Prime Minister Shinzo Abe".
    cut = 0
    for i, word in enumerate(words[:-1]):
        if (
            word in TITLES
            or "-" in word  # "WHO Director-General Tedros Adhanom Ghebreyesus"
            and all(part in TITLES for part in word.split("-"))
            or word in NOT_NAMES
            or word.endswith(("’s", "'s"))
            or word in NATIONALITIES
            or word in ("U.S.", "US", "U.N.", "UK", "of", "to", "for")
        ):
            cut = i + 1
    rest = words[cut:]
    if not rest or all(w in TITLES for w in rest):
        return ""  # a title alone ("Chinese Ambassador") names no one
    if len(rest) >= 4 and all(w[:1].isupper() for w in rest):
        # "US Ambassador to Costa Rica Cynthia Telles" leaves "Costa Rica Cynthia Telles": the
        # place runs into the name, and a name is rarely more than three words.
        rest = rest[-2:]
    return " ".join(rest).rstrip(".")


def is_person(name: str) -> bool:
    """Two or more name words, none of them a place, day or sentence word: "Shinzo Abe", not
    "Middle East" or "St. Petersburg". A single word is a person only once a full name with it
    is known (see `NameBook`)."""
    words = tokens(name)
    if len(words) < 2 or is_org(name) or words[-1] in NATIONALITIES:
        return False  # "Imprisoned Iranian" (human rights activist ...) describes, not names
    if any(w.isupper() and len(w) > 2 and w.isalpha() for w in words):
        # a heading in capitals: "DREAD THE AIRPORT STARBUCKS LINE?", "MUST WATCH Ex-aide"
        return False
    return not any(w in NOT_NAMES or w in TITLES or w.endswith(("’s", "'s")) for w in words)


class NameBook:
    """The people named in one article, so that "Putin" resolves to "Vladimir Putin"."""

    def __init__(self, names: Iterable[str]) -> None:
        self.people: list[str] = []
        for raw in names:
            # "Anna Priymenko's youngest nephew" names her, perhaps the only time in full.
            name = strip_titles(re.sub(r"['’]s$", "", raw))
            if is_person(name) and name not in self.people:
                self.people.append(name)

    def full(self, name: str) -> str | None:
        """The full name for a mention, or None when it is not known to be a person."""
        name = strip_titles(name)
        if not name:
            return None
        if is_person(name):
            # A longer known form wins: "Abe" -> "Shinzo Abe", "Joe Biden" stays.
            longer = [p for p in self.people if p != name and p.endswith(" " + name)]
            return longer[0] if len(longer) == 1 else name
        if len(tokens(name)) == 1 and name not in NOT_NAMES:
            # News names people by surname on second mention: "Anthony" is Jasmine Anthony,
            # not Anthony Carnevale.
            found = [p for p in self.people if tokens(p)[-1] == name]
            found = found or [p for p in self.people if name in tokens(p)]
            # "Biden" with both Joe and Jill Biden named is ambiguous, and left unresolved.
            if len(found) == 1:
                return found[0]
        return None

    def ambiguous(self, name: str) -> bool:
        """Whether a one-word name is the surname of more than one person here ("Biden")."""
        return len(tokens(name)) == 1 and sum(tokens(p)[-1] == name for p in self.people) > 1


def speaker_matches(query_name: str, speaker: str) -> bool:
    """Whether a name someone asks about denotes a speaker: "Putin" and "vladimir putin" match
    "Vladimir Putin"; "Putin" does not match "Yuri Ushakov"; "Kremlin" matches "the Kremlin"."""
    query = [w.lower().strip(".,") for w in tokens(strip_titles(query_name) or query_name)]
    words = [w.lower().strip(".,") for w in tokens(speaker)]
    query = [w for w in query if w != "the"]
    words = [w for w in words if w != "the"]
    if not query or not words:
        return False
    if query == words:
        return True
    # "FDA" is the Food and Drug Administration; a person is never matched by initials.
    asked = [w.lower().strip(".,") for w in tokens(query_name) if w.lower() != "the"]
    if (
        len(query) == 1
        and query in _initials(words)
        and _org_like(speaker, words)
        or len(words) == 1
        and words in _initials(asked)
        and _org_like(query_name, asked)
    ):
        return True
    # Every asked word must be a word of the speaker's name, in order, and the last one asked
    # must be the surname or the whole query a full first name ("Vladimir").
    it = iter(words)
    return all(any(q == w for w in it) for q in query) and (
        query[-1] == words[-1] or len(query) == 1 and query[0] == words[0]
    )


def _org_like(name: str, words: list[str]) -> bool:
    """An organisation's name: by its words ("Agency"), or by the small words no person's
    name has ("Centers for Disease Control and Prevention")."""
    return is_org(name) or any(w in ("of", "for", "and", "&") for w in words)


def _initials(words: list[str]) -> list[list[str]]:
    """The acronyms of a name of three words or more ("food and drug administration" -> "fda"),
    each as the one word it is written as: all its initials, and those before an "and" that
    joined the name later ("centers for disease control and prevention" is the "cdc")."""
    capitals = [w[0] for w in words if w not in ("and", "of", "for", "&")]
    found = [["".join(capitals)]] if len(capitals) >= 3 else []
    if "and" in words:
        head = [w[0] for w in words[: words.index("and")] if w not in ("of", "for", "&")]
        if len(head) >= 3:
            found.append(["".join(head)])
    return found
