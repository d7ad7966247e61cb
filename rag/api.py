"""`rag serve`: an OpenAI-compatible HTTP API over one shared Assistant.

Owns: the routes (`/v1/chat/completions` plain and streamed, `/v1/models`, `/v1/articles`,
`/healthz`), answering one request at a time, the bearer-key check, 503 while the models load,
and launching with uvicorn (loopback unless there is a key). Leaves OpenAI's shapes (requests,
responses, chunks, sources, errors) to `rag.completions`, answering to `rag.assistant`, and
upload checks and copies to `rag.uploads`.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from rag.assistant import Assistant, check_answer_settings
from rag.completions import ApiError, CompletionRequest, completion_body, error_body, frames
from rag.config import Settings
from rag.errors import RagError
from rag.filters import make_scope
from rag.records import Answer
from rag.uploads import MB, accept, add_uploads, uploads_dir

UPLOAD_BODY = {  # documents the multipart form read by hand in `upload` (see there why)
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "array", "items": {"type": "string", "format": "binary"}}
                },
                "required": ["file"],
            }
        }
    },
}


class Answering:
    """Answers one at a time, each wholly on one thread: `Assistant.stream` holds the
    assistant's lock across its yields, and a lock must be released by the thread that took it.
    Waiting requests queue in the executor in arrival order."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-answer")

    async def ask(self, question: str, history: list[str], **kw: Any) -> Answer:
        future = self._pool.submit(self.assistant.ask, question, history, **kw)
        return await asyncio.wrap_future(future)

    async def stream(
        self, question: str, history: list[str], **kw: Any
    ) -> AsyncIterator[str | Answer]:
        loop = asyncio.get_running_loop()
        items: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()  # the client went away: stop generating for it

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(items.put_nowait, item)

        def run() -> None:
            if stop.is_set():
                return
            answer = cast(
                Generator[Any, None, None], self.assistant.stream(question, history, **kw)
            )
            try:
                for item in answer:
                    put(item)
                    if stop.is_set():
                        break
            except BaseException as exc:
                put(exc)
            finally:
                answer.close()  # releases the lock here, on the thread that took it
                put(None)

        self._pool.submit(run)
        try:
            while (item := await items.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()


def build_api(
    assistant: Assistant,
    api_key: str | None = None,
    ready: threading.Event | None = None,
    failed: Callable[[], str] = lambda: "",
) -> FastAPI:
    """The whole API over one assistant. `api_key`: required as a Bearer token on every route
    but /healthz. `ready`: set once the models are loaded (None: already loaded); until then
    answers are 503. `failed`: why loading failed, "" if it did not."""
    app = FastAPI(
        title="rag", version="1", description="Answers about news articles, with citations "
        "whose quotes are verbatim from the article (`text[start_char_index:end_char_index]`).",
    )  # fmt: skip
    answering = Answering(assistant)
    uploading = threading.Lock()  # uploads copy into one folder: one at a time, as in the chat
    is_ready = ready or threading.Event()
    if ready is None:
        is_ready.set()

    def model() -> str:
        """The preset or .gguf path; with a remote engine, the model's name on that server."""
        s = assistant.settings
        if not s.llm_url:
            return s.model
        from rag.remote import RemoteGenerator

        if not s.llm_model and isinstance(assistant.generator, RemoteGenerator):
            return assistant.generator.model or s.llm_url  # the server's first, once loaded
        return s.llm_model or s.llm_url

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": "5"} if exc.status == 503 else None
        return JSONResponse(error_body(exc.status, exc.message, exc.code), exc.status, headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else first.get("msg", "")
        return JSONResponse(error_body(400, message or "malformed request", "invalid_request"), 400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(exc.status_code, str(exc.detail), code), exc.status_code)

    @app.middleware("http")
    async def check_key(request: Request, call_next: Callable[[Request], Any]) -> Any:
        if api_key is None or request.url.path == "/healthz":
            return await call_next(request)
        given = request.headers.get("authorization", "")
        scheme, _, token = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), api_key):
            body = error_body(
                401, "missing or wrong API key (Authorization: Bearer KEY)", "invalid_api_key"
            )
            return JSONResponse(body, 401, {"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    def check_ready() -> None:
        if reason := failed():
            raise ApiError(503, f"the model failed to load: {reason}", "model_failed")
        if not is_ready.is_set():
            raise ApiError(
                503, f"{model()} is loading; try again in a few seconds", "model_loading"
            )

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        status = "failed" if failed() else "ok" if is_ready.is_set() else "loading"
        return JSONResponse({"status": status, "model": model()}, 200 if status == "ok" else 503)

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        entry = {"id": model(), "object": "model", "created": 0, "owned_by": "rag"}
        return {"object": "list", "data": [entry]}

    @app.post("/v1/chat/completions", response_model=None)
    async def completions(req: CompletionRequest) -> JSONResponse | StreamingResponse:
        """OpenAI's chat completion, plus `sources`, `abstained`, `searched_for` and
        `verification`. With `stream`, the chunk carrying `finish_reason` carries them too."""
        if req.model and req.model != model():
            raise ApiError(404, f"model {req.model!r} is not served here; GET /v1/models lists "
                           f"{model()!r}", "model_not_found")  # fmt: skip
        question, history = req.question()
        if len(question) > (limit := assistant.settings.max_question_chars):
            raise ApiError(400, f"the question is {len(question)} characters long; the limit "
                           f"is {limit}", "question_too_long")  # fmt: skip
        try:
            question = assistant.check_question(question)
            check_answer_settings(req.top_k, req.temperature)
            scope = make_scope(req.since, req.until, req.source, ("since", "until"))
        except RagError as exc:
            raise ApiError(400, str(exc), "invalid_request") from None
        check_ready()
        kw = {"top_k": req.top_k, "temperature": req.temperature, "scope": scope}
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": model(),
        }
        if req.stream:
            events = frames(answering.stream(question, history, **kw), head)
            return StreamingResponse(events, media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})  # fmt: skip
        try:
            answer = await answering.ask(question, history, **kw)
        except RagError as exc:
            raise ApiError(500, str(exc), "answer_failed") from None
        return JSONResponse(completion_body(head, answer))

    @app.get("/v1/articles")
    def articles() -> dict[str, Any]:
        infos = [{**asdict(a), "object": "article"} for a in assistant.article_infos()]
        return {"object": "list", "data": infos}

    @app.post("/v1/articles", status_code=201, openapi_extra={"requestBody": UPLOAD_BODY})
    async def upload(request: Request) -> dict[str, Any]:
        """Index .txt, .md or .html files (form field `file`, repeatable); the same file name
        again updates that article. Each file is limited to `max_file_mb`."""
        limit = assistant.settings.max_file_mb
        # Refuse an oversize body before reading it; the form is read here rather than by a
        # parameter because FastAPI reads (and spools to disk) the whole body first.
        length = request.headers.get("content-length", "")
        files_allowed = 20
        if length.isdigit() and int(length) > files_allowed * limit * MB + MB:
            raise ApiError(
                413, f"the upload is over {files_allowed} × {limit:g} MB", "file_too_large"
            )
        form = await request.form(max_files=files_allowed)
        files = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not files:
            raise ApiError(400, "send the files as multipart form field 'file'", "no_file")
        with tempfile.TemporaryDirectory(prefix="rag-upload-") as folder:
            paths = [await _save(f, Path(folder)) for f in files]
            sources, refused = accept(paths, limit)
            if not sources:
                status = 413 if any(" MB, over " in r for r in refused) else 400
                code = "file_too_large" if status == 413 else "unsupported_file"
                raise ApiError(status, "nothing indexed: " + "; ".join(refused), code)
            try:
                report, warnings, n = await asyncio.to_thread(_add, sources)
            except RagError as exc:
                raise ApiError(400, f"not indexed: {exc}", "not_indexed") from None
        kept = {str((_uploads() / s.name).resolve()) for s in sources}
        added = [{**asdict(a), "object": "article"} for a in assistant.article_infos()
                 if str(Path(a.source).resolve()) in kept]  # fmt: skip
        return {
            "object": "list", "data": added, "indexed_files": n, "new_or_changed": report.added,
            "articles": report.articles, "chunks": report.chunks, "skipped": refused + warnings,
        }  # fmt: skip

    def _uploads() -> Path:
        return uploads_dir(assistant.index.path)

    def _add(sources: list[Path]) -> Any:
        with uploading:
            return add_uploads(assistant, sources)

    @app.delete("/v1/articles/{article_id}")
    def delete(article_id: str) -> dict[str, Any]:
        """Remove an article; a file uploaded through the API or the chat is deleted with it."""
        info = next((a for a in assistant.article_infos() if a.id == article_id), None)
        if info is None:
            raise ApiError(404, f"no article {article_id!r} in the index", "article_not_found")
        with uploading:
            assistant.remove_articles([article_id])
            source = Path(info.source)
            if source.parent.resolve() == _uploads().resolve():
                source.unlink(missing_ok=True)
        return {"id": article_id, "object": "article", "deleted": True}

    return app


