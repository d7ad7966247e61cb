"""SIGKILL during `rag index --store` leaves the Postgres store as it was: a run is one
transaction, so the articles it had already inserted vanish with it, and the writer's lock
goes with its connection."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_pgstore import postgres

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"


def rag(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def ids(store: str, cwd: Path) -> list[str]:
    done = rag("list", "--json", "--store", store, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return sorted(json.loads(line)["id"] for line in done.stdout.splitlines())


def test_a_killed_index_run_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / SEED.name).write_text(SEED.read_text(encoding="utf-8"), "utf-8")
    (tmp_path / "more").mkdir()
    for i in range(60):  # enough chunks that embedding them outlasts the kill
        text = " ".join(f"Report {i} says the plan changed in week {j}." for j in range(40))
        (tmp_path / "more" / f"a{i:03d}.txt").write_text(f"Article {i}\n\n{text}", "utf-8")
    with postgres() as store:
        assert rag("index", "seeds", "--store", store, cwd=tmp_path).returncode == 0
        before = ids(store, tmp_path)
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag", "index", "more", "--store", store],
            cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stderr is not None
        # "embedding: 0/N chunks" comes once the new articles' rows are in, uncommitted.
        for line in proc.stderr:
            if line.startswith("embedding: 0/"):
                break
        else:
            pytest.fail("rag index ended before it began embedding")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert ids(store, tmp_path) == before
        done = rag("index", "seeds", "--no-wait", "--store", store, cwd=tmp_path)
        assert done.returncode == 0, done.stderr  # no lock left behind
        assert "0 new or changed" in done.stdout
