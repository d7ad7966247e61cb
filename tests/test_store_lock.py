"""One writer per index: a second build waits for the first and keeps what it stored."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rag.articles import make_article
from rag.cli import main
from rag.errors import RagError
from rag.locking import lock_file
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent


class HeldEmbedder(FakeEmbedder):
    """Embeds only once `release` is set, so a test can hold a build in the middle."""

    def __init__(self) -> None:
        super().__init__()
        self.started, self.release = threading.Event(), threading.Event()

    def embed(self, texts: list[str]) -> np.ndarray:
        self.started.set()
        assert self.release.wait(10)
        return super().embed(texts)


def wait_for(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_two_concurrent_writers_both_keep_their_articles(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    first = [make_article(tmp_path / "a.txt", "a", "Alpha council met on Monday.")]
    second = [make_article(tmp_path / "b.txt", "b", "Beta harbour opened on Friday.")]
    held, said, errors = HeldEmbedder(), [], []

    def build(articles, embedder, say=None) -> None:
        try:
            build_index(path, articles, embedder, 40, 0, say=say)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)

    one = threading.Thread(target=build, args=(first, held))
    one.start()
    assert held.started.wait(10)  # the first writer is embedding, holding the lock
    two = threading.Thread(target=build, args=(second, FakeEmbedder(), said.append))
    two.start()
    wait_for(lambda: said)
    assert said == [f"waiting for pid {os.getpid()}, which is writing {path} ..."]
    assert not (path / "manifest.json").exists()  # the second one really waited
    held.release.set()
    one.join(10)
    two.join(10)
    assert errors == []
    index = Index(path)
    assert {a.source for a in index.articles()} == {
        str((tmp_path / "a.txt").resolve()),
        str((tmp_path / "b.txt").resolve()),
    }
    index.close()


def test_no_wait_fails_at_once_naming_the_other_process(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from rag.locking import writer_lock\n"
         "from pathlib import Path\n"
         "with writer_lock(Path(sys.argv[1]), True, print):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(30)\n", str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        docs = [make_article(tmp_path / "a.txt", "a", "Alpha.")]
        with pytest.raises(RagError) as caught:
            build_index(path, docs, FakeEmbedder(), 40, 0, wait=False)
        assert str(caught.value) == (
            f"pid {holder.pid} is writing {path}; try again when it is done, or leave out --no-wait"
        )
        assert "\n" not in str(caught.value) and not path.exists()
    finally:
        holder.kill()
        holder.wait()
    # A killed holder leaves its lock file, but no lock: the next writer goes straight in.
    assert lock_file(path).is_file()
    build_index(path, [make_article(tmp_path / "a.txt", "a", "Alpha.")], FakeEmbedder(), 40, 0)
    assert len(Index(path).articles()) == 1


def test_cli_no_wait_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import rag.embedding
    from rag.locking import writer_lock

    monkeypatch.setattr(rag.embedding, "make_embedder", lambda name: FakeEmbedder())
    (tmp_path / "a.txt").write_text("Alpha\n\nThe council met.", encoding="utf-8")
    path = tmp_path / "idx"
    with writer_lock(path, True, print):  # this process holds it, through another descriptor
        code = main(["index", str(tmp_path / "a.txt"), "--index", str(path), "--no-wait"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: pid ") and f"is writing {path}" in err
