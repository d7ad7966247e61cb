import hashlib
from pathlib import Path

import pytest

from rag import models
from rag.errors import RagError
from rag.models import Preset, resolve_model


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(RagError, match="qwen2.5-coder-1.5b.*smollm2-135m"):
        resolve_model("gpt-9")


def test_missing_and_corrupt_gguf_paths(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="does not exist"):
        resolve_model(str(tmp_path / "missing.gguf"))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(RagError, match="not a GGUF"):
        resolve_model(str(bad))


def test_parts_are_assembled_once_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    parts = []
    for i, data in enumerate([b"GGUF" + b"a" * 10, b"b" * 7]):
        part = tmp_path / f"part{i + 1}.bin"
        part.write_bytes(data)
        parts.append(part)
    whole = b"GGUF" + b"a" * 10 + b"b" * 7
    preset = Preset("t", "test", (), len(whole), hashlib.sha256(whole).hexdigest(), "reinstall")
    out = models._assemble(preset, parts)
    assert out.read_bytes() == whole
    mtime = out.stat().st_mtime_ns
    assert models._assemble(preset, parts).stat().st_mtime_ns == mtime  # reused, not rebuilt
    wrong = Preset("u", "test", (), len(whole), "0" * 64, "reinstall")
    with pytest.raises(RagError, match="SHA-256"):
        models._assemble(wrong, parts)
    assert not (tmp_path / "cache" / "models" / "u.gguf").exists()
