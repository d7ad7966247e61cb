""" "What did X say (about Y)?" questions through the real Assistant: X's own words, or not.

Usage: .venv/bin/python benchmarks/said.py [--split SPLIT] [--no-model] [--show]

Questions are evals/said.jsonl: each names its speaker and the offsets of that speaker's own
words in its article (none for the two questions whose right answer is that the articles do
not quote X on that). The seed questions are asked against a fresh index of seeds/ (built in a
temporary folder), the RealTime QA ones against that week's index (`realtimeqa_index`, built or
reused under indexes/), with the default settings, as `rag ask` would.

Per split:
- own_words: of the questions with labelled quotes, the answers with a citation that overlaps
  one of X's labelled quotes (or, in another article, shares 80% of its words: the same
  remark as another outlet transcribed it);
- own_words_other_labelled_article: answers not counted in own_words with a citation that
  overlaps a quote evals/quotes.jsonl gives X in another article (the heldout2 questions have
  X's quotes labelled in every article of the week that quotes X); own_words_share counts both;
- misattributed: answers with a quoted span presented as X's that is not X's: every quote
  of the quote path, and every quoted string of a model answer found in a cited article. A
  span is X's when it overlaps a labelled quote of X (evals/said.jsonl, then evals/quotes.jsonl
  for the articles labelled there) or, in X's labelled article, has the same words as one; in
  an unlabelled article, when `extract_quotes` gives it to X;
- x_quoted_from_unlabelled_articles: answers not counted in own_words whose quotes all come
  from articles without labels, given to X by `extract_quotes` (X's words by the text, but not
  checked against a label);
- not_quoted: of the questions without labelled quotes, answers that say the articles do not
  quote X.
- path: "quotes" (answered in code, no model), "not quoted + model", "model" (X named nowhere).

`--no-model` answers with a stub that always refuses instead of the LLM (quick development
runs; the quote path never asks the model anyway). RealTime QA text is never written to the
results file; `--show` prints answers to the terminal.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.articles import find_files, load_articles  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.chunking import count_tokens  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.datasets import realtimeqa_index  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.generation import Generator, Message, Usage, make_generator  # noqa: E402
from rag.quotes import extract_quotes  # noqa: E402
from rag.records import REFUSAL, Answer  # noqa: E402
from rag.speakers import speaker_matches  # noqa: E402
from rag.store import Index, build_index  # noqa: E402

QUESTIONS = ROOT / "evals" / "said.jsonl"
LABELS = ROOT / "evals" / "quotes.jsonl"
SEEDS = ROOT / "seeds"
WEEKS = ROOT.parent / "shared" / "corpora" / "realtimeqa"
OUT = ROOT / "benchmarks" / "results" / "said.json"
NOT_QUOTED = "The articles do not quote"
QUOTED = re.compile(r"“([^”]{3,})”|«([^»]{3,})»|\"([^\"]{3,})\"")


class Refuser:
    """--no-model: refuses every question, so only the quote path can answer."""

    usage = Usage()
    temperature = 0.0

    def load(self) -> None:
        pass

    def count_tokens(self, text: str) -> int:
        return count_tokens(text)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        yield REFUSAL


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


SAME_WORDS = 0.8  # another transcription of the same statement shares most of its words


def labelled(row: dict[str, Any], source: str, start: int, end: int, words: str) -> bool:
    """The span is one of X's labelled quotes: by offsets in the labelled article; in another
    article, by its words (a wire copy, or another outlet's transcription of the same remark,
    "what he didn't want, but" for "what he did not want, that's")."""
    if source == row["article"]:
        # or the same words again: a headline repeating X's quote ("McCarthy says Jordan should
        # 'fight through it'"), where the labels keep only the body's copy.
        return any(overlaps((start, end), (q["start"], q["end"])) for q in row["quotes"]) or any(
            plain(words) == plain(label) for label in row["words"]
        )
    said = set(plain(words).split())
    return len(said) >= 4 and any(
        len(said & set(plain(label).split()))
        >= SAME_WORDS * min(len(said), len(plain(label).split()))
        for label in row["words"]
    )


def same(label: str | None, speaker: str) -> bool:
    return label is not None and (
        label.lower() == speaker.lower()
        or speaker_matches(speaker, label)
        or speaker_matches(label, speaker)
    )


def spans_as_x(answer: Answer, texts: dict[str, str]) -> list[tuple[str, int, int]]:
    """(article source, start, end) of every span the answer presents as X's words."""
    if answer.citations and answer.timings.first_token_s is None:  # the quote path
        return [(c.source, c.start, c.end) for c in answer.citations]
    found = []
    for m in QUOTED.finditer(answer.answer):
        words = next(g for g in m.groups() if g).strip(" ,.")
        for c in answer.citations:
            at = texts[c.source].find(words)
            if at >= 0:
                found.append((c.source, at, at + len(words)))
                break
    return found


def is_x(
    row: dict[str, Any],
    span: tuple[str, int, int],
    labels: dict[str, list[dict[str, Any]]],
    text: str,
) -> bool:
    source, start, end = span
    if labelled(row, source, start, end, text[start:end]):
        return True
    if source in labels:  # every attributed quote of this article is labelled
        return any(
            overlaps((start, end), (q["start"], q["end"])) and same(q["speaker"], row["speaker"])
            for q in labels[source]
        )
    return any(
        overlaps((start, end), (q.start, q.end)) and same(row["speaker"], q.speaker)
        for q in extract_quotes(text)
    )


