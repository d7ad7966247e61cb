"""Wire copies: is the threshold right, how many copies are there, and what collapsing does.

Usage: .venv/bin/python benchmarks/wires.py [--weeks 20220701 ...] [--no-bbc] [--bbc-limit N]
           [--no-retrieval] [--cache DIR] [--out FILE]

1. Separation: every labelled pair of evals/wire_pairs.jsonl (read and labelled copy / not
   copy) with its exact Jaccard on 3- and 5-word shingles, and the errors of each threshold.
2. Groups, per set (each RealTime QA week, as `rag eval` indexes it; BBC's 2,225 articles as
   benchmarks/retrieval_modes.py indexes them, without their headlines): articles indexed,
   groups with more than one member (and how many are one text filed twice), and the copies
   collapsing removes (articles minus groups).
3. Retrieval (real MiniLM, hybrid, no LLM), top 5 as `rag.evaluation` ranks them:
   - RealTime QA: recall@5 = the gold option is named in a top-5 passage (`named_options`, as
     `rag.evaluation._rank`), for the multiple-choice question text;
   - BBC: known-item search by headline: recall@5 = the article itself (or, once collapsed, the
     copy it is cited from: same group) in the top 5;
   - duplicates: top-5 passages from an article whose story (group) an earlier passage of
     another article already showed.
   Three variants: `without` = `Retriever` over an index that reports no groups (retrieval as
   it was); `collapsed_after` = collapse(without) (copies dropped, nothing refills);
   `retriever` = `Retriever` as wired (copies skipped while choosing, so other stories refill
   the top 5, then `collapse` for the citation and `also_in`).

Indexes: the RealTime QA weeks in indexes/ (`realtimeqa_index`, shared with `rag eval`), BBC in
--cache (default /tmp/rag-bench-indexes/bbc-2225, shared with retrieval_modes.py). Reads
../shared in place. Writes benchmarks/results/wires.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.articles import Article, make_article  # noqa: E402
from rag.datasets import load_dataset, realtimeqa_articles, realtimeqa_index  # noqa: E402
from rag.embedding import make_embedder  # noqa: E402
from rag.questions import named_options  # noqa: E402
from rag.records import Passage  # noqa: E402
from rag.retrieval import Retriever  # noqa: E402
from rag.store import Index, build_index  # noqa: E402
from rag.wires import THRESHOLD, Grouper, collapse, jaccard, shingles  # noqa: E402

SHARED = ROOT.parent / "shared"
WEEKS = SHARED / "corpora" / "realtimeqa"
BBC = SHARED / "corpora" / "bbc"
LABELS = ROOT / "evals" / "wire_pairs.jsonl"
K = 5
CHUNK_TOKENS, CHUNK_OVERLAP = 60, 1  # the defaults (rag.config)


def bbc_articles(limit: int | None) -> list[tuple[Article, str]]:
    """(article without its headline, headline), as benchmarks/retrieval_modes.py reads them."""
    out = []
    for path in sorted(BBC.glob("*/*.txt"))[:limit]:
        raw = path.read_text(encoding="utf-8", errors="replace").strip()
        headline, _, body = raw.partition("\n")
        out.append((make_article(path, path.parent.name + "/" + path.stem, body.strip()), headline))
    return out


def separation(texts: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Jaccard of each labelled pair at 3 and 5 words, and each threshold's errors."""
    pairs = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines()]
    rows = []
    for p in pairs:
        a, b = texts[p["set"]][p["a"]], texts[p["set"]][p["b"]]
        j = {n: round(jaccard(shingles(a, n), shingles(b, n)), 3) for n in (3, 5)}
        rows.append(
            {
                "set": p["set"],
                "a": p["a"],
                "b": p["b"],
                "copy": p["copy"],
                **{f"j{n}": j[n] for n in j},
            }
        )
    out: dict[str, Any] = {"pairs": len(rows), "copies": sum(r["copy"] for r in rows)}
    for n in (3, 5):
        key = f"j{n}"
        copies = [r[key] for r in rows if r["copy"]]
        others = [r[key] for r in rows if not r["copy"]]
        errors = {
            f"{t / 100:.2f}": sum(c < t / 100 for c in copies) + sum(o >= t / 100 for o in others)
            for t in range(30, 81, 5)
        }
        out[f"{n}_words"] = {
            "lowest_copy": min(copies),
            "highest_not_copy": max(others),
            "errors_by_threshold": errors,
        }
    out["chosen"] = {"shingle_words": 5, "threshold": THRESHOLD}
    out["rows"] = rows
    return out


