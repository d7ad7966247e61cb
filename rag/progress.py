"""Progress as plain lines, for logs and pipes.

Owns: deciding when a long run says how far it got. When stderr is not a terminal tqdm draws
nothing, and indexing thousands of articles would otherwise be silent for many minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

EVERY_SHARE = 0.1  # a line per tenth of the work...
EVERY_SECONDS = 30.0  # ...or per half minute when a tenth takes longer


def plain_progress(
    label: str,
    unit: str,
    write: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[int, int], None]:
    """An on_progress(done, total) callback that writes "LABEL: DONE/TOTAL UNIT" at the start,
    then every tenth of the total or every 30 s, whichever comes first, and at the end."""
    last_time = clock()
    last_share = -1.0

    def progress(done: int, total: int) -> None:
        nonlocal last_time, last_share
        if total <= 0:
            return  # nothing to do, nothing to say
        share, now = done / total, clock()
        if done >= total or share - last_share >= EVERY_SHARE or now - last_time >= EVERY_SECONDS:
            write(f"{label}: {done}/{total} {unit}")
            last_time, last_share = now, share

    return progress


def bar_progress(bar: Any) -> Callable[[int, int], None]:
    """An on_progress(done, total) callback that moves a tqdm bar."""

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return progress
