"""Wire copies: grouped at ingest, stored, listed, and collapsed to one passage per group."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

import rag.embedding
from rag.articles import Article, Byline, make_article
from rag.cli import main
from rag.records import Answer, Chunk, Passage
from rag.store import DATABASE, Index, build_index
from rag.wires import THRESHOLD, collapse, jaccard, shingles
from tests.fakes import FakeEmbedder

VOCABULARY = (
    "council minister police report market storm election court village bridge river budget "
    "school hospital union strike price energy summit treaty border farmer harbour museum "
    "railway festival league coach player vote tax bank rate inquiry judge airport flight"
)
WORDS = VOCABULARY.split()


def story(seed: int, sentences: int = 14) -> list[str]:
    """A made-up story: sentences of words drawn with a fixed seed (about 150 words)."""
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 14))).capitalize() + "."
        for _ in range(sentences)
    ]


BASE = story(1)
# The same wire story re-run with a new first sentence and one sentence edited.
COPY = ["Officials confirmed the news on Tuesday evening."] + BASE[1:6] + ["An edit."] + BASE[7:]
OTHER = story(2)


def article(
    tmp_path: Path, name: str, sentences: list[str], outlet: str, published: str
) -> Article:
    text = "\n\n".join([name.title(), " ".join(sentences)])
    return make_article(tmp_path / f"{name}.txt", name.title(), text, Byline(outlet, "", published))


@pytest.fixture
def docs(tmp_path: Path) -> dict[str, Article]:
    return {
        "late": article(tmp_path, "late", COPY, "Daily Post", "2022-07-02"),
        "early": article(tmp_path, "early", BASE, "Reuters", "2022-07-01"),
        "other": article(tmp_path, "other", OTHER, "Reuters", "2022-07-01"),
    }


def test_the_made_up_copies_are_near_copies_and_the_other_story_is_not() -> None:
    assert jaccard(shingles(" ".join(BASE)), shingles(" ".join(COPY))) >= THRESHOLD
    assert jaccard(shingles(" ".join(BASE)), shingles(" ".join(OTHER))) < 0.1
    assert shingles("Too short to say anything about copies.") == set()


def test_near_copies_share_a_group_and_the_earliest_copy_represents_it(
    tmp_path: Path, embedder: FakeEmbedder, docs: dict[str, Article]
) -> None:
    path = tmp_path / "idx"
    build_index(path, list(docs.values()), embedder, 40, 0)  # the later copy is indexed first
    index = Index(path)
    early, late, other = (docs[k].id for k in ("early", "late", "other"))
    group = index.group_of(early)
    assert group is not None and index.group_of(late) == group
    assert index.group_of(other) != group
    assert index.group_members(group) == [early, late]  # by date, not by indexing order
    infos = {a.id: a for a in index.article_infos()}
    assert (infos[late].copy_of, infos[early].copy_of, infos[other].copy_of) == (early, "", "")


def test_a_new_article_joins_the_group_it_matches(
    tmp_path: Path, embedder: FakeEmbedder, docs: dict[str, Article]
) -> None:
    path = tmp_path / "idx"
    build_index(path, [docs["early"], docs["other"]], embedder, 40, 0)
    before = Index(path)
    groups = {a: before.group_of(docs[a].id) for a in ("early", "other")}
    before.close()
    undated = article(tmp_path, "undated", COPY, "Wire", "")
    build_index(path, [docs["late"], undated], embedder, 40, 0)
    index = Index(path)
    assert {a: index.group_of(docs[a].id) for a in groups} == groups  # kept articles stay put
    group = groups["early"]
    assert group is not None
    assert index.group_members(group) == [docs["early"].id, docs["late"].id, undated.id]


def test_an_index_without_groups_stands_alone_until_indexed_again(
    tmp_path: Path, embedder: FakeEmbedder, docs: dict[str, Article]
) -> None:
    path = tmp_path / "idx"
    build_index(path, list(docs.values()), embedder, 40, 0)
    db = sqlite3.connect(path / DATABASE)
    db.execute("DROP TABLE groups")  # as an index written before groups existed
    db.commit()
    db.close()
    old = Index(path)
    assert old.group_of(docs["early"].id) is None and old.group_members(0) == []
    assert collapse([passage(1, docs["early"], BASE[2])], old)[0].also_in == ()
    old.close()
    calls = embedder.calls
    build_index(path, [], embedder, 40, 0)  # nothing changed, but the groups are added
    index = Index(path)
    assert embedder.calls == calls  # no re-embedding
    assert index.group_of(docs["early"].id) == index.group_of(docs["late"].id) is not None


def passage(n: int, a: Article, text: str, score: float = 0.5) -> Passage:
    start = a.text.index(text)
    chunk = Chunk(f"{a.id}:{n}", a.id, text, start, start + len(text))
    return Passage(n, chunk, a.title, a.source, score, a.outlet, a.url, a.published, a.authors)


def test_collapse_keeps_one_passage_per_group_cited_from_the_earliest_copy(
    tmp_path: Path, embedder: FakeEmbedder, docs: dict[str, Article]
) -> None:
    path = tmp_path / "idx"
    build_index(path, list(docs.values()), embedder, 40, 0)
    index = Index(path)
    early, late, other = docs["early"], docs["late"], docs["other"]
    ranked = [
        passage(1, late, BASE[3], 0.9),  # best ranked, but the earliest copy ran it first
        passage(2, other, OTHER[1], 0.8),
        passage(3, early, BASE[3], 0.7),  # the same passage again: dropped
        passage(4, early, BASE[8], 0.6),  # another copy's passage of the same story: dropped
    ]
    out = collapse(ranked, index)
    assert [p.n for p in out] == [1, 2]
    first = out[0]
    assert (first.chunk.article_id, first.outlet, first.published) == (
        early.id,
        "Reuters",
        "2022-07-01",
    )
    assert early.text[first.chunk.start : first.chunk.end] == first.chunk.text == BASE[3]
    assert first.score == 0.9 and first.also_in == ("Daily Post",)
    assert out[1].chunk.article_id == other.id and out[1].also_in == ()
    # Two passages of one article both stay: only other copies of a story are dropped.
    same = collapse([passage(1, other, OTHER[1]), passage(2, other, OTHER[5])], index)
    assert [p.chunk.text for p in same] == [OTHER[1], OTHER[5]]
    # A passage only the later copy has stays cited from it.
    only_late = collapse([passage(1, late, COPY[0])], index)[0]
    assert only_late.chunk.article_id == late.id and only_late.also_in == ("Reuters",)
    # One story cites one copy: the earliest lacks one of the kept texts, so neither moves.
    both = collapse([passage(1, late, BASE[3]), passage(2, late, COPY[0])], index)
    assert [p.chunk.article_id for p in both] == [late.id, late.id]
    assert Answer("q", "a", False, [], out).to_dict()["passages"][0]["also_in"] == ["Daily Post"]


def test_rag_list_shows_which_article_is_a_copy(
    tmp_path: Path,
    embedder: FakeEmbedder,
    docs: dict[str, Article],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(rag.embedding, "make_embedder", lambda name: FakeEmbedder())
    path = tmp_path / "idx"
    build_index(path, list(docs.values()), embedder, 40, 0)
    assert main(["list", "--index", str(path)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines[docs["late"].id].endswith(f"(copy of {docs['early'].id})")
    assert "copy of" not in lines[docs["early"].id] + lines[docs["other"].id]
    assert main(["list", "--json", "--index", str(path)]) == 0
    rows = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert rows[docs["late"].id]["copy_of"] == docs["early"].id
    assert rows[docs["late"].id]["group"] == rows[docs["early"].id]["group"] is not None


def test_removing_the_earliest_copy_leaves_the_next_one_representing_the_group(
    tmp_path: Path, embedder: FakeEmbedder, docs: dict[str, Article]
) -> None:
    path = tmp_path / "idx"
    build_index(path, list(docs.values()), embedder, 40, 0)
    build_index(path, [], embedder, 40, 0, remove=[docs["early"].id])
    index = Index(path)
    group = index.group_of(docs["late"].id)
    assert group is not None and index.group_members(group) == [docs["late"].id]
    assert all(a.copy_of == "" for a in index.article_infos())


def test_an_edited_copy_that_no_longer_matches_leaves_its_group(
    tmp_path: Path, embedder: FakeEmbedder, docs: dict[str, Article]
) -> None:
    path = tmp_path / "idx"
    build_index(path, list(docs.values()), embedder, 40, 0)
    rewritten = article(tmp_path, "late", story(3), "Daily Post", "2022-07-02")
    assert rewritten.id == docs["late"].id
    build_index(path, [rewritten], embedder, 40, 0)
    index = Index(path)
    groups = {index.group_of(a.id) for a in docs.values()}
    assert len(groups) == 3 and None not in groups
