"""`rag index | list | remove | ask | quotes | chat | serve | eval`: a thin command-line shell over `assistant` and `store`.

Owns: flags, printing and exit codes. Every RagError becomes one line on stderr and exit 1;
Ctrl-C exits 130 without a traceback (the index swap is atomic, so nothing is lost).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rag.articles import find_files, load_articles
from rag.batches import batch_items, check_question
from rag.cli_eval import cmd_eval
from rag.config import Settings, load_settings
from rag.errors import RagError
from rag.models import PRESETS
from rag.records import byline_text
from rag.retrieval import MODES

SAMPLE_QUESTION = "What did Putin say about the treaty?"


def _verify_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="show the model's answer unchecked (for comparison)",
    )


def _retrieval_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--retrieval",
        choices=MODES,
        help="how passages are found (default: hybrid = vectors + keywords)",
    )


def _scope_flags(parser: argparse.ArgumentParser) -> None:
    undated = "; articles without a date are left out"
    parser.add_argument("--since", metavar="DATE",
                        help=f"only articles published on or after DATE (YYYY-MM-DD){undated}")  # fmt: skip
    parser.add_argument("--until", metavar="DATE",
                        help=f"only articles published on or before DATE (YYYY-MM-DD){undated}")  # fmt: skip
    parser.add_argument("--source", metavar="OUTLET",
                        help="only articles from this outlet or web domain, any case "
                        "(Reuters, bbc.co.uk)")  # fmt: skip


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", help="index name under indexes/ or a folder (default: default)")
    parser.add_argument(
        "--model", help=f"model preset ({', '.join(PRESETS)}) or a path to a .gguf file"
    )
    parser.add_argument("--llm-url", metavar="URL",
                        help="answer with the model of this OpenAI-compatible server "
                        "(http://HOST:PORT/v1) instead of --model in-process")  # fmt: skip
    parser.add_argument("--llm-model", metavar="NAME",
                        help="the model's name on that server (default: the first it lists)")  # fmt: skip
    parser.add_argument("--llm-key", metavar="KEY", help="that server's API key, if it needs one")


def _store_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="URL",
                        help="a postgresql://USER@HOST:PORT/DB database to keep the index in, "
                        "instead of --index's folder")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Answer questions about news articles, offline, with citations you can check.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="add .txt/.md/.html articles (or .jsonl feeds) to an index")
    p.add_argument("paths", nargs="*", type=Path,
                   help="files, folders or .jsonl feeds (default: seeds/)")  # fmt: skip
    p.add_argument("--rebuild", action="store_true", help="re-chunk and re-embed everything stored")
    p.add_argument("--prune", action="store_true", help="also remove articles whose files are gone")
    p.add_argument("--no-wait", action="store_true",
                   help="fail at once if another process is writing this index")  # fmt: skip
    p.add_argument("--chunk-tokens", type=int, help="chunk size in cl100k tokens")
    p.add_argument(
        "--embedder", help="sentence-transformers model folder (default: bundled MiniLM)"
    )
    _common(p)
    _store_flag(p)

    p = sub.add_parser("list", help="list the indexed articles")
    p.add_argument("--json", action="store_true", help="print one JSON object per article")
    _common(p)
    _store_flag(p)

    p = sub.add_parser("remove", help="remove articles (by id, see: rag list) from an index")
    p.add_argument("ids", nargs="+", metavar="ID", help="article ids")
    _common(p)
    _store_flag(p)

    p = sub.add_parser("ask", help="answer a question with cited sources")
    p.add_argument("question", nargs="?", help="the question (omit with --batch)")
    p.add_argument("--json", action="store_true", help="print one JSON object per answer")
    p.add_argument("--batch", metavar="FILE", help="one question per line ('-' = stdin); JSON lines "
                   "{\"question\": ..., \"history\": [...]} are follow-ups")  # fmt: skip
    p.add_argument("--k", type=int, dest="top_k", help="passages to give the model")
    _scope_flags(p)
    _retrieval_flag(p)
    _verify_flag(p)
    _common(p)
    _store_flag(p)

    p = sub.add_parser("quotes", help="list every quote of one speaker, oldest first")
    p.add_argument("name", metavar="NAME", help='the speaker: "Putin" finds Vladimir Putin')
    p.add_argument("--about", metavar="TOPIC", help="only quotes about this (words near them)")
    p.add_argument("--json", action="store_true", help="print one JSON object per quote")
    p.add_argument("--index", help="index name under indexes/ or a folder (default: default)")
    _store_flag(p)

    p = sub.add_parser("eval", help="measure retrieval, answers, refusals, citations and speed")
    p.add_argument(
        "--dataset", type=Path, action="append",
        help="project JSONL, LlamaIndex LabelledRagDataset JSON, RealTime QA WEEK_qa.jsonl or a "
        "folder of them; repeat for a table with a row per set",
    )  # fmt: skip
    p.add_argument(
        "--open", action="store_true", dest="open_questions",
        help="RealTime QA: ask the bare question, without its four options",
    )  # fmt: skip
    p.add_argument("--k", type=int, dest="top_k", help="passages to give the model")
    p.add_argument("--limit", type=int, help="only the first N questions")
    _retrieval_flag(p)
    p.add_argument(
        "--json", type=Path, dest="json_out", metavar="OUT", help="write all results here"
    )
    p.add_argument("--calibrate", type=Path, metavar="LABELS",
                   help="instead: check the citation support test against hand labels")  # fmt: skip
    _verify_flag(p)
    _common(p)
    _store_flag(p)

    p = sub.add_parser("chat", help="open the chat in the browser (http://127.0.0.1:7860)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: localhost)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--share", action="store_true", help="also make a public Gradio link")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help="password-protect the page (required off localhost and with --share)")  # fmt: skip
    _scope_flags(p)
    _common(p)
    _store_flag(p)

    p = sub.add_parser("serve", help="serve an OpenAI-compatible API (http://127.0.0.1:8000/v1)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: localhost)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--api-key", metavar="KEY",
                   help="require 'Authorization: Bearer KEY' (required off localhost)")  # fmt: skip
    p.add_argument("--k", type=int, dest="top_k", help="passages to give the model")
    _retrieval_flag(p)
    _verify_flag(p)
    _common(p)
    _store_flag(p)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    flags = {
        k: getattr(args, k, None)
        for k in ("index", "model", "top_k", "chunk_tokens", "embedder", "retrieval")
        + ("llm_url", "llm_model", "llm_key", "store")
    }
    if getattr(args, "no_verify", False):
        flags["verify"] = False
    return load_settings(**flags)


def cmd_index(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rag.backends import build_store, describe
    from rag.embedding import make_embedder
    from rag.progress import bar_progress, plain_progress

    settings = _settings(args)
    # With --rebuild and no paths, only what is stored is re-embedded; otherwise seeds/ is the default.
    files = find_files(args.paths or ([] if args.rebuild or args.prune else [Path("seeds")]))
    if not files and not args.rebuild and not args.prune:
        raise RagError(
            f"no .txt, .md or .html files in {', '.join(map(str, args.paths or ['seeds']))}"
        )
    path = describe(settings.index, settings.store)

    def say(message: str) -> None:
        tqdm.write(message, file=sys.stderr)

    def warn(message: str) -> None:
        say(f"warning: {message}")

    mb = 1024 * 1024
    for f in files:
        if (size := f.stat().st_size) > settings.max_file_mb * mb:
            limit = f"max_file_mb = {settings.max_file_mb:g}"
            warn(f"{f} is {size / mb:.1f} MB, over {limit}; indexing it anyway")
    unread: list[str] = []  # files (or feed lines) left out while reading, with the reason

    def left_out(message: str) -> None:
        if "skipped" in message:
            unread.append(message)
        warn(message)

    reading = tqdm(files, desc="reading", unit="file", file=sys.stderr, leave=False, disable=None)
    articles = list(load_articles(reading, left_out))
    bar = tqdm(desc="embedding", unit="chunk", file=sys.stderr, disable=None)
    # tqdm draws nothing when stderr is not a terminal; logs get a plain line now and then.
    progress = plain_progress("embedding", "chunks", say) if bar.disable else bar_progress(bar)
    try:
        report = build_store(
            settings.index, settings.store, articles, make_embedder(settings.embedder),
            settings.chunk_tokens,
            settings.chunk_overlap, rebuild=args.rebuild, on_progress=progress, prune=args.prune,
            wait=not args.no_wait, say=say,
        )  # fmt: skip
    finally:
        bar.close()
    # Not len(files) - len(articles): one .jsonl feed holds many articles.
    skipped = len(unread) + report.skipped
    print(
        f"{path}: {report.articles} articles ({report.added} new or changed"
        + (f", {report.removed} removed" if report.removed else "")
        + f"), {report.chunks} chunks, {report.seconds:.1f} s"
        + (f", {skipped} skipped" if skipped else "")
    )
    return 0


def _shown(source: str) -> str:
    """Sources are stored resolved; under the current folder a relative path reads better."""
    path = Path(source)
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else source


def cmd_list(args: argparse.Namespace) -> int:
    from rag.backends import open_index

    settings = _settings(args)
    index = open_index(settings.index, settings.store)
    infos = index.article_infos()
    for a in infos:
        if args.json:
            print(json.dumps(asdict(a), ensure_ascii=False))
        else:
            shown = _shown(a.source)
            outlet = (a.outlet or "-")[:20]
            print(
                f"{a.id}  {a.chunks:4d} chunks  {a.added[:16]}  {outlet:<20}  "
                f"{a.published or '-':<10}  {a.title}  ({shown})"
                + (f"  (copy of {a.copy_of})" if a.copy_of else "")  # a later wire copy
            )
    if not args.json:
        print(f"{len(infos)} articles, {len(index)} chunks in {index.where}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.backends import build_into, open_index
    from rag.embedding import make_embedder

    s = _settings(args)
    index = open_index(s.index, s.store)
    try:
        report = build_into(index, [], make_embedder(index.manifest.embedder), remove=args.ids)
    finally:
        index.close()
    print(
        f"{index.where}: removed {report.removed}; {report.articles} articles, {report.chunks} chunks"
    )
    return 0


def _titled(title: str, outlet: str, published: str, also_in: Sequence[str] = ()) -> str:
    """ "Title — Reuters, 2022-06-12", or the bare title when the article has no byline."""
    by = byline_text(outlet, published, also_in)
    return f"{title} — {by}" if by else title


def _print_sources(answer: Any, scoped: bool = False) -> None:
    if answer.citations:
        print("\nSources:")
        also = {p.n: p.also_in for p in answer.passages}
        for c in answer.citations:
            titled = _titled(c.title, c.outlet, c.published, also.get(c.n, ()))
            print(f'[{c.n}] {titled}: "{c.quote}"')
    elif answer.abstained and answer.passages:
        print("\nClosest passages (judge for yourself; they did not answer it):")
        for p in answer.passages:
            text = " ".join(p.chunk.text.split())
            more = "..." if len(text) > 240 else ""
            titled = _titled(p.title, p.outlet, p.published, p.also_in)
            print(f"[{p.n}] {titled}: {text[:240]}{more}")
    elif not answer.passages and not scoped:  # in a scope, the answer said what is missing
        print("\n(the index has no passages)")


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.assistant import Assistant
    from rag.filters import is_latest, make_scope, with_as_of
    from rag.records import Answer

    if args.batch and args.question:
        raise RagError("give either a question or --batch FILE, not both")
    if not args.batch and args.question is None:
        raise RagError('no question; usage: rag ask "What did Putin say about the treaty?"')
    # Everything that can be checked without a model is, before seconds of model loading.
    settings = _settings(args)
    scope = make_scope(args.since, args.until, args.source)
    if args.question is not None:
        check_question(args.question, settings.max_question_chars)
    items = batch_items(args.batch, settings.max_question_chars) if args.batch else []
    assistant = Assistant.from_settings(settings)
    assistant.load()
    if args.batch:
        failures = 0
        for question, history, error in items:
            try:
                if error:
                    raise RagError(error)
                done = assistant.ask(question, history, scope=scope).to_dict()
                print(json.dumps(done, ensure_ascii=False), flush=True)
            except RagError as exc:
                failures += 1
                print(
                    json.dumps({"question": question, "error": str(exc)}, ensure_ascii=False),
                    flush=True,
                )
        return 1 if failures else 0
    if args.json:
        done = assistant.ask(args.question, scope=scope).to_dict()
        print(json.dumps(done, ensure_ascii=False, indent=1))
        return 0
    if is_latest(args.question):
        # "As of <date>" comes from the citations, known only at the end: printed whole.
        whole = assistant.ask(args.question, scope=scope)
        print(with_as_of(whole.answer, whole.as_of, whole.searched_for))
        if whole.verification:
            print(f"\n(Checked against the articles. {whole.verification})")
        _print_sources(whole, scope.active)
        return 0
    answer = None
    streamed = []
    for item in assistant.stream(args.question, scope=scope):
        if isinstance(item, Answer):
            answer = item
        else:
            streamed.append(item)
            print(item, end="", flush=True)
    print()
    assert answer is not None
    if answer.answer != "".join(streamed).strip():
        print(f"\nChecked against the articles. {answer.verification}\n{answer.answer}")
    _print_sources(answer, scope.active)
    return 0


def cmd_quotes(args: argparse.Namespace) -> int:
    """Every quote of one speaker, by date then article. Exit 1 when there is none (as grep)."""
    from rag.backends import open_index
    from rag.filters import dated_order
    from rag.quotes import format_quote, quote_dict, quotes_by

    if not args.name.strip():
        raise RagError('no name; usage: rag quotes "Maria Zakharova"')
    settings = _settings(args)
    index = open_index(settings.index, settings.store)
    articles = index.articles()
    found = sorted(
        quotes_by(articles, args.name, args.about),
        key=lambda aq: (*dated_order(aq[0].published, aq[0].title), aq[0].id, aq[1].start),
    )
    if not found:
        about = f" about {args.about}" if args.about else ""
        n = len(articles)
        print(f"no quotes by {args.name}{about} in the {n} article{'s' * (n != 1)} of {index.where}",
              file=sys.stderr)  # fmt: skip
        return 1
    for article, quote in found:
        if args.json:
            print(json.dumps(quote_dict(article, quote), ensure_ascii=False))
        else:
            print(format_quote(replace(article, source=_shown(article.source)), quote))
    return 0


def _eval_settings(args: argparse.Namespace) -> Settings:
    """`rag eval`'s settings. A RealTime QA week is asked of its own articles only, in an index
    built for that week (`datasets.realtimeqa_index`); a store is one shared index, where the
    weeks would mix (and fill a shared database with eval pages), so it is refused, not
    ignored. Other sets are asked of the store as of a folder."""
    from rag.datasets import expand, is_realtimeqa

    settings = _settings(args)
    if settings.store and any(is_realtimeqa(p) for p in expand(args.dataset or [])):
        raise RagError(
            "rag eval builds each RealTime QA week its own folder index (a week's questions "
            "are asked of that week's articles only), never in a store; unset store (--store, "
            "RAG_STORE or rag.toml) for these sets"
        )
    return settings


def cmd_chat(args: argparse.Namespace) -> int:
    from rag.chat import serve
    from rag.filters import make_scope

    scope = make_scope(args.since, args.until, args.source)  # checked before anything loads
    return serve(_settings(args), args.host, args.port, args.share, args.auth, scope)


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.api import serve

    return serve(_settings(args), args.host, args.port, args.api_key)


COMMANDS = {
    "index": cmd_index,
    "list": cmd_list,
    "remove": cmd_remove,
    "ask": cmd_ask,
    "quotes": cmd_quotes,
    "eval": lambda args: cmd_eval(args, _eval_settings),
    "chat": cmd_chat,
    "serve": cmd_serve,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; the index was left as it was", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