def group_stats(articles: list[Article], index: Index | None) -> dict[str, int]:
    """Articles indexed, groups with more than one member (and how many of those are the very
    same text filed twice), and the copies collapsing removes. From the index when built, else
    from a Grouper fed the articles in the order the store adds them."""
    if index is not None:
        articles = index.articles()
        groups = [index.group_of(a.id) for a in articles]
    else:
        grouper = Grouper()
        groups = [grouper.add(a) for a in articles]
    texts: dict[int | None, set[str]] = {}
    sizes: dict[int | None, int] = {}
    for a, g in zip(articles, groups, strict=True):
        sizes[g] = sizes.get(g, 0) + 1
        texts.setdefault(g, set()).add(a.sha256)
    return {
        "indexed": len(articles),
        "groups": len(sizes),
        "groups_with_copies": sum(1 for n in sizes.values() if n > 1),
        "of_which_identical_texts": sum(
            1 for g, n in sizes.items() if n > 1 and len(texts[g]) == 1
        ),
        "copies_collapsed": len(articles) - len(sizes),
        "largest_group": max(sizes.values(), default=0),
    }


def duplicates(passages: list[Passage], index: Index) -> int:
    """Passages from an article whose group another article's passage already showed."""
    shown: dict[int | str, str] = {}
    dup = 0
    for p in passages:
        g = index.group_of(p.chunk.article_id)
        key: int | str = g if g is not None else p.chunk.article_id
        if shown.setdefault(key, p.chunk.article_id) != p.chunk.article_id:
            dup += 1
    return dup


Relevant = Callable[[Passage], bool]


class Ungrouped:
    """An index that reports no wire-copy groups: retrieval as it was before collapsing."""

    def __init__(self, index: Index) -> None:
        self._index = index

    def group_of(self, article_id: str) -> None:
        return None

    def group_members(self, group_id: int) -> list[str]:
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def retrieval(index: Index, embedder: Any, queries: list[tuple[str, Relevant]]) -> dict[str, Any]:
    """Top 5 without collapsing, with `collapse` applied afterwards (copies dropped, nothing
    refills), and as `Retriever` does it (copies skipped while choosing, so others refill)."""
    before = Retriever(Ungrouped(index), embedder, "hybrid")  # type: ignore[arg-type]
    wired = Retriever(index, embedder, "hybrid")
    variants: dict[str, list[list[Passage]]] = {
        "without": [],
        "collapsed_after": [],
        "retriever": [],
    }
    started = time.perf_counter()
    for query, _ in queries:
        top = before.retrieve(query, K, -1.0, 10**9)
        variants["without"].append(top)
        variants["collapsed_after"].append(collapse(top, index))
        variants["retriever"].append(wired.retrieve(query, K, -1.0, 10**9))
    out: dict[str, Any] = {
        "queries": len(queries),
        "seconds": round(time.perf_counter() - started, 1),
    }
    for name, tops in variants.items():
        hits = [any(rel(p) for p in top[:K]) for top, (_, rel) in zip(tops, queries, strict=True)]
        dups = [duplicates(top[:K], index) for top in tops]
        out[name] = {
            f"recall@{K}": round(sum(hits) / len(hits), 4) if hits else None,
            "duplicate_passages_in_top5": sum(dups),
            "queries_with_duplicates": sum(1 for d in dups if d),
            "mean_passages": round(sum(len(t[:K]) for t in tops) / max(len(tops), 1), 2),
            "passages_with_also_in": sum(1 for t in tops for p in t[:K] if p.also_in),
        }
    return out


