from __future__ import annotations

from pathlib import Path

import pytest

from rag.articles import find_files, load_articles
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"


@pytest.fixture
def seed_text() -> str:
    return SEED.read_text(encoding="utf-8").strip()


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def seed_index(tmp_path: Path, embedder: FakeEmbedder) -> Index:
    path = tmp_path / "idx"
    build_index(path, load_articles(find_files([SEED]), print), embedder, 60, 1)
    index = Index(path)
    yield index
    index.close()
