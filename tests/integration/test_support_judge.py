"""The support judge with the real MiniLM: paraphrases and name forms are support, near misses
are not (the fast tier's hashing embedder is no judge of paraphrase)."""

from __future__ import annotations

import pytest

from rag.embedding import make_embedder
from rag.support import SupportJudge

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def judge() -> SupportJudge:
    return SupportJudge(make_embedder("all-minilm-l6-v2"))


@pytest.mark.parametrize(
    ("claim", "evidence"),
    [
        ("Lavrov described the plan as perilous.", "Lavrov called the plan dangerous, the ministry said."),
        ("Vladimir Putin said the treaty is not a defence pact.", "Putin said the treaty does not serve as a mutual defense agreement."),
        ("Putin said Iran has not asked Russia for military help.", "Despite these connections, Putin indicated that Iran has not requested military aid from Russia."),
    ],
)  # fmt: skip
def test_a_paraphrase_or_a_fuller_name_is_support(
    judge: SupportJudge, claim: str, evidence: str
) -> None:
    assert judge.judge(claim, evidence).supported


@pytest.mark.parametrize(
    ("claim", "evidence", "veto"),
    [
        ("Sergei Lavrov called the plan dangerous.", "Putin called the plan dangerous.", "name"),
        ("Iran fired 40 rockets.", "Iran fired rockets at Israel.", "number"),
        ("Khamenei did not respond to the demand.", "Trump demanded an unconditional surrender.", "negation"),
        ("Bed Bath & Beyond cut the AC.", "Which company is being accused of cutting the AC?", "question"),
    ],
)  # fmt: skip
def test_a_near_miss_is_not(judge: SupportJudge, claim: str, evidence: str, veto: str) -> None:
    verdict = judge.judge(claim, evidence)
    assert not verdict.supported and verdict.veto == veto
