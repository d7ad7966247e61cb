"""The chat's logic without a browser: a real Assistant over a real index, with the fake
embedder and a scripted model, driven through the same handlers the Gradio app calls."""

from __future__ import annotations

import asyncio
import html
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from gradio.state_holder import SessionState

from rag.articles import find_files, load_articles
from rag.assistant import Assistant
from rag.chat import ChatHandlers, build_app, check_exposure, parse_auth
from rag.cli import main
from rag.config import Settings
from rag.errors import RagError
from rag.generation import Message
from rag.render import (
    Turn,
    export_markdown,
    highlight,
    paragraph_number,
    render_answer,
    render_sources,
)
from rag.store import Index, build_index
from rag.uploads import uploads_dir
from tests.fakes import FakeEmbedder, ScriptedGenerator
from tests.test_assistant import GatedEmbedder

# Verification is off: these tests are about showing answers, not about which ones survive checks.
SETTINGS = Settings(top_k=3, min_score=0.1, chunk_tokens=60, verify=False)
QUESTION = "What did Putin say about the treaty?"
REPLY = "Putin said the treaty is not a mutual defense agreement [1]."


def no_progress(*args: Any, **kwargs: Any) -> None:
    pass


def make(
    index: Index, embedder: FakeEmbedder, *replies: str, settings: Settings = SETTINGS
) -> ChatHandlers:
    return ChatHandlers(Assistant(settings, index, embedder, ScriptedGenerator(*replies)))


def final(
    handlers: ChatHandlers,
    question: str,
    turns: list[Turn] | None = None,
    prefs: dict[str, Any] | None = None,
) -> Any:
    """Run one chat turn to the end; returns (all updates, last update)."""
    updates = list(handlers.ask(question, turns or [], prefs))
    return updates, updates[-1]


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


BRIDGE = "# Springfield bridge\n\nThe bridge opens in May.\n"


def marked(sources_html: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r"<mark>(.*?)</mark>", sources_html)]


