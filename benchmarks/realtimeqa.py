"""RealTime QA weeks through the assistant, with generations cached so the checks can be re-tuned.

Usage: .venv/bin/python benchmarks/realtimeqa.py [--weeks 20220701 ...] [--open] [--limit N]
           [--cache FILE] [--out FILE] [--show]

The same as `rag eval --dataset ../shared/corpora/realtimeqa/` (one row per week, harm counted
against the same generations unchecked), but the model's answers are cached by prompt, so a
change to the checks is measured again in minutes instead of the 20 a fresh run takes. `rag eval`
gives the numbers for the README (speed included); this gives the tuning loop. Reads the weeks
in place from ../shared/corpora/realtimeqa.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from verify_policies import cached_generator  # noqa: E402

from rag.assistant import Assistant  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.datasets import load_dataset, realtimeqa_index  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.evaluation import format_table, run_eval  # noqa: E402
from rag.support import SupportJudge  # noqa: E402

WEEKS = ROOT.parent / "shared" / "corpora" / "realtimeqa"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", nargs="*", help="e.g. 20220701 (default: every week)")
    parser.add_argument("--open", action="store_true", help="bare questions, no options")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--model")
    parser.add_argument("--k", type=int, dest="top_k")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--show", action="store_true", help="print every wrong or harmed answer")
    args = parser.parse_args()
    settings = load_settings(model=args.model, top_k=args.top_k)
    files = sorted(WEEKS.glob("*_qa.jsonl"))
    if args.weeks:
        files = [f for f in files if f.name.split("_")[0] in args.weeks]
    cache = args.cache or Path("/tmp") / f"rag-answers-realtimeqa-{settings.model}.json"
    generator = cached_generator(settings, cache)
    embedder = make_embedder(settings.embedder)
    reports = {}
    for qa in files:
        index = realtimeqa_index(qa, embedder, settings.chunk_tokens, settings.chunk_overlap)
        assistant = Assistant.from_settings(settings.replace(index=str(index)), generator)  # type: ignore[arg-type]
        items = load_dataset(qa, args.open)[: args.limit or None]
        report = run_eval(assistant, items, SupportJudge(assistant.retriever.embedder))
        reports[qa.name] = report
        print(format_table({qa.name: report}).splitlines()[-1], flush=True)
        if args.show:
            for r in report["results"]:
                if not r["correct"] or r["unchecked_correct"] != r["correct"]:
                    mark = (
                        "HARM"
                        if r["unchecked_correct"] and not r["correct"]
                        else ("help" if r["correct"] else "wrong")
                    )
                    print(f"  [{mark}] {r['id']} {r['question']}")
                    print(f"      model: {' '.join(r['unchecked_answer'].split())[:200]}")
                    print(f"      shown: {' '.join(r['answer'].split())[:200]}")
                    print(f"      note:  {r['verification']}")
    print(format_table(reports))
    mode = "open" if args.open else "options"
    out = args.out or Path("/tmp") / f"realtimeqa-{mode}.json"
    out.write_text(json.dumps({"datasets": reports}, indent=1, ensure_ascii=False))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
