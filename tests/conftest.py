from __future__ import annotations

from pathlib import Path

import pytest

from rag.articles import find_files, load_articles
from rag.store import Index, build_index
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_6d30a0e044389692.txt"


@pytest.fixture(autouse=True)
def fresh_quotes(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test extracts quotes afresh: no quotes cached in memory or on disk by another."""
    import rag.quotes

    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setattr(rag.quotes, "cache_dir", lambda: cache)
    rag.quotes._extract.cache_clear()
    rag.quotes._folder.cache_clear()


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
