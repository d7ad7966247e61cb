"""`rag eval` and `rag eval --calibrate`: the command-line side of the evaluation.

Owns: reading the datasets named on the command line (RealTime QA weeks get their index built),
running them through one Assistant, the progress bars, the printed report and the JSON file.
Leaves grading and metrics to `evaluation` and the support judge's fit to `calibration`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from rag.batches import check_question
from rag.config import Settings
from rag.errors import RagError
from rag.progress import bar_progress

SettingsOf = Callable[[argparse.Namespace], Settings]  # the flags read into Settings (cli.py)


def recorded(settings: Settings) -> dict[str, Any]:
    """The settings an eval report records: all but the model server's key, a secret, and the
    store's URL without its password (which host and database were asked is worth keeping)."""
    from rag.pgstore import redact

    kept = {k: v for k, v in asdict(settings).items() if k != "llm_key"}
    return {**kept, "store": redact(settings.store)}


def _ticker(bar: Any) -> Callable[[Any], None]:
    """An on_item callback that moves a tqdm bar by one."""
    return lambda _: bar.update()


def cmd_eval(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from tqdm import tqdm

    from rag.assistant import Assistant
    from rag.datasets import expand, is_realtimeqa, load_dataset, realtimeqa_index
    from rag.embedding import make_embedder
    from rag.evaluation import format_report, format_table, run_eval
    from rag.support import SupportJudge

    if args.calibrate:
        return _calibrate(args, settings_of)
    if not args.dataset:
        raise RagError("give --dataset FILE (or --calibrate LABELS)")
    if args.limit is not None and args.limit < 1:
        raise RagError(f"--limit must be at least 1, got {args.limit}")  # -1 would drop the last
    settings = settings_of(args)
    paths = expand(args.dataset)
    for path in paths:
        if not path.is_file():
            raise RagError(f"no dataset file {path}")
    datasets = [(p, load_dataset(p, args.open_questions)[: args.limit]) for p in paths]
    # One over-long question would otherwise stop the run after the model loaded.
    for path, items in datasets:
        for item in items:
            try:
                check_question(item.question, settings.max_question_chars)
            except RagError as exc:
                raise RagError(f"{path}, question {item.id}: {exc}") from None
    generator = None
    reports: dict[str, dict[str, Any]] = {}
    for path, items in datasets:
        if is_realtimeqa(path):
            embedder = make_embedder(settings.embedder)
            indexing = tqdm(
                desc=f"indexing {path.name}", unit="chunk", file=sys.stderr, disable=None
            )
            index_path = realtimeqa_index(
                path,
                embedder,
                settings.chunk_tokens,
                settings.chunk_overlap,
                bar_progress(indexing),
            )
            indexing.close()
            settings = settings.replace(index=str(index_path))
        assistant = Assistant.from_settings(settings, generator)
        assistant.load()
        generator = assistant.generator
        judge = SupportJudge(assistant.retriever.embedder)
        bar = tqdm(
            total=len(items), desc=f"eval {path.name}", unit="q", file=sys.stderr, disable=None
        )
        report = run_eval(assistant, items, judge, on_item=_ticker(bar))
        bar.close()
        report["settings"] = {
            "dataset": str(path), "open": args.open_questions, **recorded(assistant.settings)
        }  # fmt: skip
        reports[path.name] = report
        print(format_report(report, f"{path} with {settings.model}"), flush=True)
    if len(reports) > 1:
        print(format_table(reports))
    if args.json_out:
        out: dict[str, Any] = (
            next(iter(reports.values())) if len(reports) == 1 else {"datasets": reports}
        )
        args.json_out.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"results written to {args.json_out}")
    return 0


def _calibrate(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    from rag.calibration import calibrate, load_labels
    from rag.embedding import make_embedder
    from rag.support import SupportJudge

    labels = load_labels(args.calibrate)
    judge = SupportJudge(make_embedder(settings_of(args).embedder))
    result = calibrate(judge, labels)
    print(f"support judge vs {len(labels)} hand labels ({judge.weights})")
    for name, scores in (("shipped weights", result.current), ("refitted", result.refit)):
        for split, sc in scores.items():
            print(
                f"  {name:<15} {split:<5} {sc.pairs:>4} pairs ({sc.positives} supported): "
                f"precision {_pct(sc.precision)}  recall {_pct(sc.recall)}  "
                f"agreement {_pct(sc.agreement)}"
            )
    print(f"  refitted on the fit split: {result.fitted}")
    return 0


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"
