"""One frozen Settings object: defaults < rag.toml < RAG_* environment variables < CLI flags.

This module only knows names, types and precedence. What a setting means is up to the stage
that reads it; resolving a model preset or an index name happens in `models` and `store`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    n_threads: int = 0  # decoding threads; 0 = all cores but one (prompt evaluation uses all)
    temperature: float = 0.0
    verify: bool = True  # check answers against the passages (rag/verification.py)
    unsupported: str = "mark"  # a sentence no passage supports: mark | drop | keep
    max_file_mb: float = 10.0  # larger uploads are refused; larger CLI inputs get a warning
    max_question_chars: int = 2000  # longer questions are refused before anything loads
    # An OpenAI-compatible server (e.g. http://127.0.0.1:8080/v1) that answers instead of
    # `model` in-process; "" = in-process. llm_model names the model there ("" = the first it
    # lists); llm_key is its Bearer token, kept out of repr so it never reaches a log line.
    llm_url: str = ""
    llm_model: str = ""
    llm_key: str = field(default="", repr=False)
    # A postgresql:// URL: articles, chunks, vectors and keywords live in that database (see
    # rag/pgstore.py) instead of the folder `index` names; "" = the local folder index. Kept
    # out of repr, as it may hold a password: what shows it shows `pgstore.redact(store)`.
    store: str = field(default="", repr=False)

    def replace(self, **changes: Any) -> Settings:
        """A copy with the non-None changes applied."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


_BOOLEANS = {"1": True, "true": True, "yes": True, "on": True}
_BOOLEANS |= {"0": False, "false": False, "no": False, "off": False}
_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _coerce(name: str, value: Any, kind: type, origin: str) -> Any:
    """The value as `kind`, strictly: "maybe" is not a boolean and 4.7 is not an int."""
    if kind is bool:
        word = str(value).strip().lower()  # TOML gives True/False, the environment strings
        if word in _BOOLEANS:
            return _BOOLEANS[word]
    elif not isinstance(value, bool | list | dict) and not (
        kind is int and isinstance(value, float)
    ):
        try:
            converted = kind(value)
            if not (kind is float and not math.isfinite(converted)):  # nan slips past ranges
                return converted
        except (TypeError, ValueError):
            pass
    raise RagError(f"setting {name} must be {_KINDS[kind]}, got {value!r} (from {origin})")


def _between(low: float, high: float) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: low <= v <= high), f"between {low:g} and {high:g}"


def _at_least(low: int) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v >= low), f"at least {low}"


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_store(value: str) -> bool:
    """ "" or a postgresql:// URL. A password may be in it: every message, log line and eval
    report shows the URL without it (`pgstore.redact`)."""
    return value == "" or urlsplit(value).scheme in ("postgresql", "postgres")


def _one_of(*choices: str) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in choices), "one of " + ", ".join(choices)


# What each setting may be, checked as the settings load, so that a bad value is one clear line
# before any model loads rather than a silent refusal or an error after generating.
CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "top_k": _between(1, 20),  # the same bound as the chat's settings (Assistant.configure)
    "chunk_tokens": _at_least(8),  # chunk_text's own minimum
    "chunk_overlap": _at_least(0),
    "context_tokens": _at_least(1),
    "max_answer_tokens": _at_least(1),
    "n_ctx": _at_least(1),
    "n_threads": _at_least(0),
    "temperature": _between(0, 2),
    "min_score": _between(-1, 1),  # a cosine
    "max_file_mb": ((lambda v: v > 0), "more than 0"),
    "max_question_chars": _at_least(1),
    "retrieval": _one_of("hybrid", "dense", "lexical"),  # rag.retrieval.MODES
    "unsupported": _one_of("mark", "drop", "keep"),  # rag.verification.POLICIES
    "llm_url": (
        (lambda v: v == "" or _is_url(v)),
        "an http:// or https:// URL such as http://127.0.0.1:8080/v1",
    ),
    "store": (
        _is_store,
        "a postgresql://USER[:PASSWORD]@HOST:PORT/DATABASE URL",
    ),
}

# The CLI spells these settings differently from --setting-name.
FLAGS = {"top_k": "--k", "verify": "--no-verify"}


def _check(name: str, value: Any, origin: str) -> None:
    ok, wanted = CHECKS.get(name, (None, ""))
    if ok is not None and not ok(value):
        if name == "store":  # never echo a password back
            from rag.pgstore import redact

            value = redact(value)
        raise RagError(f"setting {name} must be {wanted}, got {value!r} (from {origin})")


def _types() -> dict[str, type]:
    defaults = Settings()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(Settings)}


def load_settings(
    config_file: Path | None = None,
    env: dict[str, str] | None = None,
    **flags: Any,
) -> Settings:
    """Merge the layers in order and check every value given; unknown keys in rag.toml, values
    of the wrong type and values out of range are one-line errors naming where they came from."""
    types = _types()
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}  # setting -> where its value came from, for error messages
    path = config_file or Path(CONFIG_FILE)
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise RagError(f"cannot read {path}: {exc}") from None
        for key, value in data.items():
            if key not in types:
                raise RagError(f"unknown setting {key!r} in {path}; known: {', '.join(types)}")
            values[key] = _coerce(key, value, types[key], str(path))
            origins[key] = str(path)
    environ = os.environ if env is None else env
    for key, kind in types.items():
        raw = environ.get(f"RAG_{key.upper()}")
        if raw not in (None, ""):
            origins[key] = f"RAG_{key.upper()}"
            values[key] = _coerce(key, raw, kind, origins[key])
    for key, value in flags.items():
        if value is not None:
            if key not in types:
                raise RagError(f"unknown setting {key!r}")
            origins[key] = FLAGS.get(key, "--" + key.replace("_", "-"))
            values[key] = _coerce(key, value, types[key], origins[key])
    for key, value in values.items():
        _check(key, value, origins[key])
    return Settings(**values)