async def _save(upload: UploadFile, folder: Path) -> Path:
    """Write the upload under its bare file name (never a path the client chose)."""
    name = Path((upload.filename or "upload").replace("\\", "/")).name or "upload"
    path = folder / name
    with path.open("wb") as out:
        while chunk := await upload.read(MB):
            out.write(chunk)
    return path


def serve(settings: Settings, host: str, port: int, api_key: str | None) -> int:
    """`rag serve`: check the flags, bind, then listen at once (503 until the models load)."""
    import uvicorn

    from rag.chat import ensure_index, is_loopback  # the same index preparation as `rag chat`

    if api_key is not None and not api_key.strip():
        raise RagError("--api-key is empty")
    if api_key is None and not is_loopback(host):
        raise RagError(f"--host {host} is reachable from other machines; add --api-key KEY")
    # An absolute index path: uploads are matched to the index's (absolute) sources by path
    # (a Postgres store's uploads folder is absolute already: `pgindex.uploads_home`).
    if (path := ensure_index(settings)) is not None:
        settings = settings.replace(index=str(path.resolve()))
    assistant = Assistant.from_settings(settings)
    try:  # bound here, so a busy port is one line before seconds of loading
        sock = socket.create_server((host, port), family=_family(host))
    except OSError as exc:
        raise RagError(
            f"cannot serve on {host}:{port}: {os.strerror(exc.errno) if exc.errno else exc}"
        ) from None
    ready, problem = threading.Event(), list[str]()
    app = build_api(assistant, api_key, ready, lambda: problem[0] if problem else "")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))

    def load() -> None:
        # With a remote engine nothing is loaded here: the server is asked for its model.
        what = (
            f"connecting to {settings.llm_url}" if settings.llm_url else f"loading {settings.model}"
        )
        print(f"{what}…", file=sys.stderr, flush=True)
        try:
            assistant.load()
        except Exception as exc:  # reported by the main thread as one line
            problem.append(str(exc) or type(exc).__name__)
            server.should_exit = True
            return
        ready.set()
        shown = f"[{host}]" if ":" in host else host
        print(f"ready: http://{shown}:{port}/v1 (docs: /docs)", file=sys.stderr, flush=True)

    threading.Thread(target=load, daemon=True).start()
    server.run(sockets=[sock])
    if problem:
        # A remote engine's error already names its server.
        raise RagError(
            problem[0] if settings.llm_url else f"cannot load {settings.model}: {problem[0]}"
        )
    return 0


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
