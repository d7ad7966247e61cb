import json
from pathlib import Path

import numpy as np
import pytest

from rag.articles import make_article
from rag.errors import RagError
from rag.store import MANIFEST, Index, build_index
from tests.fakes import FakeEmbedder


def articles(tmp_path: Path, **texts: str):
    return [make_article(tmp_path / f"{name}.txt", name, text) for name, text in texts.items()]


def test_build_search_and_reload(tmp_path: Path, embedder: FakeEmbedder) -> None:
    path = tmp_path / "idx"
    docs = articles(
        tmp_path, cats="Cats purr. Cats sleep a lot.", dogs="Dogs bark loudly. Dogs fetch."
    )
    report = build_index(path, docs, embedder, 40, 0)
    assert (report.articles, report.added, report.chunks) == (2, 2, 2)
    index = Index(path)
    hits = index.search(embedder.embed(["why do dogs bark"])[0], 2)
    assert (
        index.chunks([hits[0][0]])[hits[0][0]].article_id == docs[1].id and hits[0][1] > hits[1][1]
    )
    assert index.keyword_search(["barking"], 5) == [hits[0][0]]  # porter stemming: bark/barking
    assert index.keyword_search(['"odd'], 5) == []
    manifest = json.loads((path / MANIFEST).read_text())
    assert manifest["embedder"] == "fake" and manifest["dim"] == 4096
    assert set(manifest["articles"]) == {d.id for d in docs}


def test_unchanged_articles_are_not_re_embedded(tmp_path: Path, embedder: FakeEmbedder) -> None:
    path = tmp_path / "idx"
    docs = articles(tmp_path, a="Alpha text here.", b="Beta text here.")
    build_index(path, docs, embedder, 40, 0)
    calls = embedder.calls
    report = build_index(path, docs, embedder, 40, 0)
    assert report.added == 0 and embedder.calls == calls and report.articles == 2
    changed = articles(tmp_path, a="Alpha text was edited.")
    report = build_index(path, changed, embedder, 40, 0)
    assert (report.articles, report.added) == (2, 1)
    index = Index(path)
    assert index.article(docs[0].id).text == "Alpha text was edited."
    # Vectors copied across still match their chunks.
    row, score = index.search(embedder.embed(["Beta text here."])[0], 1)[0]
    assert index.chunks([row])[row].text == "Beta text here." and score == pytest.approx(
        1.0, abs=1e-5
    )


def test_interrupted_build_leaves_the_old_index_whole(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    path = tmp_path / "idx"
    build_index(path, articles(tmp_path, a="Alpha."), embedder, 40, 0)
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    class Interrupting(FakeEmbedder):
        def embed(self, texts: list[str]) -> np.ndarray:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_index(path, articles(tmp_path, b="Beta."), Interrupting(name="fake"), 40, 0)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".idx.lock"]


def test_different_settings_need_rebuild(tmp_path: Path, embedder: FakeEmbedder) -> None:
    path = tmp_path / "idx"
    build_index(path, articles(tmp_path, a="Alpha. Beta."), embedder, 40, 0)
    with pytest.raises(RagError, match="--rebuild"):
        build_index(path, [], embedder, 80, 0)
    report = build_index(path, [], embedder, 80, 0, rebuild=True)
    assert (report.articles, report.added) == (1, 1)
    assert json.loads((path / MANIFEST).read_text())["chunk_tokens"] == 80


def test_missing_bad_and_foreign_indexes(tmp_path: Path, embedder: FakeEmbedder) -> None:
    with pytest.raises(RagError, match="rag index"):
        Index(tmp_path / "none")
    path = tmp_path / "idx"
    build_index(path, articles(tmp_path, a="Alpha."), embedder, 40, 0)
    manifest = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(RagError, match="rebuild"):
        Index(path)
    (path / MANIFEST).write_text("{not json")
    with pytest.raises(RagError, match="unreadable manifest"):
        Index(path)
    # --rebuild recovers both: it reads the stored articles, not the manifest.
    assert build_index(path, [], embedder, 40, 0, rebuild=True).articles == 1
    assert (
        Index(path).manifest.format_version
        == json.loads((path / MANIFEST).read_text())["format_version"]
    )
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(RagError, match="not an index"):
        build_index(other, [], embedder, 40, 0)


