"""Draw (claim, evidence) pairs from the real model's answers, for hand labelling.

Usage: .venv/bin/python benchmarks/support_pairs.py --out /tmp/pairs.jsonl [--per-question 2]

Replays the cached generations of benchmarks/realtimeqa.py (both modes) and of
benchmarks/verify_policies.py (the seed set), so it costs no model time. For every sentence of
the model's unchecked answer it takes the passage spans the current judge ranks highest: the best
one, and the best one from a different passage. That gives supported pairs, paraphrases and near
misses in the proportions the judge actually meets. Claims that are fragments ("Petco [1].") are
written with their question, as the judge reads them. Labels go in evals/support_labels.jsonl.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from verify_policies import CachedGenerator, _key  # noqa: E402

from rag.assistant import Assistant  # noqa: E402
from rag.citations import answer_sentences  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.datasets import load_dataset, realtimeqa_index  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.generation import Message, make_generator  # noqa: E402
from rag.questions import split_options  # noqa: E402
from rag.support import SupportJudge  # noqa: E402
from rag.text import content_terms, in_context  # noqa: E402

WEEKS = ROOT.parent / "shared" / "corpora" / "realtimeqa"


class Replay(CachedGenerator):
    """Only what is cached: a prompt never answered gives an empty answer (no pairs)."""

    def stream(self, messages: list[Message]) -> Iterator[str]:
        if _key(messages) not in self.store:
            return iter(())
        return super().stream(messages)


def pairs_for(assistant: Assistant, judge: SupportJudge, qid: str, question: str, source: str):
    answer = assistant.ask(question)
    asked, _ = split_options(answer.searched_for)
    for claim, _ in answer_sentences(answer.unchecked):
        if not content_terms(claim) or not answer.passages:
            continue
        full = in_context(asked, claim)
        spans = []
        for p in answer.passages:
            s, e, verdict = judge.best_span(full, p.chunk.text)
            spans.append((verdict.lexical + verdict.semantic, p.n, p.chunk.text[s:e], verdict))
        spans.sort(key=lambda x: -x[0])
        for _, _n, evidence, verdict in spans[:2]:
            yield {
                "source": source, "question_id": qid, "claim": full, "evidence": evidence,
                "judge_supported": verdict.supported,
            }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--weeks", nargs="*")
    parser.add_argument("--sample", type=int, default=0, help="keep this many, drawn at random")
    parser.add_argument("--caches", nargs="*", type=Path, default=[], help="more answer caches")
    args = parser.parse_args()
    settings = load_settings()
    inner = make_generator(
        settings.model, settings.n_ctx, settings.max_answer_tokens, settings.temperature,
        settings.n_threads,
    )  # fmt: skip
    embedder = make_embedder(settings.embedder)
    judge = SupportJudge(embedder)
    rows = []
    files = sorted(WEEKS.glob("*_qa.jsonl"))
    if args.weeks:
        files = [f for f in files if f.name.split("_")[0] in args.weeks]
    rtqa = Replay(inner, Path("/tmp") / f"rag-answers-realtimeqa-{settings.model}.json")
    for extra in args.caches:  # e.g. the open-question run's own cache
        rtqa.store.update(json.loads(extra.read_text()))
    for qa in files:
        index = realtimeqa_index(qa, embedder, settings.chunk_tokens, settings.chunk_overlap)
        assistant = Assistant.from_settings(settings.replace(index=str(index)), rtqa)  # type: ignore[arg-type]
        for open_questions in (False, True):
            for item in load_dataset(qa, open_questions):
                mode = "open" if open_questions else "options"
                source = f"{qa.name.split('_')[0]}-{mode}"
                rows += pairs_for(assistant, judge, item.id, item.question, source)
    seed_cache = Path("/tmp") / f"rag-answers-seed-{settings.model}-{settings.retrieval}.json"
    seed = Replay(inner, seed_cache)
    assistant = Assistant.from_settings(settings, seed)  # type: ignore[arg-type]
    for item in load_dataset(ROOT / "evals" / "seed.jsonl"):
        rows += pairs_for(assistant, judge, item.id, item.question, "seed")
    if args.sample and len(rows) > args.sample:
        rows = random.Random(0).sample(rows, args.sample)
    with args.out.open("w", encoding="utf-8") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"id": f"p{i:04d}", **row}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} pairs written to {args.out}")


if __name__ == "__main__":
    main()
