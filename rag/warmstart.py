"""Warm start from disk: the evaluated llama.cpp state of the prompt's fixed prefix, saved once.

Owns: the state files in cache_dir()/"states", their names, their format and restoring one into
a fresh llama.cpp context. A name hashes the model file (path, size, mtime), the llama.cpp
version, n_ctx and the exact prefix tokens, so a changed prompt or model never meets a stale
state. A file is checksummed and written via temp + rename; a missing, stale or damaged one only
costs evaluating the prefix again (and is replaced). Finding the prefix is `generation`'s job.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.models import cache_dir

log = logging.getLogger(__name__)

MAGIC = b"rag-kv-state-1\n"
KEEP = 3  # states per model file; older ones belong to earlier prompts


def state_path(model: Path, n_ctx: int, prefix: Sequence[int]) -> Path:
    import llama_cpp

    stat = model.stat()
    key = [str(model.resolve()), stat.st_size, stat.st_mtime_ns, n_ctx, llama_cpp.__version__]
    digest = hashlib.sha256(json.dumps(key).encode())
    digest.update(np.asarray(prefix, dtype="<i4").tobytes())
    return cache_dir() / "states" / f"{model.stem}-{digest.hexdigest()[:16]}.state"


def write_state(path: Path, tokens: Sequence[int], data: bytes) -> None:
    """MAGIC, SHA-256 of the body, body = token count, tokens, llama.cpp state bytes."""
    body = struct.pack("<I", len(tokens)) + np.asarray(tokens, dtype="<i4").tobytes() + data
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as fh:
            fh.write(MAGIC + hashlib.sha256(body).digest() + body)
        tmp.replace(path)  # readers see the old file or the whole new one, never a half
    finally:
        tmp.unlink(missing_ok=True)
    _prune(path)


def _prune(path: Path) -> None:
    """Keep the newest KEEP states of this model file; older ones belong to earlier prompts and
    each is tens of megabytes."""
    stem = path.name[: -len("-0123456789abcdef.state")]
    with contextlib.suppress(OSError):  # another process may be pruning too
        states = sorted(
            path.parent.glob(f"{stem}-{'?' * 16}.state"),
            key=lambda p: p.stat().st_mtime_ns,
            reverse=True,
        )
        for old in states[KEEP:]:
            old.unlink(missing_ok=True)


def read_state(path: Path) -> tuple[list[int], bytes] | None:
    """The tokens and state bytes of a file, or None when it is missing or damaged."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 32
    body = raw[head:]
    if raw[: len(MAGIC)] != MAGIC or hashlib.sha256(body).digest() != raw[len(MAGIC) : head]:
        return None
    if len(body) < 4:
        return None
    (n,) = struct.unpack_from("<I", body)
    if len(body) < 4 + 4 * n:
        return None
    tokens = np.frombuffer(body, dtype="<i4", count=n, offset=4).tolist()
    return tokens, body[4 + 4 * n :]


def _snapshot(llm: Any) -> bytes:
    """The context's llama.cpp state (its KV cache) as bytes, like Llama.save_state without the
    logits copy that would make it hundreds of megabytes."""
    import llama_cpp

    size = llama_cpp.llama_state_get_size(llm.ctx)
    buf = (ctypes.c_uint8 * size)()
    n = llama_cpp.llama_state_get_data(llm.ctx, buf, size)
    return bytes(buf)[:n]


def _restore(llm: Any, tokens: list[int], data: bytes) -> bool:
    """Put saved state into the context; llama-cpp-python then matches a prompt against
    `input_ids` and evaluates only what follows the prefix."""
    import llama_cpp

    if not data:
        return False
    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    if llama_cpp.llama_state_set_data(llm.ctx, buf, len(data)) != len(data):
        return False  # llama.cpp refused it: another build, or bytes gone bad before writing
    llm.input_ids[: len(tokens)] = tokens
    llm.n_tokens = len(tokens)
    return True


def warm(llm: Any, prefix: list[int], path: Path) -> bool:
    """Bring a fresh context to the state after `prefix`: from `path` when it holds exactly
    that prefix (True), otherwise by evaluating it and saving the file for next time (False)."""
    saved = read_state(path)
    if saved is not None and saved[0] == prefix and _restore(llm, prefix, saved[1]):
        log.debug("warm start: %d prefix tokens loaded from %s", len(prefix), path)
        return True
    if saved is None and path.exists():
        log.info("warm start: replacing damaged state file %s", path)
    llm.reset()  # forget anything a failed restore left; eval() clears the KV cache from 0
    llm.eval(prefix)
    try:
        write_state(path, prefix, _snapshot(llm))
        log.debug("warm start: %d prefix tokens saved to %s", len(prefix), path)
    except OSError as exc:  # a read-only cache only costs the prefix again next time
        log.info("warm start: cannot save %s: %s", path, exc)
    return False
