"""When and where an answer may come from: the outlet/date filter, "latest" questions, "As of".

Owns: `Scope` (the `--since`, `--until` and `--source` of `rag ask` and `rag chat`, and which
articles it lets through), checking the dates as given, telling a question about the latest or
current state ("what is the latest on ...?") from others, and the "As of June 12, 2022" line.
Leaves searching to `retrieval` and where the line is printed to the CLI and the chat.
Standard library only.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from rag.articles import domain
from rag.errors import RagError

# Spelled out rather than strftime("%B"), which follows the machine's locale.
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
# Words that ask for the current state of things. "now" has other senses too, but a false match
# costs little: relevant passages are ordered newest first and the answer gets an "As of" date.
LATEST = re.compile(
    r"\b(?:latest|most recent|newest|now|currently|current|this week|today)\b", re.I
)
# Parts of a host name that name no outlet: "bbc" names www.bbc.co.uk, "co" and "www" do not.
GENERIC_LABELS = {"www", "co", "com", "org", "net", "edu", "gov", "ac", "m", "amp", "news"}


def parse_date(value: str, flag: str) -> str:
    """A checked YYYY-MM-DD, or "" for an empty value; a RagError names the flag otherwise."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RagError(f"{flag} must be a date YYYY-MM-DD, got {value!r}") from None


@dataclass(frozen=True)
class Scope:
    """Which articles a question may draw on. Empty fields let everything through; with either
    date set, an article without a publication date is left out (it cannot be placed)."""

    since: str = ""  # YYYY-MM-DD, inclusive
    until: str = ""  # YYYY-MM-DD, inclusive
    source: str = ""  # an outlet name or a url domain, any case

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.source)

    def admits(self, outlet: str, url: str, published: str) -> bool:
        """Whether an article with this byline is in scope."""
        if (self.since or self.until) and not published:
            return False
        if self.since and published < self.since:  # ISO dates compare as text
            return False
        if self.until and published > self.until:
            return False
        return not self.source or source_matches(self.source, outlet, url)

    def describe(self) -> str:
        """ "from Reuters between 2022-06-01 and 2022-06-30": the scope in words, "" if none."""
        parts = [f"from {self.source}"] if self.source else []
        if self.since and self.until:
            parts.append(f"between {self.since} and {self.until}")
        elif self.since:
            parts.append(f"since {self.since}")
        elif self.until:
            parts.append(f"until {self.until}")
        return " ".join(parts)

    def nothing_found(self) -> str:
        """The answer when no article is in scope at all."""
        dated = " dated" if self.since or self.until else ""
        return f"No{dated} articles {self.describe()} in the index."


EVERYTHING = Scope()  # no outlet and no dates: every article


def make_scope(
    since: str | None = "",
    until: str | None = "",
    source: str | None = "",
    names: tuple[str, str] = ("--since", "--until"),
) -> Scope:
    """A checked Scope from flags or text boxes (`names` are theirs, for the error message); a
    RagError for a bad date or an empty range."""
    scope = Scope(
        parse_date(since or "", names[0]),
        parse_date(until or "", names[1]),
        " ".join((source or "").split()),
    )
    if scope.since and scope.until and scope.since > scope.until:
        raise RagError(f"{names[0]} {scope.since} is after {names[1]} {scope.until}")
    return scope


def _plain(name: str) -> str:
    return re.sub(r"^the\s+", "", " ".join(name.casefold().split()))


def source_matches(source: str, outlet: str, url: str) -> bool:
    """`source` names the article's outlet ("reuters" = "Reuters", "the guardian" = "Guardian")
    or its url's domain: the whole host, a parent domain ("bbc.co.uk"), or the name in it
    ("bbc" for www.bbc.co.uk)."""
    wanted = _plain(source).removeprefix("www.")
    if not wanted:
        return True
    if outlet and _plain(outlet) == wanted:
        return True
    host = domain(url).casefold() or (outlet.casefold() if "." in outlet else "")
    if not host:
        return False
    if host == wanted or host.endswith("." + wanted):
        return True
    labels = host.split(".")[:-1]  # the last one is the top-level domain
    return wanted in labels and wanted not in GENERIC_LABELS


def is_latest(question: str) -> bool:
    """Whether the question asks for the latest or current state of something."""
    return bool(LATEST.search(question))


def long_date(iso: str) -> str:
    """ "June 12, 2022" for "2022-06-12"; the text unchanged if it is not such a date."""
    try:
        day = datetime.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def as_of_line(as_of: str) -> str:
    """ "As of June 12, 2022:", said before an answer to a latest-type question; "" undated."""
    return f"As of {long_date(as_of)}:" if as_of else ""


def with_as_of(text: str, as_of: str, question: str) -> str:
    """The answer text as shown: "As of June 12, 2022: ..." for a latest-type question whose
    citations are dated, else unchanged. Added in code, never asked of the model."""
    return f"{as_of_line(as_of)} {text}" if as_of and is_latest(question) else text


def dated_order(published: str, title: str) -> tuple[bool, str, str]:
    """Sort key: oldest first, undated last, then by title."""
    return (not published, published, title)
