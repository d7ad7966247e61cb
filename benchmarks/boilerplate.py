"""Boilerplate chunks in the eight RealTime QA weeks, before and after `rag.boilerplate`.

Usage: .venv/bin/python benchmarks/boilerplate.py [--out benchmarks/results/boilerplate.json]

Each week's articles are chunked as `rag index` chunks them (60 tokens, one sentence overlap):
"before" from the raw search results (title, blank line, text; deduplicated by url), "after"
from `rag.feeds.read_feed`, which drops boilerplate lines at ingest. A chunk counts as
boilerplate when at least half of its characters lie on lines that the JUDGE patterns below
match. JUDGE is a separate, broader list written for this measurement (any line pitching a
newsletter or subscription, ad or video furniture, "More:"/"Related:" links, share and cookie
text), not the rules under test, so the "after" number is not the rules grading themselves.
Samples of the chunks judged boilerplate are written out for a reader to check. No model needed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.chunking import chunk_text  # noqa: E402
from rag.feeds import read_feed  # noqa: E402

WEEKS = ROOT.parent / "shared" / "corpora" / "realtimeqa"
CHUNK_TOKENS, OVERLAP = 60, 1
BOILERPLATE_SHARE = 0.5  # of a chunk's characters on judged lines

JUDGE = re.compile(
    r"(?i)("
    r"\bnewsletter\b.*\b(sign up|subscribe|inbox)\b|\b(sign up|subscribe)\b.*\bnewsletter\b"
    r"|\b(delivered|sent|straight|right) to your inbox\b"
    r"|\bsubscri(be|ber|bing|ption)\b.*\b(journalism|today|here|offer|digital access)\b"
    r"|\bsupport(ing)? (our|local|strong local) journalism\b"
    r"|ad feedback|relevant is this ad|video player|ad froze|^\W*advertisement\W*$"
    r"|\d{1,2}:\d{2} - source: \w+"
    r"|^\W*(more|related|see also|also read|read more|watch)\s*:"
    r"|^\W*(read more|up next|related stories)\W*$"
    r"|\bshare (this|on)\b.{0,20}$|^\W*copy link\W*$"
    r"|\bcookies?\b.*\b(accept|policy|consent|settings|we use)\b"
    r"|javascript is (not available|disabled)|enable javascript"
    r"|content partner|daily crossword|voter guide|the short list"
    r"|we will use the (details|information) you have shared"
    r")"
)


def raw_articles(gcs: Path) -> list[str]:
    """Texts as the search results give them (title first), one per url, nothing dropped."""
    texts: dict[str, str] = {}
    for line in gcs.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        for r in json.loads(line)["search_result"]:
            title, body = str(r.get("title") or "").strip(), str(r.get("text") or "").strip()
            if body and r["url"] not in texts:
                texts[r["url"]] = f"{title}\n\n{body}" if title else body
    return list(texts.values())


def judged_share(text: str) -> float:
    """Share of a chunk's non-space characters on lines JUDGE matches."""
    total = sum(len(line.strip()) for line in text.split("\n"))
    flagged = sum(len(line.strip()) for line in text.split("\n") if JUDGE.search(line.strip()))
    return flagged / total if total else 0.0


def measure(texts: list[str]) -> tuple[int, list[str]]:
    """(number of chunks, the chunks judged boilerplate)."""
    chunks = [
        c.text for i, t in enumerate(texts) for c in chunk_text(str(i), t, CHUNK_TOKENS, OVERLAP)
    ]
    return len(chunks), [c for c in chunks if judged_share(c) >= BOILERPLATE_SHARE]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/boilerplate.json")
    args = parser.parse_args()
    started = time.perf_counter()
    weeks: dict[str, dict[str, object]] = {}
    totals = {"before": [0, 0], "after": [0, 0]}
    samples: dict[str, list[str]] = {"before": [], "after": []}
    for gcs in sorted(WEEKS.glob("*_gcs.jsonl")):
        row: dict[str, object] = {}
        for name, texts in (
            ("before", raw_articles(gcs)),
            ("after", [a.text for a in read_feed(gcs)]),
        ):
            n, flagged = measure(texts)
            row[name] = {"articles": len(texts), "chunks": n, "boilerplate": len(flagged),
                         "share": round(len(flagged) / n, 4)}  # fmt: skip
            totals[name][0] += n
            totals[name][1] += len(flagged)
            samples[name] += flagged
        weeks[gcs.name.removesuffix("_gcs.jsonl")] = row
        print(gcs.name, row, flush=True)
    rng = random.Random(0)
    result = {
        "definition": (
            f"a chunk ({CHUNK_TOKENS} cl100k tokens, {OVERLAP} sentence overlap) is boilerplate "
            f"when >= {BOILERPLATE_SHARE:.0%} of its non-space characters are on lines matched "
            "by the JUDGE patterns in benchmarks/boilerplate.py (written apart from the rules "
            "in rag/boilerplate.py)"
        ),
        "total": {
            name: {"chunks": n, "boilerplate": b, "share": round(b / n, 4)}
            for name, (n, b) in totals.items()
        },
        "weeks": weeks,
        "samples": {
            name: rng.sample(found, min(15, len(found))) for name, found in samples.items()
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result["total"]), f"-> {args.out}")


if __name__ == "__main__":
    main()