def test_the_chat_streams_then_shows_linked_markers_and_highlighted_sources(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    h = make(seed_index, embedder, REPLY)
    updates, (messages, sources, turns, box) = final(h, QUESTION)
    assert len(updates) > 3  # the question, then the answer piece by piece, then the sources
    assert "rag-streaming" in updates[1][0][-1]["content"]
    assert "Searching" in updates[1][1]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert box == "" and len(turns) == 1
    answer = turns[0].answer
    assert answer is not None and answer.citations
    quote = answer.citations[0].quote
    link = re.search(
        r'<a class="rag-cite" href="#src-1" title="([^"]*)">\[1\]</a>', messages[1]["content"]
    )
    assert link and quote in html.unescape(link.group(1))  # the quote shows on hover
    assert 'id="src-1"' in sources and quote in marked(sources)
    assert "paragraph " in sources
    assert re.search(r"\d+\.\d s · \d passages?", messages[1]["content"])  # the cost line


def test_the_quote_is_highlighted_by_offsets_inside_its_passage(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    h = make(seed_index, embedder, REPLY)
    _, (_, sources, turns, _) = final(h, QUESTION)
    answer = turns[0].answer
    c = answer.citations[0]
    passage = next(p for p in answer.passages if p.n == c.n)
    card = re.search(r'id="src-1".*?<blockquote[^>]*>(.*?)</blockquote>', sources).group(1)
    before = card.split("<mark>")[0]
    text = passage.chunk.text
    assert html.unescape(before.replace("<br>", "\n")) == text[: c.start - passage.chunk.start]
    # A repeated phrase: only the span the offsets name is marked, not the first match.
    assert highlight("treaty; the treaty", [(12, 18)]) == "treaty; the <mark>treaty</mark>"
    assert highlight("a<b>c", [(1, 4)]) == "a<mark>&lt;b&gt;</mark>c"
    assert highlight("abcdef", [(0, 2), (1, 4), (9, 12)]) == "<mark>abcd</mark>ef"


def test_paragraph_numbers_count_blank_line_separated_paragraphs_of_the_body() -> None:
    text = "Title\n\nFirst paragraph.\n\n  \nSecond one, here.\nStill second."
    assert paragraph_number(text, text.index("First"), "Title") == 1
    assert paragraph_number(text, text.index("Still"), "Title") == 2
    assert paragraph_number(text, text.index("Still")) == 3  # headline counted without a title


def test_article_and_answer_text_is_escaped_never_raw_html(
    tmp_path: Path, embedder: FakeEmbedder
) -> None:
    evil = tmp_path / "evil.txt"
    evil.write_text(
        "Bridge <script>alert(1)</script> news\n\n"
        "The mayor of Springfield said the bridge <b>opens</b> in May.\n",
        encoding="utf-8",
    )
    build_index(tmp_path / "idx", load_articles(find_files([evil]), print), embedder, 60, 1)
    index = Index(tmp_path / "idx")
    h = make(index, embedder, "The bridge opens in May <img src=x onerror=alert(1)> [1].")
    _, (messages, sources, turns, _) = final(h, "When does the Springfield bridge open?")
    shown = messages[1]["content"] + sources + messages[0]["content"]
    assert "<script>" not in shown and "<img" not in shown and "<b>opens" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in sources
    assert "&lt;img src=x onerror=alert(1)&gt;" in messages[1]["content"]
    _, (messages, _, _, _) = final(h, "<i>hi</i> bridge?")
    assert "&lt;i&gt;hi&lt;/i&gt;" in messages[0]["content"]
    index.close()


def test_follow_ups_pass_the_earlier_questions_as_history(
    seed_index: Index, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make(seed_index, embedder, REPLY, "In St. Petersburg [1].")
    seen: list[list[str]] = []
    real = h.assistant.stream

    def spy(question: str, history: Any = (), **prefs: Any) -> Iterator[Any]:
        seen.append(list(history))
        return real(question, history, **prefs)

    monkeypatch.setattr(h.assistant, "stream", spy)
    _, (_, _, turns, _) = final(h, QUESTION)
    _, (messages, _, turns, _) = final(h, "And where did he say it?", turns)
    assert seen == [[], [QUESTION]]
    assert len(turns) == 2 and len(messages) == 4


def test_errors_become_friendly_messages(seed_index: Index, embedder: FakeEmbedder) -> None:
    h = make(seed_index, embedder)
    _, (messages, sources, turns, _) = final(h, "treaty " * 2000)
    assert "Sorry: the question is" in messages[-1]["content"] and "tokens long" in turns[0].error
    assert "Traceback" not in messages[-1]["content"]

    class Broken(ScriptedGenerator):
        def stream(self, messages: list[Message]) -> Iterator[str]:
            yield "Putin "
            raise RuntimeError("llama exploded")

    h.assistant.generator = Broken()
    _, (messages, _, turns, _) = final(h, QUESTION, turns)
    assert "something went wrong (RuntimeError)" in messages[-1]["content"]
    assert (
        "llama exploded" not in messages[-1]["content"]
        and "Traceback" not in messages[-1]["content"]
    )
    assert len(turns) == 2 and turns[1].answer is None
    updates = list(h.ask("   ", turns))
    assert len(updates) == 1 and len(updates[0][2]) == 2  # blank input asks nothing


def test_abstentions_show_the_closest_passages(seed_index: Index, embedder: FakeEmbedder) -> None:
    h = make(seed_index, embedder, "The articles don't say.")
    _, (messages, sources, turns, _) = final(h, "What did Putin say about the treaty's price?")
    assert turns[0].answer.abstained and turns[0].answer.passages
    assert "Closest passages (not enough to answer)" in sources
    assert "<mark>" not in sources and 'id="src-1"' in sources
    turns[0].answer.passages = []  # an empty index has nothing to show at all
    assert "No passage in the index is close enough" in render_sources(
        turns[0].answer, h.article_text
    )


def test_searched_for_is_shown_only_when_it_differs(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    h = make(seed_index, embedder, REPLY, REPLY)
    _, (_, _, turns, _) = final(h, QUESTION)
    answer = turns[0].answer
    answer.searched_for = answer.question
    assert "searched for" not in render_answer(answer)
    answer.searched_for = "Putin treaty Iran <defense>"
    assert "searched for: “Putin treaty Iran &lt;defense&gt;”" in render_answer(answer)


def test_export_markdown_holds_questions_answers_and_quotes(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    h = make(seed_index, embedder, REPLY)
    _, (_, _, turns, _) = final(h, QUESTION)
    turns.append(Turn("Broken?", error="the question is empty"))
    c = turns[0].answer.citations[0]
    text = export_markdown(turns, h.article_text)
    assert f"## 1. {QUESTION}" in text and REPLY in text
    assert f"> {c.quote}" in text and c.title in text and "paragraph " in text
    assert "*Error: the question is empty*" in text
    path = h.export(turns)
    assert path and Path(path).read_text(encoding="utf-8") == text and path.endswith(".md")
    with pytest.warns(UserWarning, match="Nothing to export"):
        assert h.export([]) is None
    messages, sources, cleared, _ = h.new_chat()
    assert messages == [] and cleared == [] and "<mark>" not in sources


def test_upload_and_delete_change_the_article_table(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    h = make(seed_index, embedder)
    assert len(h.article_rows()) == 1
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    note = incoming / "bridge.md"
    note.write_text("# Springfield bridge\n\nThe bridge opens in May.\n", encoding="utf-8")
    bad = incoming / "photo.png"
    bad.write_bytes(b"\x89PNG")
    rows, chooser, status = h.upload([str(note), str(bad)], progress=no_progress)
    assert sorted(r[0] for r in rows) == [
        "Russia Cautions U.S. Against Military Escalation Amid Middle East Tensions",
        "Springfield bridge",
    ]
    assert "Indexed 1 file(s)" in status and "photo.png" in status
    copy = uploads_dir(h.assistant.index.path) / "bridge.md"
    assert copy.is_file() and str(copy) in [r[1] for r in rows]
    assert len(chooser.choices) == 2
    # The same name again updates that article instead of adding a second one.
    note.write_text(
        "# Springfield bridge, delayed\n\nThe bridge opens in June.\n", encoding="utf-8"
    )
    rows, _, _ = h.upload([str(note)], progress=no_progress)
    assert len(rows) == 2 and "Springfield bridge, delayed" in [r[0] for r in rows]
    _, (_, sources, _, _) = final(h, "When does the Springfield bridge open?")
    assert "June" in sources
    bridge = next(r for r in rows if r[1] == str(copy))
    rows, chooser, status = h.delete(bridge[4])
    assert len(rows) == 1 and "Deleted “Springfield bridge, delayed”" in status
    assert not copy.exists() and len(chooser.choices) == 1
    assert "Choose an article" in h.delete(None)[2]
    assert "Choose .txt" in h.upload([], progress=no_progress)[2]


def test_a_question_is_answered_while_an_upload_is_being_indexed(
    seed_index: Index, tmp_path: Path
) -> None:
    embedder = GatedEmbedder()
    h = make(seed_index, embedder, REPLY)
    note = write(tmp_path / "incoming" / "bridge.md", BRIDGE)
    result: list[Any] = []
    uploading = threading.Thread(
        target=lambda: result.append(h.upload([note], progress=no_progress))
    )
    uploading.start()
    try:
        assert embedder.building.wait(5)
        _, (messages, _, turns, _) = final(h, QUESTION)
        assert turns[0].answer.citations
        assert not embedder.gave_up and uploading.is_alive()  # answered while it was building
    finally:
        embedder.go.set()
        uploading.join(10)
    assert "Indexed 1 file(s)" in result[0][2]
    _, (_, sources, _, _) = final(h, "When does the Springfield bridge open?")
    assert "May" in sources


def test_an_oversize_upload_is_refused_before_indexing(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    h = make(seed_index, embedder, settings=SETTINGS.replace(max_file_mb=0.001))
    big = write(tmp_path / "incoming" / "big.txt", "Big news\n\n" + "The bridge opens. " * 200)
    calls = embedder.calls
    rows, _, status = h.upload([big], progress=no_progress)
    assert status == "Nothing indexed. big.txt is 0.0 MB, over the 0.001 MB limit for uploads"
    assert len(rows) == 1 and embedder.calls == calls
    assert not any(uploads_dir(h.assistant.index.path).glob("*"))


def test_a_failed_upload_leaves_the_uploads_folder_as_it_was(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make(seed_index, embedder)
    folder = uploads_dir(h.assistant.index.path)
    binary = tmp_path / "incoming" / "scan.txt"
    binary.parent.mkdir()
    binary.write_bytes(b"\x00\x01\x02 not text")
    rows, _, status = h.upload([str(binary)], progress=no_progress)
    assert status.startswith("Not indexed: no readable") and len(rows) == 1
    assert not folder.exists() or not any(folder.iterdir())
    # One good file and one unreadable one: the good one is indexed, no copy of the other stays.
    note = write(tmp_path / "incoming" / "bridge.md", BRIDGE)
    rows, _, status = h.upload([note, str(binary)], progress=no_progress)
    assert "Indexed 1 file(s)" in status and "scan.txt" in status
    assert sorted(p.name for p in folder.iterdir()) == ["bridge.md"]

    def broken(texts: list[str]) -> Any:
        raise RuntimeError("embedding failed")

    monkeypatch.setattr(embedder, "embed", broken)
    write(tmp_path / "incoming" / "bridge.md", "# Bridge delayed\n\nIt opens in June.\n")
    new = write(tmp_path / "incoming" / "harbour.md", "# Harbour\n\nThe harbour reopens.\n")
    rows, _, status = h.upload([note, new], progress=no_progress)
    assert status == "Not indexed: something went wrong (RuntimeError); see the server log."
    assert sorted(p.name for p in folder.iterdir()) == ["bridge.md"]
    assert (folder / "bridge.md").read_text(encoding="utf-8") == BRIDGE  # the earlier copy
    assert len(rows) == 2


def test_the_delete_chooser_has_no_default_and_takes_articles_added_later(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    demo = build_app(Assistant(SETTINGS, seed_index, embedder, ScriptedGenerator()))
    chooser = next(
        b for b in demo.blocks.values()
        if isinstance(b, gr.Dropdown) and b.label == "Article to delete"
    )  # fmt: skip
    assert chooser.value is None  # a stray /delete call must not delete the first article
    fns = {f.api_name: f for f in demo.fns.values() if f.api_visibility == "public"}
    note = write(tmp_path / "incoming" / "bridge.md", BRIDGE)
    _, listed, _ = fns["upload"].fn([note], progress=no_progress)
    new_id = next(v for label, v in listed.choices if label.startswith("Springfield bridge"))
    # Delete from another session (its page loaded before the upload), through Gradio itself.
    out = asyncio.run(demo.process_api(fns["delete"], [new_id], state=SessionState(demo)))
    assert out["data"][2] == "Deleted “Springfield bridge”; 1 article left."
    out = asyncio.run(demo.process_api(fns["delete"], [new_id], state=SessionState(demo)))
    assert out["data"][2] == "That article is no longer in the index."


def test_settings_are_per_session_and_the_model_is_the_operators(
    seed_index: Index, embedder: FakeEmbedder, tmp_path: Path
) -> None:
    h = make(seed_index, embedder, REPLY, REPLY)
    model = h.assistant.settings.model
    status, prefs = h.apply_settings(model, 1, 0.4, None)
    assert prefs == {"top_k": 1, "temperature": 0.4}
    assert status == f"Using {model}; here 1 passages, temperature 0.4."
    _, (_, _, mine, _) = final(h, QUESTION, prefs=prefs)
    _, (_, _, theirs, _) = final(h, QUESTION)  # another session: still the defaults
    assert len(mine[0].answer.passages) == 1 and len(theirs[0].answer.passages) > 1
    assert h.assistant.settings == SETTINGS
    assert h.apply_settings(model, 0, 0.4, prefs) == (
        "Not applied: the number of passages must be between 1 and 20",
        prefs,
    )
    status, kept = h.apply_settings("gpt-9", 3, 0.5, prefs)
    assert status.startswith("Not applied: unknown model 'gpt-9'") and kept == prefs
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + bytes(64))
    generator = h.assistant.generator
    status, kept = h.apply_settings(str(broken), 3, 0.5, prefs)
    assert status.startswith("Not applied: cannot load model") and kept == prefs
    assert h.assistant.generator is generator and h.assistant.settings.model == model
    # Served to others (--auth): the shared model is whoever started the server's choice.
    served = ChatHandlers(h.assistant, model_switch=False)
    status, kept = served.apply_settings("smollm2-135m", 2, 0.0, prefs)
    assert status.startswith("Not applied: the model is shared") and kept == prefs
    assert served.apply_settings(model, 2, 0.0, prefs)[1] == {"top_k": 2, "temperature": 0.0}


def test_build_app_wires_named_endpoints_to_the_handlers(
    seed_index: Index, embedder: FakeEmbedder
) -> None:
    assistant = Assistant(SETTINGS, seed_index, embedder, ScriptedGenerator(REPLY))
    demo = build_app(assistant)
    fns = {f.api_name: f for f in demo.fns.values() if f.api_visibility == "public"}
    assert {"ask", "new_chat", "export", "settings", "upload", "delete", "articles"} <= set(fns)
    *_, (messages, sources, _, _) = fns["ask"].fn(QUESTION, [])
    assert "rag-cite" in messages[-1]["content"] and "<mark>" in sources
    rows, _ = fns["articles"].fn()
    assert len(rows) == 1
    assert demo.config["components"]  # the layout renders to a config


@pytest.mark.parametrize(
    ("host", "share", "auth", "ok"),
    [
        ("127.0.0.1", False, None, True),
        ("localhost", False, None, True),
        ("::1", False, None, True),
        ("0.0.0.0", False, None, False),
        ("192.168.1.5", False, ("ann", "pw"), True),
        ("127.0.0.1", True, None, False),
    ],
)
def test_only_localhost_goes_without_a_password(
    host: str, share: bool, auth: tuple[str, str] | None, ok: bool
) -> None:
    if ok:
        check_exposure(host, share, auth)
    else:
        with pytest.raises(RagError, match="--auth USER:PASSWORD"):
            check_exposure(host, share, auth)


def test_auth_flag_and_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    with pytest.raises(RagError, match="USER:PASSWORD"):
        parse_auth("ann")
    assert main(["chat", "--host", "0.0.0.0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --host 0.0.0.0") and len(err.strip().splitlines()) == 1
    assert main(["chat", "--auth", "nopassword"]) == 1
    assert "USER:PASSWORD" in capsys.readouterr().err


def test_an_index_of_an_older_format_is_upgraded_before_the_chat_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from rag import chat
    from rag.store import FORMAT_VERSION, MANIFEST

    embedder = FakeEmbedder()
    path = tmp_path / "old"
    articles = list(load_articles(find_files([Path("seeds")]), print))
    build_index(path, articles, embedder, 120, 20)
    manifest = json.loads((path / MANIFEST).read_text())
    (path / MANIFEST).write_text(json.dumps({**manifest, "format_version": FORMAT_VERSION - 1}))
    with pytest.raises(RagError, match="rebuild"):
        Index(path)
    monkeypatch.setattr(chat, "make_embedder", lambda name: embedder)

    assert chat.ensure_index(Settings(index=str(path)), seeds=tmp_path / "no-seeds") == path
    index = Index(path)
    assert [a.id for a in index.articles()] == [a.id for a in articles]
    index.close()


def test_an_upload_is_kept_when_the_index_path_is_relative(
    tmp_path: Path, embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `indexes/default` is relative; stored sources are absolute: the copy must be found as
    # indexed, not deleted as if it had been skipped.
    monkeypatch.chdir(tmp_path)
    build_index(Path("idx"), [], embedder, 60, 1)
    index = Index(Path("idx"))
    h = make(index, embedder)
    note = tmp_path / "bridge.md"
    note.write_text("# Springfield bridge\n\nThe bridge opens in May.\n", encoding="utf-8")
    rows, _, status = h.upload([str(note)], progress=no_progress)
    assert "Indexed 1 file(s)" in status
    assert (uploads_dir(Path("idx")) / "bridge.md").is_file()
    assert [r[0] for r in rows] == ["Springfield bridge"]
    index.close()