def rtqa_set(qa: Path, articles: list[Article], embedder: Any) -> dict[str, Any]:
    index = None
    if embedder is not None:
        started = time.perf_counter()
        path = realtimeqa_index(qa, embedder, CHUNK_TOKENS, CHUNK_OVERLAP)
        print(f"{qa.name}: index {path} ready in {time.perf_counter() - started:.0f} s", flush=True)
        index = Index(path)
    row: dict[str, Any] = group_stats(articles, index)
    if index is not None:
        queries: list[tuple[str, Relevant]] = [
            (it.question, lambda p, it=it: it.gold in named_options(p.chunk.text, it.choices))  # type: ignore[misc]
            for it in load_dataset(qa)
        ]
        row["retrieval"] = retrieval(index, embedder, queries)
        index.close()
    return row


def bbc_set(bbc: list[tuple[Article, str]], embedder: Any, cache: Path) -> dict[str, Any]:
    index = None
    if embedder is not None:
        path = cache / f"bbc-{len(bbc)}"
        started = time.perf_counter()
        build_index(path, [a for a, _ in bbc], embedder, CHUNK_TOKENS, CHUNK_OVERLAP)
        print(f"bbc: index {path} ready in {time.perf_counter() - started:.0f} s", flush=True)
        index = Index(path)
    row: dict[str, Any] = group_stats([a for a, _ in bbc], index)
    if index is not None:
        # An article skipped at ingest (its text was already indexed) is found as that one.
        indexed = {a.id for a in index.articles()}
        stored = {a.sha256: a.id for a in index.articles()}

        def same_story(target: str, idx: Index = index) -> Relevant:
            group = idx.group_of(target)
            return lambda p: (
                p.chunk.article_id == target
                or (group is not None and idx.group_of(p.chunk.article_id) == group)
            )

        queries = [(h, same_story(a.id if a.id in indexed else stored[a.sha256])) for a, h in bbc]
        row["retrieval"] = retrieval(index, embedder, queries)
        index.close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", nargs="*", help="e.g. 20220701 (default: every week)")
    parser.add_argument("--no-bbc", action="store_true")
    parser.add_argument("--bbc-limit", type=int, help="only the first N BBC files")
    parser.add_argument("--no-retrieval", action="store_true", help="separation and groups only")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/rag-bench-indexes"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/wires.json")
    args = parser.parse_args()
    bbc = bbc_articles(args.bbc_limit)
    texts: dict[str, dict[str, str]] = {"bbc": {a.title + ".txt": a.text for a, _ in bbc}}
    weeks = {qa: realtimeqa_articles(qa)[1] for qa in sorted(WEEKS.glob("*_qa.jsonl"))}
    for qa, articles in weeks.items():
        texts[f"realtimeqa/{qa.name[:8]}"] = {a.id: a.text for a in articles}
    report: dict[str, Any] = {"separation": separation(texts), "sets": {}}
    for n in (3, 5):
        s = report["separation"][f"{n}_words"]
        print(f"{n}-word shingles: lowest copy {s['lowest_copy']}, highest not-copy "
              f"{s['highest_not_copy']}, errors by threshold {s['errors_by_threshold']}", flush=True)  # fmt: skip
    embedder = None if args.no_retrieval else make_embedder("all-minilm-l6-v2")
    # The sets with the most copies first, and the report rewritten after each, so a run cut
    # short still says what it measured.
    chosen = [qa for qa in weeks if not args.weeks or qa.name[:8] in args.weeks]
    copies = {qa: group_stats(weeks[qa], None)["copies_collapsed"] for qa in chosen}  # ~1 s
    by_name = {f"realtimeqa/{qa.name[:8]}": qa for qa in sorted(chosen, key=lambda q: -copies[q])}
    names = ["bbc"] * (not args.no_bbc) + list(by_name)
    for name in names:
        if name == "bbc":
            row = bbc_set(bbc, embedder, args.cache)
        else:
            row = rtqa_set(by_name[name], weeks[by_name[name]], embedder)
        report["sets"][name] = row
        print(name, json.dumps(row), flush=True)
        report["totals"] = {
            key: sum(r[key] for r in report["sets"].values())
            for key in (
                "indexed",
                "groups_with_copies",
                "of_which_identical_texts",
                "copies_collapsed",
            )
        }
        args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
