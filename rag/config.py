"""One frozen Settings object: defaults < rag.toml < RAG_* environment variables < CLI flags.

This module only knows names, types and precedence. What a setting means is up to the stage
that reads it; resolving a model preset or an index name happens in `models` and `store`.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from rag.errors import RagError

CONFIG_FILE = "rag.toml"


@dataclass(frozen=True)
class Settings:
    index: str = "default"  # a name under indexes/ or a folder path
    model: str = "qwen2.5-coder-1.5b"  # a preset name or a path to a .gguf file
    embedder: str = "all-minilm-l6-v2"  # the bundled model, or a sentence-transformers folder
    chunk_tokens: int = 60  # target chunk size in cl100k tokens
    chunk_overlap: int = 1  # sentences carried over from one chunk to the next
    top_k: int = 4  # passages given to the model
    retrieval: str = "hybrid"  # hybrid | dense | lexical (see rag/retrieval.py)
    min_score: float = 0.18  # cosine below which a passage counts as irrelevant
    context_tokens: int = 900  # token budget for the passages in the prompt
    max_answer_tokens: int = 200
    n_ctx: int = 2048
    n_threads: int = 0  # 0 = all cores
    temperature: float = 0.0
    verify: bool = True  # check answers against the passages (rag/verification.py)
    unsupported: str = "mark"  # a sentence no passage supports: mark | drop | keep
    max_file_mb: float = 10.0  # larger uploads are refused; larger CLI inputs get a warning
    max_question_chars: int = 2000  # longer questions are refused before anything loads

    def replace(self, **changes: Any) -> Settings:
        """A copy with the non-None changes applied."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is bool and isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError):
        raise RagError(f"setting {name!r} must be {kind.__name__}, got {value!r}") from None


def _types() -> dict[str, type]:
    defaults = Settings()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(Settings)}


def load_settings(
    config_file: Path | None = None,
    env: dict[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Merge the layers in order; unknown keys in rag.toml are an error, not silently ignored."""
    types = _types()
    values: dict[str, Any] = {}
    path = config_file or Path(CONFIG_FILE)
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise RagError(f"cannot read {path}: {exc}") from None
        for key, value in data.items():
            if key not in types:
                raise RagError(f"unknown setting {key!r} in {path}; known: {', '.join(types)}")
            values[key] = _coerce(key, value, types[key])
    environ = os.environ if env is None else env
    for key, kind in types.items():
        raw = environ.get(f"RAG_{key.upper()}")
        if raw not in (None, ""):
            values[key] = _coerce(key, raw, kind)
    for key, value in flags.items():
        if value is not None:
            if key not in types:
                raise RagError(f"unknown setting {key!r}")
            values[key] = _coerce(key, value, types[key])
    return Settings(**values)
