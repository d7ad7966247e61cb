"""SIGKILL during `rag index` must leave the previous index usable: the build writes a sibling
temp folder and only swaps it in at the end, so a killed build never touches the live one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"
ENV = {**os.environ, "RAG_MODEL": "smollm2-135m", "RAG_MAX_ANSWER_TOKENS": "16"}
WORDS = [
    "market",
    "council",
    "river",
    "engine",
    "harvest",
    "signal",
    "travel",
    "garden",
    "budget",
    "winter",
    "station",
]


def rag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=cwd, env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def write_articles(folder: Path, count: int) -> None:
    """Enough text that embedding it takes far longer than the moment we kill it."""
    folder.mkdir()
    for i in range(count):
        sentences = [
            f"Report {i} says the {WORDS[(i + j) % len(WORDS)]} plan changed in week {j}."
            for j in range(40)
        ]
        (folder / f"article_{i:04d}.txt").write_text(
            f"Article {i}\n\n" + " ".join(sentences), encoding="utf-8"
        )


def kill_once_building(proc: subprocess.Popen[str], index: Path, timeout: float = 40.0) -> None:
    """SIGKILL `proc` a moment after its temp folder appears, i.e. in the middle of the build."""
    deadline = time.monotonic() + timeout
    tmp = index.with_name(f".{index.name}.tmp-{proc.pid}")
    while not (tmp / "store.sqlite").exists():
        assert proc.poll() is None, f"the build ended before it could be killed: {proc.stderr}"
        assert time.monotonic() < deadline, "the build never started writing its temp folder"
        time.sleep(0.05)
    time.sleep(1.5)  # into chunking and embedding
    assert proc.poll() is None, "the build finished too fast to be killed midway"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_killed_index_build_leaves_the_old_index_usable(tmp_path: Path) -> None:
    index = tmp_path / "idx"
    done = rag("index", str(SEED), "--index", str(index), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    write_articles(tmp_path / "many", 400)

    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "index", str(tmp_path / "many"), "--index", str(index)],
        cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        kill_once_building(proc, index)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL

    listed = rag("list", "--json", "--index", str(index), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [Path(r["source"]).name for r in rows] == [SEED.name]

    asked = rag(
        "ask", "--json", "What did Putin say about the treaty?", "--index", str(index), cwd=tmp_path
    )
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["passages"]

    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "extra.txt").write_text(
        "Extra\n\nThe river station reopened after the winter floods.", encoding="utf-8"
    )
    again = rag("index", str(tmp_path / "more"), "--index", str(index), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "2 articles (1 new or changed)" in again.stdout
    assert not list(tmp_path.glob(".idx.tmp-*"))  # the killed build's leftovers are cleaned up
