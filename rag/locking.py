"""One writer per index: an exclusive lock on `.NAME.lock` beside the index folder.

Owns: taking and releasing that lock. It sits beside the folder, not in it, because a build
swaps the whole folder. fcntl.flock is released by the kernel when its holder exits or is
killed, so a crashed build never leaves a stale lock; the pid written into the file is only
there to tell a waiting writer whom it waits for. The file itself is never deleted (deleting a
locked file lets a third writer lock a fresh one while the second holds the old).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from rag.errors import RagError


def lock_file(index: Path) -> Path:
    return index.with_name(f".{index.name}.lock")


@contextlib.contextmanager
def writer_lock(index: Path, wait: bool, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the index's writer lock for the `with` block. When another process holds it: wait
    (after one message through `say`), or with wait=False raise a RagError at once."""
    path = lock_file(index)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RagError(f"cannot lock {path}: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                raise RagError(
                    f"{holder} is writing {index}; try again when it is done, or leave out --no-wait"
                ) from None
            say(f"waiting for {holder}, which is writing {index} ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def _holder(fd: int) -> str:
    """'pid 1234', from the file (empty for a moment after the holder took the lock)."""
    pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return f"pid {pid}" if pid.isdigit() else "another process"
