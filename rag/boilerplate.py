"""Lines that are page furniture, not article text: dropped once, at ingest.

Owns: a list of known boilerplate lines (ad-feedback forms, newsletter and subscription pitches,
share buttons, cookie notices, "More:"/"Related:" links to other stories, video promos) and
`strip`, which removes whole lines that match. Derived from the short lines that repeat across
the eight RealTime QA weeks (see benchmarks/boilerplate.py). Leaves HTML menus and banners to
trafilatura, which never hands them over as text.

The rules are conservative: a rule matches a whole line (never part of one), and a long line is
only dropped by a rule that names a pitch no news sentence makes ("Sign up here", "delivered to
your inbox"). A line that merely mentions newsletters, ads or cookies stays.
"""

from __future__ import annotations

import re

# Longer lines are prose: a pitch or a form is short, and a news paragraph that happens to say
# "sign up" is long. (The longest pitch seen in RealTime QA is about 290 characters.)
MAX_LINE = 320

_EXACT = (
    # ad-feedback forms (CNN's video player)
    r"(\d+\.\s*)?how relevant is this ad to you\?",
    r"video player was slow to load content.*",
    r"video content never loaded.*",
    r"ad froze or did not finish loading.*",
    r"(video )?ad feedback",
    r"advertisement|advertising|sponsored( content)?|ad",
    r"(story continues|article continues) (below|after) (this )?(advertisement|ad)",
    # share buttons
    r"share( this( article| story| page)?| on (facebook|twitter|x|linkedin|whatsapp|email))?",
    r"(copy|copied) (link|url)|link copied|tweet|email|print|pin it|whatsapp|linkedin|facebook",
    r"(share|save) (this )?(article|story)( to (read later|your list))?",
    # "read more" buttons and headings of link lists
    r"read more( here)?:?|more:|related:?|related (stories|articles|content|coverage):?",
    r"(most read|most popular|trending now|recommended( for you)?|you may also like|up next)",
    r"(see|also read|read also|see also)\s*:",
    # browser and consent notices
    r"javascript is (not available|disabled)\.?.*",
    r"(please )?(enable|turn on) javascript.*",
    r"(your browser does not support|this browser does not support) .*",
    r"(accept|reject|allow) (all )?cookies|cookie (settings|preferences|policy)|manage cookies",
    r"(we|this (web)?site) uses? cookies.*",
    r"by (continuing|using this (web)?site).{0,80}(cookies|privacy policy).*",
    r"skip to (main )?(content|navigation)|back to top",
)

_PREFIXED = (
    # "More:Headline of another story" (USA TODAY), "RELATED: ...", "See also:...": links to
    # other stories, one headline each. A headline is short, so the line is too.
    r"(more|related|see also|also read|read more|read also|watch|listen)\s*:\s*\S.{0,200}",
    # CNN video promos: "Video Ad Feedback <headline> 02:05 - Source: CNN"
    r"(video ad feedback\s+)?.{5,250}\s\d{1,2}:\d{2}\s+-\s+source: \w.{0,30}",
    r"video ad feedback\s.{0,250}",
)

_PITCHES = (
    # newsletters: an imperative to sign up, or a promise of the inbox
    r"\bsign up\b.{0,80}\b(newsletters?|text messages|sms)\b",
    r"\bnewsletters?\b.{0,100}\bsign up\b",
    r"^(editor.s note: )*a version of this (story|article) (first )?appear(s|ed) in\b.{0,80}"
    r"\bnewsletter\b",
    r"\bsign up for (usa today|cnn)\b",
    r"\b(delivered|straight|right) to your inbox\b",
    r"\bin your inbox\b.{0,40}\b(sign up|subscribe)\b",
    r"\bsubscribe to (the|our)\b.{0,40}\bnewsletters?\b",
    r"\bnot a subscriber\?",
    # subscriptions
    r"^support (local|strong local|quality|our) journalism\b",
    r"\bsupport (strong )?local journalism by subscribing\b",
    r"\bthank you for supporting our journalism\b",
    r"\bplease consider a subscription\b",
    r"\ba subscription makes work like this possible\b",
    r"\bbecome a (usa today )?(digital )?subscriber\b",
    r"^never miss a story: subscribe\b",
    r"^subscribe to \S+ today\b",
    r"\bsupport our journalism\. subscribe\b",
    r"\bcheck out our subscription options\b",
    r"^(flash sale|special offer|limited time offer)\s*:",
    r"^special access for subscribers!",
    # consent text under sign-up forms
    r"^we will use the (details|information) you have shared\b",
    # social buttons and roundup plugs
    r"^follow us on (facebook|twitter|x|instagram)\b",
    r"^(need a break\? )?play the usa today daily crossword\b",
    r"^prep for the polls: see who is running\b",
    r"\bis a usa today content partner\b",
    r"^the short list is (a snappy usa today news roundup|free, but several stories)\b",
    r"^(this is a compilation of stories from across the usa today network|want this news "
    r"roundup in your inbox)\b",
    r"^this coverage is being offered free as a public service\b",
)

# "Sign up here" also ends real paragraphs ("... will host a webinar on July 20. Sign up here to
# receive an email."), so alone it only marks a short line: a pitch, not a paragraph.
_SHORT_PITCH = re.compile(r"\bsign up (here|now|today|for free|right here|at)\b", re.IGNORECASE)
SHORT_LINE = 140

_WHOLE = re.compile(
    r"^\W*(?:" + "|".join(f"(?:{p})" for p in _EXACT + _PREFIXED) + r")\W*$", re.IGNORECASE
)
_PITCH = re.compile("|".join(f"(?:{p})" for p in _PITCHES), re.IGNORECASE)
_BLANK_RUN = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


def is_boilerplate(line: str) -> bool:
    """Whether a whole line (without its newline) is page furniture rather than article text."""
    line = line.strip()
    if not line or len(line) > MAX_LINE:
        return False
    if len(line) <= SHORT_LINE and _SHORT_PITCH.search(line):
        return True
    return bool(_WHOLE.match(line) or _PITCH.search(line))


def strip(text: str) -> str:
    """`text` without its boilerplate lines; the paragraphs left keep their order and breaks."""
    lines = text.split("\n")
    kept = [line for line in lines if not is_boilerplate(line)]
    if len(kept) == len(lines):
        return text
    return _BLANK_RUN.sub("\n\n", "\n".join(kept)).strip()
