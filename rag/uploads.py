"""Files uploaded in the chat: checked, then copied beside the index they feed.

Owns: the uploads folder, the type and size checks (a reason to show, not an exception), and
undoing copies when indexing them fails: a new copy is removed and a file it replaced is put
back, so a failed upload leaves uploads/ as it was. Leaves indexing to `Assistant.add_files`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.articles import SUFFIXES
from rag.assistant import Assistant
from rag.store import BuildReport

MB = 1024 * 1024


def uploads_dir(index_path: Path) -> Path:
    """indexes/NAME -> indexes/NAME.uploads: uploaded files live beside the index they feed."""
    return index_path.with_name(index_path.name + ".uploads")


def accept(files: Sequence[Any], max_mb: float) -> tuple[list[Path], list[str]]:
    """The files worth copying, and one reason per file refused.

    Gradio hands over a path or an object with a `.name`; the size is checked before any copy
    or embedding, so an oversize file costs nothing."""
    accepted: list[Path] = []
    refused: list[str] = []
    names: set[str] = set()
    for f in files:
        source = Path(f if isinstance(f, str | Path) else f.name)
        if source.suffix.lower() not in SUFFIXES:
            refused.append(f"{source.name}: not a .txt, .md or .html file")
        elif source.name in names:  # both would be copied to the same place
            refused.append(f"{source.name}: another chosen file has the same name")
        elif (size := source.stat().st_size) > max_mb * MB:
            refused.append(
                f"{source.name} is {size / MB:.1f} MB, over the {max_mb:g} MB limit for uploads"
            )
        else:
            accepted.append(source)
            names.add(source.name)
    return accepted, refused


class Staging:
    """Copies into the uploads folder that can be taken back until they are kept."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.copies: list[Path] = []
        self._replaced: dict[Path, Path] = {}  # copy -> the earlier file it replaced, set aside

    def add(self, source: Path) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / source.name
        if target.exists():
            aside = target.with_name(f".{target.name}.previous")
            os.replace(target, aside)
            self._replaced[target] = aside
        self.copies.append(target)
        shutil.copyfile(source, target)
        return target

    def undo(self, copies: Iterable[Path] | None = None) -> None:
        """Remove these copies (all by default), restoring any file each one replaced."""
        for copy in list(self.copies if copies is None else copies):
            copy.unlink(missing_ok=True)
            if copy in self._replaced:
                os.replace(self._replaced.pop(copy), copy)
            self.copies.remove(copy)

    def keep(self) -> None:
        for aside in self._replaced.values():
            aside.unlink(missing_ok=True)
        self._replaced.clear()


def add_uploads(
    assistant: Assistant,
    sources: Sequence[Path],
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[BuildReport, list[str], int]:
    """Copy `sources` beside the assistant's index and index them. However it ends, no copy is
    left that the index does not hold. Returns (report, warnings, files indexed)."""
    staging = Staging(uploads_dir(assistant.index.path))
    try:
        for source in sources:
            staging.add(source)
        report, warnings = assistant.add_files(staging.copies, on_progress)
    except BaseException:
        staging.undo()
        raise
    indexed = {a.source for a in assistant.article_infos()}
    staging.undo(
        [c for c in staging.copies if str(c.resolve()) not in indexed]
    )  # skipped as unreadable
    staging.keep()
    return report, warnings, len(staging.copies)
