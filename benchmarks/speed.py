"""`make bench`, speed on a laptop (issue #16): the CPU build, threads with one busy core and the
warm start, each against a baseline measured in the same run.

Usage: .venv/bin/python benchmarks/speed.py [--only build threads warm] [--no-readme]

Runs benchmarks/cpu_build.py, threads.py --default-only and warm_start.py (each in its own
process, one after the other, so they never compete for the cores), writes their results and a
summary to benchmarks/results/speed-DATE.json, and rewrites the table between the
`<!-- speed-table -->` markers in README.md. About 15 minutes on an idle 2-core machine, plus 4
the first time (the portable baseline build). Needs the default preset (make install-models).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
MARKERS = ("<!-- speed-table -->", "<!-- /speed-table -->")
SCRIPTS = {
    "build": ["cpu_build.py"],
    "threads": ["threads.py", "--default-only"],
    "warm": ["warm_start.py"],
}


def run(section: str, work: Path) -> dict[str, Any]:
    out = work / f"{section}.json"
    script, *flags = SCRIPTS[section]
    command = [sys.executable, str(ROOT / "benchmarks" / script), *flags, "--out", str(out)]
    print(f"== {section}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def rows(results: dict[str, Any]) -> list[list[str]]:
    """(measure, this run, same-run baseline, ratio, target) for the README."""
    table = []
    if build := results.get("build"):
        new, old = build["builds"]["this_cpu"], build["builds"]["portable_avx2"]
        kernels = ", ".join(k.split(" =")[0] for k in new["kernels"].split(" | ") if "AVX5" in k)
        table += [
            ["prompt eval, tok/s (raw llama.cpp, 500 tokens)",
             f"{new['prompt_tok_s']} (this CPU's build: {kernels or 'AVX2'})",
             f"{old['prompt_tok_s']} (portable AVX2 build)", f"{build['ratio_prompt_tok_s']}x",
             ">= 1.5x on AVX-512"],
            ["decode, tok/s", str(new["decode_tok_s"]), str(old["decode_tok_s"]),
             f"{build['ratio_decode_tok_s']}x", ""],
        ]  # fmt: skip
    if threads := results.get("threads"):
        run_ = threads["runs"][0]
        quiet, busy = run_["quiet"], run_["one_core_busy"]
        table += [
            ["decode with one other busy core, tok/s", str(busy["decode_tok_s"]),
             f"{quiet['decode_tok_s']} (quiet)", f"{run_['busy_decode_share']}x", ">= 0.70x"],
            ["answer total with one other busy core, s", str(busy["total_s"]),
             f"{quiet['total_s']} (quiet)", f"{run_['busy_over_quiet_total']}x", "<= 1.5x"],
        ]  # fmt: skip
    if warm := results.get("warm"):
        median = warm["median_s"]
        table += [
            ["first token, new `rag ask` process with the saved state, s", str(median["state"]),
             f"{median['in_process']} (warm process)", f"{warm['ratio_state_vs_in_process']}x",
             "<= 1.25x"],
            ["new `rag ask` process, launch to exit, s", f"{median['state_wall']} (with the state)",
             f"{median['cold_wall']} (without it)",
             f"{round(median['state_wall'] / median['cold_wall'], 2)}x", ""],
        ]  # fmt: skip
    return table


def markdown(table: list[list[str]], when: str, load: float) -> str:
    name = next((line.partition(":")[2].strip() for line in _cpuinfo() if "model name" in line), "")
    lines = [
        f"Measured by `make bench` on {when} ({name or 'CPU'}, {os.cpu_count()} cores, 1-min "
        f"load average {load:.2f} at the start); ratios are within one run.",
        "",
        "| measure | this run | baseline, same run | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    return "\n".join(lines)


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    start, end = MARKERS
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(readme):
        print(f"README.md has no {start} markers: table not written there")
        return
    README.write_text(pattern.sub(lambda _: f"{start}\n{text}\n{end}", readme), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(SCRIPTS), default=list(SCRIPTS))
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    opts = parser.parse_args()
    load = os.getloadavg()[0]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="speed-") as work:
        for section in opts.only:
            results[section] = run(section, Path(work))
    when = time.strftime("%Y-%m-%d %H:%M")
    table = rows(results)
    summary = {"date": when, "load_average_1min_at_start": round(load, 2), "table": table}
    out = RESULTS / f"speed-{time.strftime('%Y-%m-%d')}.json"
    out.write_text(json.dumps({**summary, "results": results}, indent=1) + "\n", encoding="utf-8")
    text = markdown(table, when, load)
    print(text)
    if not opts.no_readme:
        write_readme(text)
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