def path_of(answer: Answer) -> str:
    if answer.answer.startswith(NOT_QUOTED):
        return "not quoted + model"
    if answer.citations and answer.timings.first_token_s is None:
        return "quotes"
    return "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split", help="one split of evals/said.jsonl (dev, dev2, heldout2 ... heldout8)"
    )
    parser.add_argument("--no-model", action="store_true", help="a refusing stub, not the LLM")
    parser.add_argument("--show", action="store_true", help="print every answer")
    args = parser.parse_args()
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if not args.split or r["split"] == args.split]
    if not rows:
        sys.exit(f"no questions in split {args.split!r} of {QUESTIONS}")
    settings = Settings()  # the defaults, as a fresh clone has them
    seed_file = next(iter(find_files([SEEDS])))
    for row in rows:
        row["article"] = str(seed_file.resolve()) if row["source"] == "seed" else row["url"]
    labels: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in LABELS.read_text().splitlines():
        if line.strip():
            q = json.loads(line)
            labels[str(seed_file.resolve()) if q["source"] == "seed" else q["url"]].append(q)
    embedder = make_embedder(settings.embedder)
    generator: Generator = (
        Refuser()
        if args.no_model
        else make_generator(
            settings.model,
            settings.n_ctx,
            settings.max_answer_tokens,
            settings.temperature,
            settings.n_threads,
        )  # fmt: skip
    )
    tmp = Path(tempfile.mkdtemp(prefix="said-"))
    assistants: dict[str, Assistant] = {}

    def assistant_for(source: str) -> Assistant:
        if source not in assistants:
            if source == "seed":
                path = tmp / "seeds"
                build_index(
                    path, load_articles(find_files([SEEDS]), print), embedder,
                    settings.chunk_tokens, settings.chunk_overlap,
                )  # fmt: skip
            else:
                qa = WEEKS / source.replace("_gcs.jsonl", "_qa.jsonl")
                path = realtimeqa_index(qa, embedder, settings.chunk_tokens, settings.chunk_overlap)
            assistants[source] = Assistant(settings, Index(path), embedder, generator)
        return assistants[source]

    per_split: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    items = []
    for row in rows:
        assistant = assistant_for(row["source"])
        # RealTime QA labels carry offsets only: the words are read from the indexed article.
        article = next(a for a in assistant.index.articles() if a.source == row["article"])
        row["words"] = [article.text[q["start"] : q["end"]] for q in row["quotes"]]
        started = time.perf_counter()
        answer = assistant.ask(row["question"])
        seconds = time.perf_counter() - started
        texts = {c.source: assistant.index.article(c.article_id).text for c in answer.citations}
        own = bool(row["quotes"]) and any(
            labelled(row, c.source, c.start, c.end, c.quote) for c in answer.citations
        )
        wrong = [s for s in spans_as_x(answer, texts) if not is_x(row, s, labels, texts[s[0]])]
        own_other = (
            bool(row["quotes"])
            and not own
            and any(
                overlaps((c.start, c.end), (q["start"], q["end"]))
                and same(q["speaker"], row["speaker"])
                for c in answer.citations
                for q in labels.get(c.source, [])
            )
        )
        # Not the labelled quotes, but X's per extract_quotes in an article without labels.
        elsewhere = (
            bool(row["quotes"])
            and not own
            and not own_other
            and not wrong
            and bool(answer.citations)
            and all(c.source != row["article"] and c.source not in labels for c in answer.citations)
        )
        not_quoted = not row["quotes"] and answer.answer.startswith(NOT_QUOTED)
        stats = per_split[row["split"]]
        stats["questions"] += 1
        stats["with_quotes"] += bool(row["quotes"])
        stats["own_words"] += own
        stats["own_words_other_labelled_article"] += own_other
        stats["misattributed"] += bool(wrong)
        stats["x_quoted_from_unlabelled_articles"] += elsewhere
        stats["no_quotes"] += not row["quotes"]
        stats["not_quoted"] += not_quoted
        stats[f"path: {path_of(answer)}"] += 1
        stats["seconds"] += seconds
        item = {
            "split": row["split"],
            "source": row["source"],
            "question": row["question"],
            "path": path_of(answer),
            "own_words": own,
            "own_words_other_labelled_article": own_other,
            "misattributed": len(wrong),
            "x_quoted_from_unlabelled_articles": elsewhere,
            "not_quoted": not_quoted if not row["quotes"] else None,
            "seconds": round(seconds, 3),
        }
        if row["source"] == "seed":
            item["answer"] = answer.answer
        items.append(item)
        if args.show:
            flag = "OWN" if own else ("NOTQ" if not_quoted else "----")
            print(f"[{flag}{' WRONG' if wrong else ''}] {row['question']}\n    {answer.answer}")
    splits = {}
    for split, stats in sorted(per_split.items()):
        n = stats["questions"]
        splits[split] = {
            **{k: v for k, v in stats.items() if k != "seconds"},
            "own_words_share": round(
                (stats["own_words"] + stats["own_words_other_labelled_article"])
                / max(1, stats["with_quotes"]),
                3,
            ),
            "mean_seconds": round(stats["seconds"] / max(1, n), 3),
        }
    result = {
        "model": "stub (--no-model)" if args.no_model else settings.model,
        "embedder": settings.embedder,
        "top_k": settings.top_k,
        "indexes": {
            source: "seeds/ (fresh, temporary)" if source == "seed" else a.index.path.name
            for source, a in assistants.items()
        },
        "splits": splits,
        "items": items,
    }
    print(json.dumps(splits, indent=1))
    if not args.split and not args.no_model:
        OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
