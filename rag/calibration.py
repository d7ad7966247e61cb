"""Fit and measure the support judge on hand-labelled (claim, evidence) pairs.

Owns: reading the labels (evals/support_labels.jsonl), the split into a fitting part and a
held-out part (by the pair's `split` field: "fit" or "test"), fitting the judge's logistic
weights on the fitting part, and precision and recall of "supported" on the held-out part.
`rag eval --calibrate LABELS` prints both. `support.WEIGHTS` is whichever of the shipped and
the refitted weights agrees more with the labels of the fit split (never chosen on the held-out
split). Leaves the features themselves to `support`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rag.errors import RagError
from rag.support import Support, SupportJudge, Weights


@dataclass(frozen=True)
class Label:
    claim: str
    evidence: str
    supported: bool
    split: str  # "fit" or "test"


@dataclass(frozen=True)
class Scores:
    pairs: int
    positives: int
    precision: float | None  # of "supported" verdicts, the share the labels call supported
    recall: float | None  # of supported pairs, the share the judge calls supported
    agreement: float


@dataclass(frozen=True)
class Calibration:
    current: dict[str, Scores]  # the shipped weights, on each split
    fitted: Weights  # weights fitted on the "fit" split
    refit: dict[str, Scores]  # the fitted weights, on each split


def load_labels(path: Path) -> list[Label]:
    try:
        rows = [
            json.loads(line)
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
        return [
            Label(r["claim"], r["evidence"], bool(r["supported"]), r.get("split", "fit"))
            for r in rows
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RagError(f"cannot read support labels {path}: {exc}") from None


def score(verdicts: list[bool], truth: list[bool]) -> Scores:
    tp = sum(v and t for v, t in zip(verdicts, truth, strict=True))
    said, real = sum(verdicts), sum(truth)
    agree = sum(v == t for v, t in zip(verdicts, truth, strict=True))
    return Scores(
        len(truth), real, round(tp / said, 4) if said else None,
        round(tp / real, 4) if real else None, round(agree / len(truth), 4) if truth else 0.0,
    )  # fmt: skip


def fit(x: np.ndarray, y: np.ndarray, l2: float = 0.01) -> np.ndarray:
    """Logistic regression by Newton's method: (n, d) features, (n,) 0/1 labels -> (d + 1,)
    weights, bias last. A few lines, no dependency, and exact for so few features."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    ridge = l2 * np.diag([1.0] * x.shape[1] + [0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(xb @ w)))
        gradient = xb.T @ (p - y) + ridge @ w
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + ridge
        w -= np.linalg.solve(hessian, gradient)
    return w


def calibrate(judge: SupportJudge, labels: list[Label]) -> Calibration:
    """The shipped judge on both splits, and a judge refitted on the "fit" split."""
    if not labels:
        raise RagError("no labels to calibrate on")
    judged = judge.judge_many([(lab.claim, lab.evidence) for lab in labels])
    splits = sorted({lab.split for lab in labels})

    def on(split: str, verdicts: list[bool]) -> Scores:
        pick = [i for i, lab in enumerate(labels) if lab.split == split]
        return score([verdicts[i] for i in pick], [labels[i].supported for i in pick])

    current = {s: on(s, [j.supported for j in judged]) for s in splits}
    features = np.array([j.features for j in judged])  # (n, 2)
    truth = np.array([lab.supported for lab in labels], dtype=float)
    # The vetoes decide on their own; the weights are fitted on the pairs that pass them.
    train = np.array(
        [lab.split == "fit" and not j.veto for lab, j in zip(labels, judged, strict=True)]
    )
    if not train.any():
        raise RagError('no labels with "split": "fit" to fit on')
    w = fit(features[train], truth[train])
    logistic = Weights(lexical=round(float(w[0]), 3), semantic=round(float(w[1]), 3),
                       bias=round(float(w[2]), 3))  # fmt: skip
    # Then the paraphrase clause: the (cosine, lexical) floors that agree best on the fit split.
    fit_rows = [i for i, lab in enumerate(labels) if lab.split == "fit"]
    best: tuple[float, Weights] = (-1.0, logistic)
    for cosine in (0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01):
        for lexical in (0.5, 0.4, 0.3, 0.2):  # on a tie, the stricter floor
            trial = replace(logistic, paraphrase_cosine=cosine, paraphrase_lexical=lexical)
            verdicts = _verdicts(trial, judged)
            agree = sum(verdicts[i] == labels[i].supported for i in fit_rows)
            if agree > best[0]:
                best = (agree, trial)
    fitted = best[1]
    return Calibration(current, fitted, {s: on(s, _verdicts(fitted, judged)) for s in splits})


def _verdicts(weights: Weights, judged: list[Support]) -> list[bool]:
    return [not j.veto and weights.supports(j.lexical, j.semantic) for j in judged]
