"""A failed write (full disk, no permission) is one line and leaves the old index whole; a damaged
index is rebuilt by the command its error message names."""

from __future__ import annotations

import shlex
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import rag.embedding
import rag.store
from rag.articles import find_files, load_articles
from rag.cli import main
from rag.errors import RagError
from rag.store import DATABASE, MANIFEST, VECTORS, Index, build_index
from tests.fakes import FakeEmbedder


@pytest.fixture(autouse=True)
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rag.embedding, "make_embedder", lambda name: FakeEmbedder())


def write(folder: Path, **texts: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / f"{name}.txt").write_text(f"{name.title()}\n\n{text}", encoding="utf-8")
    return [folder / f"{name}.txt" for name in texts]


def build(path: Path, files: list[Path]) -> None:
    build_index(path, load_articles(files, print), FakeEmbedder(), 60, 1)


def snapshot(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in path.iterdir()}


def titles(path: Path) -> list[str]:
    index = Index(path)
    try:
        return sorted(a.title for a in index.articles())
    finally:
        index.close()


def raiser(error: BaseException) -> Any:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    return fail


FAILURES = {
    "faiss disk full": (
        "faiss.write_index",
        RuntimeError(
            "Error in faiss::FileIOWriter::operator() at io.cpp:120: write error:\n"
            "No space left on device"
        ),  # fmt: skip
        "No space left on device (vectors.faiss)",
    ),
    "sqlite disk full": (
        "_insert_article",
        sqlite3.OperationalError("database or disk is full"),
        "database or disk is full",
    ),
    "manifest permission": (
        "json.dumps",
        PermissionError(13, "Permission denied", "manifest.json"),
        "Permission denied: manifest.json",
    ),
}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_write_is_one_line_and_the_old_index_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    path = tmp_path / "idx"
    build(path, write(tmp_path / "in", alpha="The council met."))
    before = snapshot(path)
    target, error, reason = FAILURES[failure]
    owner, name = target.rsplit(".", 1) if "." in target else ("", target)
    module = {"": rag.store, "faiss": rag.store.faiss, "json": rag.store.json}[owner]
    monkeypatch.setattr(module, name, raiser(error))
    with pytest.raises(RagError) as caught:
        build(path, write(tmp_path / "in", beta="The harbour opened."))
    message = str(caught.value)
    assert message == f"cannot write index {path}: {reason}; nothing was changed"
    monkeypatch.undo()
    assert snapshot(path) == before and titles(path) == ["Alpha"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".idx.lock", "idx", "in"]


def test_a_full_disk_under_faiss_is_caught_not_a_truncated_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """faiss's own writer only prints a failed close; the vectors go through a Python file."""
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    path = tmp_path / "idx"
    build(path, write(tmp_path / "in", alpha="The council met."))
    real_open = open
    monkeypatch.setattr(
        rag.store, "open", lambda f, mode: real_open("/dev/full", mode), raising=False
    )
    with pytest.raises(RagError, match="No space left on device"):
        build(path, write(tmp_path / "in", beta="The harbour opened."))
    monkeypatch.undo()
    assert titles(path) == ["Alpha"]


def test_a_refused_swap_puts_the_old_index_back_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "idx"
    files = write(tmp_path / "in", alpha="The council met.")
    build(path, files)
    before = snapshot(path)
    rename = Path.rename

    def refuse_the_new_copy(self: Path, target: Any) -> Any:
        if self.name.startswith(".idx.tmp-"):
            raise PermissionError(13, "Permission denied", str(target))
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse_the_new_copy)
    more = write(tmp_path / "in", beta="The harbour opened.")
    code = main(["index", *map(str, files + more), "--index", str(path)])
    monkeypatch.undo()
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert code == 1
    assert errors == [
        f"error: cannot write index {path}: Permission denied: {path}; nothing was changed"
    ]
    assert snapshot(path) == before and not (tmp_path / ".idx.old").exists()


def rebuild_hint(message: str) -> list[str]:
    """The argv of the `rag ...` command an error message ends with."""
    return shlex.split(message.split("rebuild it with: ", 1)[1])[1:]


@pytest.mark.parametrize("damage", ["garbage", "deleted", "empty"])
def test_a_damaged_store_is_rebuilt_by_the_hinted_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    path = tmp_path / "idx"
    build(path, write(tmp_path / "in", alpha="The council met.", beta="The harbour opened."))
    if damage == "deleted":
        (path / DATABASE).unlink()
    else:
        (path / DATABASE).write_bytes(b"" if damage == "empty" else b"\x13garbage, not sqlite" * 50)
    assert main(["list", "--index", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"rag index --rebuild --index {path}" in err
    assert main(rebuild_hint(err)) == 0
    out, err = capsys.readouterr()
    assert "2 articles (2 new or changed)" in out
    assert "rebuilding from the 2 files the manifest names" in err
    assert titles(path) == ["Alpha", "Beta"]
    assert main(["list", "--index", str(path)]) == 0


def test_a_rebuild_without_store_or_manifest_takes_the_files_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "idx"
    files = write(tmp_path / "in", alpha="The council met.", beta="The harbour opened.")
    build(path, files)
    (path / DATABASE).write_bytes(b"garbage" * 100)
    (path / MANIFEST).write_text("{not json")
    before = snapshot(path)
    # Nothing names the articles any more: the error says how to go on, and nothing is touched.
    assert main(["index", "--rebuild", "--index", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"rag index --rebuild --index {path} FILES..." in err
    assert snapshot(path) == before
    assert main(["index", "--rebuild", "--index", str(path), *map(str, files)]) == 0
    assert titles(path) == ["Alpha", "Beta"]


def test_a_rebuild_keeps_the_files_it_finds_and_counts_the_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "idx"
    files = write(tmp_path / "in", alpha="The council met.", beta="The harbour opened.")
    build(path, files)
    (path / DATABASE).unlink()
    files[1].unlink()
    assert main(["index", "--rebuild", "--index", str(path)]) == 0
    assert "(1 of them are gone)" in capsys.readouterr().err
    assert titles(path) == ["Alpha"]


def test_every_damage_hint_names_the_index(tmp_path: Path) -> None:
    path = tmp_path / "idx"
    build(path, find_files([write(tmp_path / "in", alpha="The council met.")[0]]))
    (path / VECTORS).write_bytes(b"not faiss")
    with pytest.raises(RagError, match=f"rebuild it with: rag index --rebuild --index {path}$"):
        Index(path)
    (path / MANIFEST).write_text("[]")
    with pytest.raises(RagError, match=f"rebuild it with: rag index --rebuild --index {path}$"):
        Index(path)
    assert main(rebuild_hint(f"rebuild it with: rag index --rebuild --index {path}")) == 0
    assert titles(path) == ["Alpha"]
