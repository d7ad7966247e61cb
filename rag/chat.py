"""`rag chat`: the Gradio web app over one shared Assistant.

Owns: the layout (Chat tab with sources panel and settings, Articles tab), the event handlers
(plain methods of `ChatHandlers`, testable without a browser), indexing seeds/ when the index is
missing or empty, and launching safely (localhost by default; any other host or a share link
needs --auth). Leaves all HTML and Markdown to `rag.render`, and answering to `rag.assistant`.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import gradio as gr

from rag.articles import SUFFIXES, find_files, load_articles
from rag.assistant import Assistant, check_answer_settings
from rag.config import Settings
from rag.embedding import make_embedder
from rag.errors import RagError
from rag.filters import EVERYTHING, Scope, make_scope, with_as_of
from rag.models import PRESETS
from rag.records import Answer
from rag.render import (
    NO_SOURCES,
    Turn,
    chat_messages,
    export_markdown,
    render_answer,
    render_error,
    render_partial,
    render_sources,
)
from rag.store import FORMAT_VERSION, MANIFEST, Index, Manifest, build_index, resolve_index
from rag.uploads import accept, add_uploads, uploads_dir

log = logging.getLogger(__name__)

TITLE = "rag: ask your news articles"
ARTICLE_HEADERS = ["Title", "Source", "Chunks", "Added", "ID"]
ANY_OUTLET = "any"
CSS = """
.rag-cite { text-decoration: none; font-weight: 600; cursor: help; }
.rag-cost { margin-top: .5em; opacity: .6; }
.rag-muted { opacity: .7; }
.rag-error { color: var(--error-text-color, #b91c1c); }
.rag-source { margin: 0 0 1em 0; }
.rag-source-head { margin-bottom: .25em; }
.rag-passage { border-left: 3px solid var(--border-color-primary, #ddd); margin: 0;
               padding: .2em .7em; white-space: normal; }
.rag-passage mark { background: #fde68a; color: inherit; padding: 0 .1em; border-radius: 2px; }
#rag-sources { max-height: 640px; overflow-y: auto; }
"""
# System fonts: the default theme fetches Google Fonts, and this app runs offline.
THEME = gr.themes.Soft(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


class ChatHandlers:
    """Every event of the app as a plain method over the shared assistant.

    `model_switch`: whether the chat may change the model. It is loaded once for everyone, so
    when the app is served to others (--auth) only whoever starts it chooses (--model).
    `scope`: the outlet and dates of `rag chat --source/--since/--until`, each session's default."""

    def __init__(
        self, assistant: Assistant, model_switch: bool = True, scope: Scope = EVERYTHING
    ) -> None:
        self.assistant = assistant
        self.model_switch = model_switch
        self.scope = scope
        # Uploads copy into one folder: one at a time, so that undoing a failed one is exact.
        self._uploading = threading.Lock()

    def article_text(self, article_id: str) -> str:
        return self.assistant.index.article(article_id).text

    # --- Chat tab -------------------------------------------------------------------------

    def ask(
        self, message: str, turns: Sequence[Turn] | None, prefs: Mapping[str, Any] | None = None
    ) -> Iterator[tuple[list[dict[str, str]], str, list[Turn], str]]:
        """Stream the answer into the chat; the last update also fills the sources panel.

        `prefs` is this session's top_k, temperature and scope (from apply_settings), if any.
        Yields (chat messages, sources html, turns, text box value)."""
        turns = list(turns or [])
        question = (message or "").strip()
        if not question:
            yield chat_messages(turns), self._last_sources(turns), turns, ""
            return
        turn = Turn(question, html=render_partial(""))
        history = [t.question for t in turns if t.answer is not None]
        turns.append(turn)
        waiting = '<div class="rag-sources"><p class="rag-muted">Searching the articles…</p></div>'
        yield chat_messages(turns), waiting, turns, ""
        text = ""
        try:
            chosen = {"scope": self.scope, **(prefs or {})}
            for item in self.assistant.stream(question, history, **chosen):
                if isinstance(item, Answer):
                    # "As of <date>" for a latest-type question, from the citations.
                    item = replace(
                        item, answer=with_as_of(item.answer, item.as_of, item.searched_for)
                    )
                    turn.answer, turn.html = item, render_answer(item)
                else:
                    text += item
                    turn.html = render_partial(text)
                    yield chat_messages(turns), waiting, turns, ""
        except RagError as exc:
            turn.error, turn.html = str(exc), render_error(f"Sorry: {exc}")
        except Exception as exc:  # never a stack trace in the chat; the log keeps it
            log.exception("answering %r failed", question)
            turn.error = f"something went wrong ({type(exc).__name__}); see the server log"
            turn.html = render_error(f"Sorry, {turn.error}.")
        yield chat_messages(turns), self._last_sources(turns), turns, ""

    def _last_sources(self, turns: Sequence[Turn]) -> str:
        if not turns:
            return NO_SOURCES
        return render_sources(turns[-1].answer, self.article_text)

    def new_chat(self) -> tuple[list[dict[str, str]], str, list[Turn], Any]:
        return [], NO_SOURCES, [], gr.File(value=None, visible=False)

    def export(self, turns: Sequence[Turn] | None) -> str | None:
        """Write the conversation to a Markdown file and return its path for download."""
        if not turns:
            gr.Warning("Nothing to export yet: ask a question first.")
            return None
        folder = Path(tempfile.mkdtemp(prefix="rag-chat-"))
        path = folder / f"conversation-{time.strftime('%Y%m%d-%H%M%S')}.md"
        path.write_text(export_markdown(turns, self.article_text), encoding="utf-8")
        return str(path)

    def apply_settings(
        self,
        model: str | None,
        top_k: float,
        temperature: float,
        prefs: Mapping[str, Any] | None = None,
        since: str | None = "",
        until: str | None = "",
        outlet: str | None = ANY_OUTLET,
    ) -> tuple[str, dict[str, Any]]:
        """Passages, temperature, dates and outlet for this session's next answers; the model
        for everyone, loaded before it replaces the working one. Returns (status, this
        session's prefs)."""
        kept = dict(prefs or {})
        wanted: dict[str, Any] = {"top_k": int(top_k), "temperature": float(temperature)}
        name = (model or "").strip()
        switch = bool(name) and name != self.assistant.settings.model
        try:
            source = "" if (outlet or ANY_OUTLET) == ANY_OUTLET else outlet
            scope = make_scope(since, until, source, names=('"Since"', '"Until"'))
            if scope != self.scope:  # the boxes start at `rag chat`'s flags: no change, no key
                wanted["scope"] = scope
            check_answer_settings(top_k=wanted["top_k"], temperature=wanted["temperature"])
            if switch and not self.model_switch:
                raise RagError("the model is shared: whoever runs the server chooses it (--model)")
            if switch:
                self.assistant.configure(model=name)
        except RagError as exc:
            return f"Not applied: {exc}", kept
        except Exception as exc:
            log.exception("changing the model to %r failed", name)
            return f"Not applied: {type(exc).__name__}: {exc}", kept
        status = f"Using {self.assistant.settings.model}{' for everyone' if switch else ''}; "
        status += f"here {top_k:g} passages, temperature {temperature:g}"
        scope = wanted.get("scope", self.scope)
        return status + (f", only articles {scope.describe()}." if scope.active else "."), wanted

    def outlets(self) -> list[str]:
        """The outlet picker's choices: any, then every outlet in the index."""
        names = {a.outlet for a in self.assistant.article_infos() if a.outlet}
        return [ANY_OUTLET, *sorted(names, key=str.casefold)]

    def outlet_view(self) -> Any:
        return gr.Dropdown(choices=self.outlets())

    # --- Articles tab ---------------------------------------------------------------------

    def article_rows(self) -> list[list[Any]]:
        return [
            [a.title, a.source, a.chunks, a.added[:16].replace("T", " "), a.id]
            for a in self.assistant.article_infos()
        ]

    def article_choices(self) -> list[tuple[str, str]]:
        return [(f"{a.title} ({a.id[:8]})", a.id) for a in self.assistant.article_infos()]

    def articles_view(self) -> tuple[list[list[Any]], Any]:
        """The table and the delete chooser, fresh from the index."""
        return self.article_rows(), gr.Dropdown(choices=self.article_choices(), value=None)

    def upload(
        self,
        files: Sequence[Any] | None,
        progress: Callable[..., Any] = gr.Progress(),  # noqa: B008 (how Gradio injects it)
    ) -> tuple[list[list[Any]], Any, str]:
        """Copy the files next to the index, so that the same name updates the same article,
        then index them; a copy that does not end up indexed is taken back.
        Returns (table, chooser, status)."""
        if not files:
            return (*self.articles_view(), "Choose .txt, .md or .html files first.")

        def on_progress(done: int, total: int) -> None:
            progress((done, total), desc="Embedding", unit="chunks")

        try:
            sources, skipped = accept(files, self.assistant.settings.max_file_mb)
            if not sources:
                return (*self.articles_view(), "Nothing indexed. " + "; ".join(skipped))
            with self._uploading:
                report, warnings, n = add_uploads(self.assistant, sources, on_progress)
        except (RagError, OSError) as exc:
            return (*self.articles_view(), f"Not indexed: {exc}")
        except Exception as exc:  # never a stack trace in the app; the log keeps it
            log.exception("indexing uploads failed")
            error = f"something went wrong ({type(exc).__name__}); see the server log"
            return (*self.articles_view(), f"Not indexed: {error}.")
        status = (
            f"Indexed {n} file(s): {report.added} new or changed; the index now holds "
            f"{report.articles} articles, {report.chunks} chunks ({report.seconds:.1f} s)."
        )
        if skipped or warnings:
            status += " Skipped: " + "; ".join(skipped + warnings)
        return (*self.articles_view(), status)

    def delete(self, article_id: str | None) -> tuple[list[list[Any]], Any, str]:
        """Remove one article; a copy this app uploaded is deleted with it, other files stay."""
        if not article_id:
            return (*self.articles_view(), "Choose an article to delete first.")
        try:
            info = next(a for a in self.assistant.article_infos() if a.id == article_id)
            report = self.assistant.remove_articles([article_id])
        except StopIteration:
            return (*self.articles_view(), "That article is no longer in the index.")
        except RagError as exc:
            return (*self.articles_view(), f"Not deleted: {exc}")
        source = Path(info.source)
        if source.parent.resolve() == uploads_dir(self.assistant.index.path).resolve():
            source.unlink(missing_ok=True)
        left = f"{report.articles} article{'' if report.articles == 1 else 's'} left"
        return (*self.articles_view(), f"Deleted “{info.title}”; {left}.")


def _reveal_file(path: str | None) -> Any:
    return gr.File(visible=path is not None)


def build_app(
    assistant: Assistant, model_switch: bool = True, scope: Scope = EVERYTHING
) -> gr.Blocks:
    """The whole UI, wired to one set of handlers; concurrent users are queued one at a time."""
    h = ChatHandlers(assistant, model_switch, scope)
    s = assistant.settings
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        turns = gr.State([])
        prefs = gr.State(None)  # this session's passages, temperature, scope; None: defaults
        gr.Markdown(
            "### Ask about your news articles\n"
            "Every claim cites its source: hover a [n] marker to read the quote, "
            "the sources panel highlights it in its passage."
        )
        with gr.Tab("Chat"):
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation", elem_id="rag-chat", height=480,
                        sanitize_html=True, render_markdown=True, latex_delimiters=[],
                        buttons=["copy"], feedback_options=None,
                        placeholder="Ask, for example: What did Putin say about the treaty?",
                    )  # fmt: skip
                    with gr.Row():
                        box = gr.Textbox(
                            placeholder="Ask a question about the articles…", show_label=False,
                            scale=5, autofocus=True, elem_id="rag-question", max_length=2000,
                        )  # fmt: skip
                        send = gr.Button("Ask", variant="primary", scale=1, elem_id="rag-ask")
                    with gr.Row():
                        new = gr.Button("New chat", size="sm", elem_id="rag-new")
                        export = gr.Button("Export as Markdown", size="sm", elem_id="rag-export")
                    download = gr.File(
                        label="Conversation (Markdown)", interactive=False, visible=False
                    )
                with gr.Column(scale=2):
                    sources = gr.HTML(NO_SOURCES, elem_id="rag-sources")
            with gr.Accordion("Settings", open=False):
                model = gr.Dropdown(
                    choices=list(PRESETS), value=s.model, allow_custom_value=True,
                    label="Model (preset or path to a .gguf file), shared by everyone",
                    interactive=model_switch,
                )  # fmt: skip
                top_k = gr.Slider(1, 10, value=min(max(s.top_k, 1), 10), step=1, label="Passages")
                temperature = gr.Slider(0, 1.5, value=s.temperature, step=0.05, label="Temperature")
                with gr.Row():
                    dated = "YYYY-MM-DD; articles without a date are left out"
                    since = gr.Textbox(scope.since, label="Since", placeholder=dated)
                    until = gr.Textbox(scope.until, label="Until", placeholder=dated)
                    outlet = gr.Dropdown(
                        choices=h.outlets(), value=scope.source or ANY_OUTLET, label="Outlet",
                        allow_custom_value=True,  # a web domain works too: bbc.co.uk
                    )  # fmt: skip
                apply = gr.Button("Apply", size="sm")
                settings_status = gr.Textbox(show_label=False, interactive=False, lines=1)
        with gr.Tab("Articles") as articles_tab:
            table = gr.Dataframe(
                h.article_rows(), headers=ARTICLE_HEADERS, interactive=False, wrap=True,
                datatype="str", label="Indexed articles", elem_id="rag-articles",
            )  # fmt: skip
            with gr.Row():
                files = gr.File(
                    label="Add articles (.txt, .md, .html)", file_count="multiple",
                    file_types=list(SUFFIXES), elem_id="rag-upload",
                )  # fmt: skip
                with gr.Column():
                    add = gr.Button("Index the files", variant="primary")
                    # No default (a stray call must not delete the first article), and any
                    # id is accepted: the list may predate another session's upload, and the
                    # handler checks the id against the index anyway.
                    chooser = gr.Dropdown(
                        choices=h.article_choices(), value=None, allow_custom_value=True,
                        label="Article to delete",
                    )  # fmt: skip
                    delete = gr.Button("Delete article", variant="stop")
            articles_status = gr.Textbox(show_label=False, interactive=False, lines=1)

        chat_in, chat_out = [box, turns, prefs], [chatbot, sources, turns, box]
        box.submit(h.ask, chat_in, chat_out, api_name="ask")
        send.click(h.ask, chat_in, chat_out, api_visibility="private")
        new.click(h.new_chat, None, [chatbot, sources, turns, download], api_name="new_chat")
        # The chat box's own trash button must forget the conversation too, not just hide it.
        chatbot.clear(
            h.new_chat, None, [chatbot, sources, turns, download], api_visibility="private"
        )
        export.click(h.export, turns, download, api_name="export").success(
            _reveal_file, download, download, api_visibility="private"
        )
        apply.click(
            h.apply_settings, [model, top_k, temperature, prefs, since, until, outlet],
            [settings_status, prefs], api_name="settings",
        )  # fmt: skip
        add.click(h.upload, files, [table, chooser, articles_status], api_name="upload")
        delete.click(h.delete, chooser, [table, chooser, articles_status], api_name="delete")
        demo.load(h.articles_view, None, [table, chooser], api_name="articles")
        demo.load(h.outlet_view, None, outlet, api_visibility="private")
        # Opening the tab shows what other sessions or `rag index` changed since.
        articles_tab.select(h.articles_view, None, [table, chooser], api_visibility="private")
    demo.queue(default_concurrency_limit=1)
    return demo


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    if auth is None:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise RagError("--auth must be USER:PASSWORD")
    return user, password


def check_exposure(host: str, share: bool, auth: tuple[str, str] | None) -> None:
    """Anyone who can reach the page can read the articles and use the model: outside this
    machine (another host, or a public share link) that needs a password."""
    if auth is None and not is_loopback(host):
        raise RagError(f"--host {host} is reachable from other machines; add --auth USER:PASSWORD")
    if auth is None and share:
        raise RagError("--share makes a public link; add --auth USER:PASSWORD")


def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    share: bool = False,
    auth: tuple[str, str] | None = None,
    block: bool = True,
) -> str:
    """Serve the app; returns its local URL (when block is False)."""
    check_exposure(host, share, auth)
    try:
        _, url, _ = app.launch(
            server_name=host, server_port=port, share=share, auth=auth, theme=THEME, css=CSS,
            prevent_thread_lock=not block, show_error=False, footer_links=["api"],
        )  # fmt: skip
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port}: {exc}") from None
    return str(url)


def ensure_index(settings: Settings, seeds: Path = Path("seeds")) -> Path | None:
    """The index path; when it is missing or empty, index the seed articles into it first, and
    when it was built by an older version, upgrade it.

    None for a Postgres store: a database many processes share is built and upgraded by `rag
    index --store` only, never seeded or re-embedded behind its readers' backs by a reader
    starting up (an empty store is served as it is: uploads fill it)."""
    if settings.store:
        return None
    path = resolve_index(settings.index)
    if (path / MANIFEST).is_file():
        if Manifest.read(path).format_version != FORMAT_VERSION:
            # `make run` after an upgrade: re-embed what is stored rather than stop with a
            # "rebuild it" message; the old index stays in place until the new one is written.
            print(f"upgrading {path} to this version's index format (once)…", file=sys.stderr)
            build_index(
                path, [], make_embedder(settings.embedder), settings.chunk_tokens,
                settings.chunk_overlap, rebuild=True,
            )  # fmt: skip
        index = Index(path)
        empty = not index.article_infos()
        index.close()
        if not empty:
            return path
    files = find_files([seeds]) if seeds.is_dir() else []
    if not files:
        raise RagError(
            f"index {path} is empty and there is no {seeds}/ folder to start from; "
            f"add articles with: rag index PATH --index {path}"
        )
    print(f"indexing {seeds}/ into {path} (once)…", file=sys.stderr, flush=True)
    articles = list(load_articles(files, lambda m: print(f"warning: {m}", file=sys.stderr)))
    build_index(
        path, articles, make_embedder(settings.embedder), settings.chunk_tokens,
        settings.chunk_overlap,
    )  # fmt: skip
    return path


def serve(
    settings: Settings,
    host: str,
    port: int,
    share: bool,
    auth: str | None,
    scope: Scope = EVERYTHING,
) -> int:
    """`rag chat`: check the flags, make sure there is an index (a folder, or the Postgres store
    the settings name), warm the models, serve. `scope` is every session's starting outlet and
    dates."""
    credentials = parse_auth(auth)
    check_exposure(host, share, credentials)  # before seconds of loading
    ensure_index(settings)
    assistant = Assistant.from_settings(settings)
    # With a remote engine nothing is loaded here: the server is asked for its model.
    what = f"connecting to {settings.llm_url}" if settings.llm_url else f"loading {settings.model}"
    print(f"{what}…", file=sys.stderr, flush=True)
    assistant.load()
    app = build_app(assistant, credentials is None, scope)
    launch(app, host, port, share, credentials)
    return 0
