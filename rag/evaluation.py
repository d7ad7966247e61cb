"""`rag eval`: run a dataset through `Assistant.ask` and measure what users care about.

Owns: loading the project's JSONL and LlamaIndex LabelledRagDataset files, grading each answer
(retrieval rank, answer correctness or token-F1, refusals, ALCE-style citation recall and
precision via `support`, verbatim quotes, speed) and summarising. Leaves printing to the CLI.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.assistant import Assistant
from rag.citations import answer_sentences, strip_markers
from rag.datasets import EvalItem
from rag.questions import named_options
from rag.records import Answer, Passage
from rag.said import NOT_QUOTED
from rag.support import SupportJudge
from rag.text import content_terms, in_context, is_refusal
from rag.verification import UNSUPPORTED_MARK

RANK_DEPTH = 5  # recall@1/3/5 and MRR look this deep


@dataclass
class ItemResult:
    id: str
    question: str
    answerable: bool
    answer: str
    abstained: bool
    rank: (
        int | None
    )  # 1-based rank of the first relevant passage, None if not in the top RANK_DEPTH
    correct: bool | None  # phrase groups matched (answerable JSONL items only)
    f1: float | None  # token F1 against the reference answer (LlamaIndex items only)
    sentences: int
    sentences_supported: int  # cited and supported by what they cite
    citations: int
    citations_supported: int
    quotes: int
    quotes_verbatim: int  # quote == article_text[start:end]
    first_token_s: float | None
    total_s: float
    prompt_tokens: int
    completion_tokens: int
    failures: list[str] = field(default_factory=list)
    unsupported_facts: int = 0  # unmarked sentences that no passage they cite supports
    # The same generation without the checks (temperature 0 makes it the same as a second run
    # with --no-verify), so harm = right before the checks, wrong after.
    unchecked_answer: str = ""
    unchecked_abstained: bool = False
    unchecked_correct: bool | None = None
    verification: str = ""


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").lower().split())


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def is_relevant(passage_text: str, item: EvalItem) -> bool:
    """Holds the support text, or most of the passage's word trigrams come from a reference context."""
    text = _norm(passage_text)
    if any(_norm(s) in text for s in item.support):
        return True
    grams = _trigrams(passage_text)
    return bool(grams) and any(len(grams & _trigrams(c)) >= 0.5 * len(grams) for c in item.contexts)


def token_f1(prediction: str, reference: str) -> float:
    pred = re.findall(r"\w+", prediction.lower())
    ref = re.findall(r"\w+", reference.lower())
    common = sum(min(pred.count(w), ref.count(w)) for w in set(pred))
    if not pred or not ref or not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def matches(answer: str, groups: list[list[str]]) -> bool:
    text = _norm(answer)
    return all(any(_norm(alt) in text for alt in group) for group in groups)


def grade_citations(answer: Answer, judge: SupportJudge) -> tuple[int, int, int, int]:
    """(sentences, supported sentences, citations, supported citations), ALCE-style.

    Each sentence is judged alone, as ALCE does, so a bare fragment ("Thursday [1].") rarely
    counts as supported: a conservative reading.
    """
    if answer.abstained:
        return 0, 0, 0, 0
    by_n = {p.n: p for p in answer.passages}
    sentences = supported_sentences = n_citations = supported_citations = 0
    for claim, numbers in answer_sentences(answer.answer):
        if not content_terms(claim):
            continue
        sentences += 1
        verdicts = [
            judge.best_span(claim, by_n[n].chunk.text)[2].supported for n in numbers if n in by_n
        ]
        n_citations += len(verdicts)
        supported_citations += sum(verdicts)
        supported_sentences += any(verdicts)
    return sentences, supported_sentences, n_citations, supported_citations


def unsupported_facts(answer: Answer, judge: SupportJudge) -> int:
    """Sentences shown as fact (no "not found in the articles" mark) that no passage they cite
    supports, read in the context of the question as verification reads them."""
    if answer.abstained:
        return 0
    by_n = {p.n: p for p in answer.passages}
    count = 0
    for claim, numbers in answer_sentences(answer.answer):
        if UNSUPPORTED_MARK in claim or claim.startswith(NOT_QUOTED) or not content_terms(claim):
            continue
        full = in_context(answer.searched_for or answer.question, claim)
        count += not any(
            judge.best_span(full, by_n[n].chunk.text)[2].supported for n in numbers if n in by_n
        )
    return count


def grade(item: EvalItem, text: str, abstained: bool) -> bool | None:
    """Right or wrong, or None where the item has no gold answer (unanswerable, LlamaIndex).

    A choice question is right when the answer names the gold option and no other one; an
    open one when it contains every answer group (for RealTime QA: the gold option's text)."""
    if item.choices and item.gold is not None and item.with_options:
        # "6 months [3]" names the option "6", not "3": markers are not part of the answer.
        return not abstained and named_options(strip_markers(text), item.choices) == [item.gold]
    if item.answers:
        return not abstained and matches(text, item.answers)
    return None


