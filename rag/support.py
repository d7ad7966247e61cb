"""Does a piece of source text support a claim? A local, documented, calibrated check.

Owns: the support score of (claim, evidence) and finding the best supporting span inside a
passage. The check combines
  - lexical coverage: the share of the claim's content words (lightly stemmed) found in the
    evidence, with proper nouns counting double;
  - semantic similarity: embedding cosine of claim and evidence (MiniLM by default);
  - hard vetoes: a number or a proper noun in the claim that the evidence lacks, or a word
    negated on one side and asserted on the other.
A pair that passes the vetoes is judged by a small logistic model over the two scores, fitted on
hand-labelled pairs from RealTime QA weeks and the seed (evals/support_labels.jsonl, see
`rag eval --calibrate`, which also reports precision and recall on the held-out split). It is not an NLI model,
so results are reported as "ALCE-style". Leaves the word rules (stems, stopwords, negation
scope, sentences) to `text` and repairing citations to `verification`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from rag.embedding import Embedder
from rag.text import NUMBER, content_terms, found, negated_terms, sentence_spans, unknown_name

NEGATIVE_SENSE = re.compile(
    r"\b(refrain\w*|against|avoid\w*|den(y|ied|ies)|reject\w*|prevent\w*|ban(ned|s)?|fail\w*|"
    r"lack\w*|unable|halt\w*|stop(ped|s)?|without|absence)\b",
    re.I,
)


@dataclass(frozen=True)
class Support:
    lexical: float  # weighted share of claim terms present in the evidence, 0..1
    semantic: float  # cosine similarity, -1..1
    veto: str  # "" or why the pair can't be support ("name", "number", "negation")
    supported: bool
    probability: float = 0.0  # of support, by the fitted weights; 0 when vetoed

    @property
    def features(self) -> tuple[float, ...]:
        """The inputs of the fitted model: (lexical, semantic)."""
        # Also tried, on the fit split: their product and the count of missing claim words.
        # Neither raised agreement there (0.81 -> 0.81, 0.80); both lowered held-out recall.
        return (self.lexical, self.semantic)


@dataclass(frozen=True)
class Weights:
    """A logistic model over (lexical, semantic), fitted by `rag eval --calibrate` on the "fit" split of
    evals/support_labels.jsonl; a pair is supported at probability 0.5 or more."""

    lexical: float
    semantic: float
    bias: float
    # A close paraphrase shares few words but means the same ("called the plan dangerous" for
    # "described it as perilous"): a cosine this high with some words shared is support too.
    paraphrase_cosine: float = 0.7
    paraphrase_lexical: float = 0.4

    def probability(self, x: tuple[float, ...]) -> float:
        w = (self.lexical, self.semantic)
        z = sum(a * b for a, b in zip(w, x, strict=True)) + self.bias
        return float(1 / (1 + np.exp(-z)))

    def supports(self, lexical: float, semantic: float) -> bool:
        if semantic >= self.paraphrase_cosine and lexical >= self.paraphrase_lexical:
            return True
        return self.probability((lexical, semantic)) >= 0.5


WEIGHTS = Weights(lexical=5.71, semantic=1.43, bias=-5.02)


class SupportJudge:
    def __init__(self, embedder: Embedder, weights: Weights | None = None) -> None:
        self.embedder = embedder
        self.weights = weights or WEIGHTS
        # Every claim is judged against the same few passages' sentences: embed each text once.
        self._cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) L2-normalised vectors, embedding only texts not seen before."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache.update(zip(missing, self.embedder.embed(missing), strict=True))
        return np.stack([self._cache[t] for t in texts])

    def prefetch(self, claims: list[str], texts: list[str]) -> None:
        """Embed the claims and every candidate span of `texts` in one call."""
        self._vectors(claims + [text[s:e] for text in texts for s, e in _candidates(text)])

    def lexical(self, claim: str, evidence: str) -> float:
        wanted = content_terms(claim)
        if not wanted:
            return 0.0
        have = set(content_terms(evidence))
        return sum(w for t, w in wanted.items() if found(t, have)) / sum(wanted.values())

    @staticmethod
    def veto(claim: str, evidence: str) -> str:
        spans = sentence_spans(evidence) or [(0, len(evidence))]
        if all(evidence[s:e].rstrip(" \"'”’»)").endswith("?") for s, e in spans):
            return "question"  # quiz pages repeat the question; asking asserts nothing
        numbers = set(NUMBER.findall(evidence))
        if any(n not in numbers for n in NUMBER.findall(claim)):
            return "number"
        weighted = content_terms(claim)
        claim_terms, evidence_terms = set(weighted), set(content_terms(evidence))
        if unknown_name(claim, evidence_terms):
            return "name"  # a proper noun the evidence never mentions: "Lavrov", "Reuters"
        claim_neg, evidence_neg = negated_terms(claim), negated_terms(evidence)
        # A claim that something did not happen needs a negation in its evidence: an article
        # that never mentions a reply does not say "Khamenei did not respond" (a word like
        # "refrain" or "against" counts: "urged Washington to refrain" says "not to intervene").
        # And evidence that negates what the claim plainly asserts contradicts it. Where both
        # negate, the scopes are too rough to compare ("has not asked" vs "has not requested").
        if claim_neg and not (evidence_neg or NEGATIVE_SENSE.search(evidence)):
            return "negation"
        if not claim_neg and evidence_neg & claim_terms:
            return "negation"
        return ""

    def decide(self, lexical: float, semantic: float, veto: str) -> Support:
        if veto:
            return Support(lexical, semantic, veto, False)
        p = self.weights.probability((lexical, semantic))
        return Support(lexical, semantic, veto, self.weights.supports(lexical, semantic), p)

    def judge_many(self, pairs: list[tuple[str, str]]) -> list[Support]:
        """Judge (claim, evidence) pairs with one embedding call."""
        if not pairs:
            return []
        texts = [c for c, _ in pairs] + [e for _, e in pairs]
        vectors = self._vectors(texts)  # (2 * len(pairs), dim), L2-normalised
        n = len(pairs)
        cosines = np.sum(vectors[:n] * vectors[n:], axis=1)
        out = []
        for (claim, evidence), cosine in zip(pairs, cosines, strict=True):
            lex, veto = self.lexical(claim, evidence), self.veto(claim, evidence)
            out.append(self.decide(lex, float(cosine), veto))
        return out

    def judge(self, claim: str, evidence: str) -> Support:
        return self.judge_many([(claim, evidence)])[0]

    def best_span(self, claim: str, text: str) -> tuple[int, int, Support]:
        """The sentence, or pair of adjacent sentences, of `text` that best supports `claim`.

        Offsets are into `text`. Ranked by supported first, then by the mean of both scores.
        """
        candidates = _candidates(text)
        judged = self.judge_many([(claim, text[s:e]) for s, e in candidates])
        best = max(
            range(len(candidates)),
            key=lambda i: (judged[i].supported, judged[i].lexical + judged[i].semantic, -i),
        )
        return candidates[best][0], candidates[best][1], judged[best]


def _candidates(text: str) -> list[tuple[int, int]]:
    """Spans that may support a claim: each sentence, and each pair of adjacent sentences."""
    spans = sentence_spans(text) or [(0, len(text))]
    return spans + [(a[0], b[1]) for a, b in zip(spans, spans[1:], strict=False)]