def test_large_index_switches_to_hnsw_and_still_finds_the_chunk(
    tmp_path: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    import rag.store

    monkeypatch.setattr(rag.store, "APPROXIMATE_ABOVE", 3)
    path = tmp_path / "idx"
    topics = ["cats purr", "dogs bark", "birds sing", "fish swim", "horses gallop", "bees buzz"]
    docs = articles(tmp_path, **{t.split()[1]: f"{t.capitalize()} every morning." for t in topics})
    build_index(path, docs, embedder, 40, 0)
    index = Index(path)
    assert isinstance(index.vectors, faiss.IndexHNSWFlat)
    assert index.vectors.hnsw.efSearch == rag.store.HNSW_EF_SEARCH  # kept in the file
    row, score = index.search(embedder.embed(["Why do horses gallop?"])[0], 3)[0]
    assert index.chunks([row])[row].text == "Horses gallop every morning." and score > 0.5
    assert index.cosine(embedder.embed(["Horses gallop"])[0], [row])[row] == pytest.approx(score)
    index.close()
    # Copying vectors out of an HNSW index into the next build keeps them searchable.
    build_index(path, articles(tmp_path, ants="Ants march in lines."), embedder, 40, 0)
    index = Index(path)
    assert len(index) == 7
    row, score = index.search(embedder.embed(["Bees buzz every morning."])[0], 1)[0]
    assert index.chunks([row])[row].text == "Bees buzz every morning." and score == pytest.approx(
        1.0, abs=1e-5
    )
    index.close()
    monkeypatch.setattr(rag.store, "APPROXIMATE_ABOVE", 100)
    build_index(path, [], embedder, 40, 0, rebuild=True)
    assert isinstance(Index(path).vectors, faiss.IndexFlatIP)


def test_metadata_is_stored_and_read_back(tmp_path: Path, embedder: FakeEmbedder) -> None:
    from rag.articles import Byline

    path = tmp_path / "idx"
    meta = Byline("Reuters", "https://www.reuters.com/x", "2022-06-12", ("Jane Smith", "Tom Lee"))
    doc = make_article(tmp_path / "a.txt", "Harbour", "The council agreed.", meta)
    plain = make_article(tmp_path / "b.txt", "Plain", "No metadata here.")
    build_index(path, [doc, plain], embedder, 40, 0)
    index = Index(path)
    assert index.article(doc.id) == doc and index.article(plain.id) == plain
    info = next(a for a in index.article_infos() if a.id == doc.id)
    assert (info.outlet, info.url, info.published, info.authors) == (
        "Reuters", "https://www.reuters.com/x", "2022-06-12", ("Jane Smith", "Tom Lee")
    )  # fmt: skip
    index.close()
    # Kept across an update that re-embeds another article.
    build_index(path, articles(tmp_path, c="Another story."), embedder, 40, 0)
    assert Index(path).article(doc.id).authors == ("Jane Smith", "Tom Lee")


def test_an_index_of_format_3_asks_for_a_rebuild_and_is_rebuilt(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    import sqlite3

    from rag.store import DATABASE

    path = tmp_path / "idx"
    docs = articles(tmp_path, a="Alpha story.")
    build_index(path, docs, embedder, 40, 0)
    # Make it a format 3 index: the articles table without the metadata columns.
    db = sqlite3.connect(path / DATABASE)
    for column in ("outlet", "url", "published", "authors"):
        db.execute(f"ALTER TABLE articles DROP COLUMN {column}")
    db.commit()
    db.close()
    manifest = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps({**manifest, "format_version": 3}))
    with pytest.raises(RagError, match=f"rebuild it with: rag index --rebuild --index {path}"):
        Index(path)
    # Any build upgrades it, re-embedding what the old table stores.
    assert build_index(path, [], embedder, 40, 0).articles == 1
    assert Index(path).article(docs[0].id).text == "Alpha story."