def _rank(ranked: list[Passage], item: EvalItem) -> int | None:
    """1-based rank of the first relevant passage. RealTime QA has no support text, so there a
    passage counts when it names the gold option: a proxy, since the name may appear in another
    story."""
    if item.choices and item.gold is not None:
        gold = item.gold
        return next(
            (p.n for p in ranked if gold in named_options(p.chunk.text, item.choices)), None
        )
    return next((p.n for p in ranked if is_relevant(p.chunk.text, item)), None)


def evaluate_item(assistant: Assistant, judge: SupportJudge, item: EvalItem) -> ItemResult:
    answer = assistant.ask(item.question, item.history)
    s = assistant.settings
    ranked = assistant.retriever.retrieve(answer.searched_for, RANK_DEPTH, -1.0, 10**9)
    rank = _rank(ranked, item)
    correct = grade(item, answer.answer, answer.abstained)
    unchecked = answer.unchecked or answer.answer
    unchecked_abstained = is_refusal(unchecked)
    f1 = token_f1(answer.answer, item.reference) if item.reference else None
    sentences, sentences_ok, citations, citations_ok = grade_citations(answer, judge)
    texts = {c.article_id: assistant.index.article(c.article_id).text for c in answer.citations}
    verbatim = sum(texts[c.article_id][c.start : c.end] == c.quote for c in answer.citations)
    failures = []
    expected = [item.choices[item.gold]] if item.choices and item.gold is not None else item.answers
    if item.answerable and answer.abstained:
        failures.append("refused an answerable question")
    elif correct is False:
        failures.append(f"wrong answer, expected {expected}")
    if not item.answerable and not answer.abstained:
        failures.append("answered an unanswerable question")
    if (item.support or item.contexts) and (rank is None or rank > s.top_k):
        failures.append(f"support not in the top {s.top_k} passages")
    if citations_ok < citations:
        failures.append(f"{citations - citations_ok} of {citations} citations unsupported")
    if verbatim < len(answer.citations):
        failures.append("quote not verbatim")
    unchecked_correct = grade(item, unchecked, unchecked_abstained)
    if unchecked_correct and not correct:
        failures.append(f"harm: the checks replaced a right answer ({answer.verification})")
    return ItemResult(
        item.id, item.question, item.answerable, answer.answer, answer.abstained, rank, correct, f1,
        sentences, sentences_ok, citations, citations_ok, len(answer.citations), verbatim,
        answer.timings.first_token_s,
        answer.timings.total_s, answer.prompt_tokens, answer.completion_tokens, failures,
        unsupported_facts(answer, judge), unchecked, unchecked_abstained, unchecked_correct,
        answer.verification,
    )  # fmt: skip


def _share(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _stats(values: Iterable[float | None]) -> dict[str, float | None]:
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return {"median": None, "p95": None}
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return {"median": round(statistics.median(xs), 3), "p95": round(p95, 3)}


def summarise(results: list[ItemResult]) -> dict[str, Any]:
    answerable = [r for r in results if r.answerable]
    ranks = [r.rank for r in answerable]
    unanswerable = [r for r in results if not r.answerable]
    graded = [r for r in answerable if r.correct is not None]
    f1s = [r.f1 for r in answerable if r.f1 is not None]
    generated = [r for r in results if r.first_token_s is not None and r.completion_tokens > 1]
    decode = [
        (r.completion_tokens - 1) / (r.total_s - r.first_token_s)
        for r in generated
        if r.first_token_s is not None and r.total_s > r.first_token_s
    ]
    return {
        "items": len(results),
        "retrieval": {
            **{
                f"recall@{k}": _share(sum(1 for x in ranks if x and x <= k), len(ranks))
                for k in (1, 3, 5)
            },
            "mrr": _share(sum(1 / x for x in ranks if x), len(ranks)),
        },
        "answers": {
            "correct": _share(sum(1 for r in graded if r.correct), len(graded)),
            "graded": len(graded),
            "token_f1": round(statistics.mean(f1s), 4) if f1s else None,
            "answered": sum(not r.abstained for r in results),
            "refused": sum(r.abstained for r in results),
        },
        # The same generations without the checks, and what the checks did to them.
        "unchecked": {
            "correct": _share(sum(1 for r in graded if r.unchecked_correct), len(graded)),
            "answered": sum(not r.unchecked_abstained for r in results),
            "refused": sum(r.unchecked_abstained for r in results),
            "harm": sum(1 for r in graded if r.unchecked_correct and not r.correct),
            "helped": sum(1 for r in graded if r.correct and not r.unchecked_correct),
        },
        "refusals": {
            "abstention": _share(sum(r.abstained for r in unanswerable), len(unanswerable)),
            "unanswerable": len(unanswerable),
            "false_abstention": _share(sum(r.abstained for r in answerable), len(answerable)),
            "answerable": len(answerable),
        },
        "citations": {
            "recall": _share(
                sum(r.sentences_supported for r in results), sum(r.sentences for r in results)
            ),
            "precision": _share(
                sum(r.citations_supported for r in results), sum(r.citations for r in results)
            ),
            "verbatim_quotes": _share(
                sum(r.quotes_verbatim for r in results), sum(r.quotes for r in results)
            ),
            "unsupported_as_fact": sum(r.unsupported_facts for r in results),
        },
        "speed": {
            "first_token_s": _stats(r.first_token_s for r in results),
            "total_s": _stats(r.total_s for r in results),
            "prompt_tokens": _stats(r.prompt_tokens for r in generated),
            "completion_tokens": _stats(r.completion_tokens for r in generated),
            "decode_tok_s": _stats(decode),
        },
    }


def run_eval(
    assistant: Assistant,
    items: list[EvalItem],
    judge: SupportJudge,
    on_item: Callable[[ItemResult], None] | None = None,
) -> dict[str, Any]:
    results = []
    for item in items:
        result = evaluate_item(assistant, judge, item)
        results.append(result)
        if on_item:
            on_item(result)
    return {"summary": summarise(results), "results": [asdict(r) for r in results]}


def _fmt(value: Any, percent: bool = True) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.0f}%" if percent else f"{value:g}"


