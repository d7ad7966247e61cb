"""The verification choices compared on the same model outputs: generate once, check many ways.

Usage: .venv/bin/python benchmarks/verify_policies.py [--dataset evals/seed.jsonl] [--model PRESET]
           [--retrieval hybrid] [--cache FILE] [--out FILE]

Every policy sees exactly the same raw answers (generation is cached by prompt, in --cache, so a
second run costs no model time), so the differences in the table are the checks alone:
  - no-verify: the model's answer as written (markers normalised, echoed prompt text stripped);
  - keep / mark / drop: verification, with a sentence that no passage supports kept, marked
    "(not found in the articles)", or dropped.
Speed columns are meaningless here (cached answers take no time); `rag eval` measures speed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings, load_settings  # noqa: E402
from rag.datasets import load_dataset  # noqa: E402
from rag.evaluation import format_report, run_eval  # noqa: E402
from rag.generation import Generator, Message, Usage, make_generator  # noqa: E402
from rag.support import SupportJudge  # noqa: E402

POLICIES = ("no-verify", "keep", "mark", "drop")


def _key(messages: list[Message]) -> str:
    return hashlib.sha256(json.dumps([(m.role, m.content) for m in messages]).encode()).hexdigest()


class CachedGenerator:
    """Wraps a real generator; replays a stored answer when the same prompt comes again."""

    def __init__(self, inner: Generator, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.store: dict[str, list] = json.loads(path.read_text()) if path.is_file() else {}
        self.usage = Usage()
        self.temperature = 0.0  # answers are cached by prompt alone

    def load(self) -> None:
        """Nothing: the inner model loads when a prompt is not cached."""

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        key = _key(messages)
        if key not in self.store:
            pieces = list(self.inner.stream(messages))
            self.store[key] = [
                pieces,
                self.inner.usage.prompt_tokens,
                self.inner.usage.completion_tokens,
            ]
            self.path.write_text(json.dumps(self.store))
        pieces, prompt, completion = self.store[key]
        self.usage = Usage(prompt, completion)
        yield from pieces


def cached_generator(settings: Settings, cache: Path) -> CachedGenerator:
    """The settings' answer model, its answers cached in `cache` by prompt."""
    generator = make_generator(
        settings.model, settings.n_ctx, settings.max_answer_tokens, settings.temperature,
        settings.n_threads,
    )  # fmt: skip
    return CachedGenerator(generator, cache)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", type=Path, default=ROOT / "evals" / "seed.jsonl")
    parser.add_argument("--model")
    parser.add_argument("--index")
    parser.add_argument("--retrieval")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--policies", nargs="+", choices=POLICIES, default=list(POLICIES))
    parser.add_argument("--show", action="store_true", help="print each unsupported sentence")
    args = parser.parse_args()
    settings = load_settings(model=args.model, index=args.index, retrieval=args.retrieval)
    name = f"{args.dataset.stem}-{settings.model}-{settings.retrieval}"
    cache = args.cache or Path("/tmp") / f"rag-answers-{name}.json"
    out = args.out or ROOT / "benchmarks" / "results" / f"verify-policies-{name}.json"
    items = load_dataset(args.dataset)
    rows = {}
    assistant = Assistant.from_settings(settings)
    assistant.generator = CachedGenerator(assistant.generator, cache)
    for policy in args.policies:
        assistant.settings = settings.replace(
            verify=policy != "no-verify", unsupported=policy if policy != "no-verify" else "keep"
        )
        report = run_eval(assistant, items, SupportJudge(assistant.retriever.embedder))
        print(format_report(report, f"{name} {policy}").split("failures")[0], flush=True)
        rows[policy] = report["summary"]
        if args.show:
            for r in report["results"]:
                if r["unsupported_facts"]:
                    print(f"  {r['id']} {r['question']}\n    -> {r['answer']}")
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(
        "| policy | correct | abstention | false abst. | cit. recall | cit. precision | verbatim |"
    )
    print("|---|---|---|---|---|---|---|")
    for policy, s in rows.items():
        a, r, c = s["answers"], s["refusals"], s["citations"]
        cells = [
            a["correct"],
            r["abstention"],
            r["false_abstention"],
            c["recall"],
            c["precision"],
            c["verbatim_quotes"],
        ]
        print(
            f"| {policy} | "
            + " | ".join("—" if v is None else f"{100 * v:.0f}%" for v in cells)
            + " |"
        )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