def format_report(report: dict[str, Any], name: str) -> str:
    """A readable table plus the per-question failures."""
    s = report["summary"]
    r, a, f, c, sp = s["retrieval"], s["answers"], s["refusals"], s["citations"], s["speed"]
    u = s["unchecked"]
    lines = [
        f"{name}: {s['items']} questions",
        f"  retrieval   recall@1 {_fmt(r['recall@1'])}  recall@3 {_fmt(r['recall@3'])}  "
        f"recall@5 {_fmt(r['recall@5'])}  MRR {_fmt(r['mrr'], False)}",
        f"  answers     correct {_fmt(a['correct'])} of {a['graded']}  token-F1 {_fmt(a['token_f1'], False)}  "
        f"answered {a['answered']}  refused {a['refused']}",
        f"  unchecked   correct {_fmt(u['correct'])}  answered {u['answered']}  refused {u['refused']}  "
        f"harm {u['harm']} (right before the checks, wrong after)  helped {u['helped']}",
        f"  refusals    abstention {_fmt(f['abstention'])} of {f['unanswerable']} unanswerable  "
        f"false abstention {_fmt(f['false_abstention'])} of {f['answerable']} answerable",
        f"  citations   recall {_fmt(c['recall'])}  precision {_fmt(c['precision'])}  "
        f"verbatim quotes {_fmt(c['verbatim_quotes'])}  "
        f"unsupported shown as fact {c.get('unsupported_as_fact')}",
        f"  speed       first token {sp['first_token_s']['median']} s (p95 {sp['first_token_s']['p95']})  "
        f"total {sp['total_s']['median']} s (p95 {sp['total_s']['p95']})  "
        f"prompt {sp['prompt_tokens']['median']} tok  completion {sp['completion_tokens']['median']} tok  "
        f"decode {sp['decode_tok_s']['median']} tok/s",
    ]
    failed = [x for x in report["results"] if x["failures"]]
    if failed:
        lines.append(f"failures ({len(failed)}):")
        for x in failed:
            answer = " ".join(x["answer"].split())
            lines.append(f"  {x['id']} {x['question']}")
            lines.append(f"      -> {answer[:160]}")
            lines.append(f"      !! {'; '.join(x['failures'])}")
    return "\n".join(lines)


def format_table(reports: dict[str, dict[str, Any]]) -> str:
    """One row per dataset and their mean: right with and without the checks, harm, refusals."""
    head = f"{'dataset':<24} {'n':>4} {'right':>6} {'unchecked':>9} {'harm':>5} {'helped':>6} "
    head += f"{'refused':>7} {'recall@5':>8} {'median s':>8}"
    lines, rows = [head], []
    for name, report in reports.items():
        s = report["summary"]
        row = (
            s["answers"]["correct"] or 0.0, s["unchecked"]["correct"] or 0.0,
            s["unchecked"]["harm"], s["unchecked"]["helped"], s["answers"]["refused"],
            s["retrieval"]["recall@5"] or 0.0, s["speed"]["total_s"]["median"] or 0.0,
        )  # fmt: skip
        rows.append((s["items"], row))
        lines.append(_table_row(name, s["items"], row))
    if len(rows) > 1:
        n = sum(k for k, _ in rows)
        mean = tuple(statistics.mean(r[i] for _, r in rows) for i in (0, 1))
        sums = tuple(sum(r[i] for _, r in rows) for i in (2, 3, 4))
        rest = tuple(statistics.mean(r[i] for _, r in rows) for i in (5, 6))
        lines.append(_table_row("mean (harm: total)", n, (*mean, *sums, *rest)))
    return "\n".join(lines)


def _table_row(name: str, n: int, row: tuple[float, ...]) -> str:
    right, unchecked, harm, helped, refused, recall, seconds = row
    return (
        f"{name[-24:]:<24} {n:>4} {100 * right:>5.0f}% {100 * unchecked:>8.0f}% {harm:>5.0f} "
        f"{helped:>6.0f} {refused:>7.0f} {100 * recall:>7.0f}% {seconds:>8.2f}"
    )
