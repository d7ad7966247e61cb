"""Load and soak: the chat under concurrent clients while an upload indexes, and memory over a
long run of questions. Loopback only and bounded, on the tiny preset (smollm2-135m).

Usage: RAG_N_THREADS=1 .venv/bin/python benchmarks/load.py [--only chat soak]
       [--clients 20] [--questions 3] [--upload-kb 1500] [--soak 500]
- chat: `rag chat` on 127.0.0.1 (a child process, index of seeds/ in a temp folder); one client
  uploads a large file built from BBC articles, and while it indexes, `--clients` gradio_client
  clients each ask `--questions` dev-set questions at once. Every question must be answered,
  and answers must keep arriving while the upload is still indexing (before this change the
  build held the answer lock, so none could). Output: results/load-chat.json.
- soak: `--soak` questions through one Assistant in a child process, VmRSS after each; the
  growth from question 50 to the last must stay within 5%. Output: results/soak-batch.json.
Both record the machine's load average; the machine has 2 cores shared with other jobs, so
llama.cpp and torch get one thread each (RAG_N_THREADS, OMP_NUM_THREADS).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"
SEEDS = ROOT / "seeds"
DEV_SET = ROOT / "evals" / "seed.jsonl"
BBC = ROOT.parent / "shared" / "corpora" / "bbc"
MODEL = "smollm2-135m"
ANSWER_TOKENS = "48"  # as in the chat integration tests: the point is concurrency, not prose
MAX_RSS_GROWTH = 0.05
ENV = {
    "RAG_MODEL": MODEL, "RAG_MAX_ANSWER_TOKENS": ANSWER_TOKENS, "HF_HUB_OFFLINE": "1",
    "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "1",
    "RAG_N_THREADS": os.environ.get("RAG_N_THREADS", "1"),
}  # fmt: skip


def questions() -> list[str]:
    """The dev set's single questions (its multi-turn items are left out)."""
    items = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line.strip()]
    return [item["question"] for item in items if "question" in item]


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "env": {k: v for k, v in ENV.items() if k.endswith("THREADS") or k == "RAG_MODEL"},
    }


def rss_kb(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def big_upload(path: Path, kb: int) -> Path:
    """One .txt of about `kb` KB: BBC articles back to back (seeds/ repeated without BBC)."""
    files = sorted(BBC.glob("*/*.txt")) or sorted(SEEDS.glob("*.txt"))
    parts = ["Collected BBC articles for the load test", ""]
    size, i = 0, 0
    while size < kb * 1024:
        text = files[i % len(files)].read_text(encoding="utf-8", errors="replace")
        parts.append(f"Article {i}. {text.strip()}\n")
        size += len(parts[-1].encode())
        i += 1
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def chat_server(work: Path) -> Iterator[tuple[str, int]]:
    """`rag chat` on 127.0.0.1 over a fresh index of seeds/; yields (url, pid)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = (work / "chat.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "rag", "chat", "--port", str(port), "--index", str(work / "idx")],
        cwd=ROOT, env={**os.environ, **ENV}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while True:
            if server.poll() is not None:
                raise SystemExit(f"rag chat exited:\n{(work / 'chat.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("rag chat did not start in 10 minutes")
            time.sleep(1)
        yield url, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


def bench_chat(n_clients: int, n_questions: int, upload_kb: int) -> dict[str, Any]:
    from gradio_client import Client, handle_file

    pool = questions()
    with (
        tempfile.TemporaryDirectory(prefix="rag-load-") as tmp,
        chat_server(Path(tmp)) as (url, pid),
    ):
        upload = big_upload(Path(tmp) / "bbc-collection.txt", upload_kb)
        rss_start = rss_kb(pid)
        clients = [Client(url, verbose=False) for _ in range(n_clients + 1)]
        started = time.monotonic()
        job = clients[-1].submit([handle_file(str(upload))], api_name="/upload")
        # Questions start once the upload is indexing, as they would for everyone else.
        time.sleep(3)
        asked: list[dict[str, Any]] = []
        lock = threading.Lock()

        def ask(c: int) -> None:
            for q in range(n_questions):
                question = pool[(c * n_questions + q) % len(pool)]
                t0 = time.monotonic()
                try:
                    messages, _, _ = clients[c].predict(question, api_name="/ask")
                    answer = text_of(messages[-1])
                    ok = 'class="rag-answer"' in answer and "rag-error" not in answer
                    error = "" if ok else answer[:300]
                except Exception as exc:  # recorded, not raised: the count is the result
                    ok, error = False, f"{type(exc).__name__}: {exc}"
                with lock:
                    asked.append({"client": c, "ok": ok, "error": error, "sent_s": t0 - started,
                                  "done_s": time.monotonic() - started})  # fmt: skip

        threads = [threading.Thread(target=ask, args=(c,)) for c in range(n_clients)]
        for t in threads:
            t.start()
        _, _, status = job.result(timeout=3600)
        upload_s = time.monotonic() - started
        for t in threads:
            t.join()
        rss_end = rss_kb(pid)
    latencies = [a["done_s"] - a["sent_s"] for a in asked]
    during = [a for a in asked if a["done_s"] < upload_s]
    return {
        "clients": n_clients,
        "questions_per_client": n_questions,
        "asked": len(asked),
        "answered": sum(a["ok"] for a in asked),
        "errors": [a["error"] for a in asked if not a["ok"]][:5],
        "upload": {"kb": upload_kb, "seconds": round(upload_s, 1), "status": status},
        "answered_while_upload_indexing": sum(a["ok"] for a in during),
        "first_answer_s": round(min(a["done_s"] for a in asked), 1),
        "latency_s": {
            "p50": round(statistics.median(latencies), 1),
            "max": round(max(latencies), 1),
        },
        "wall_s": round(max(a["done_s"] for a in asked), 1),
        "server_rss_mb": {"start": rss_start // 1024, "end": rss_end // 1024},
    }


def soak_child(n: int) -> dict[str, Any]:
    """Runs in its own process, so that only the Assistant's memory is measured."""
    from rag.articles import find_files, load_articles
    from rag.assistant import Assistant
    from rag.config import load_settings
    from rag.embedding import make_embedder
    from rag.store import build_index

    with tempfile.TemporaryDirectory(prefix="rag-soak-") as tmp:
        settings = load_settings(index=f"{tmp}/idx")
        build_index(
            Path(settings.index), load_articles(find_files([SEEDS]), print),
            make_embedder(settings.embedder), settings.chunk_tokens, settings.chunk_overlap,
        )  # fmt: skip
        assistant = Assistant.from_settings(settings)
        assistant.load()
        pool = questions()
        rss: list[int] = []
        started = time.monotonic()
        for i in range(n):
            assistant.ask(pool[i % len(pool)])
            rss.append(rss_kb())
            if (i + 1) % 50 == 0:
                print(f"soak: {i + 1}/{n}, {rss[-1] // 1024} MB", file=sys.stderr, flush=True)
        seconds = time.monotonic() - started
    base = rss[min(49, n - 1)]
    return {
        "questions": n,
        "model": settings.model,
        "max_answer_tokens": settings.max_answer_tokens,
        "seconds": round(seconds, 1),
        "rss_mb_after_question": {str(i + 1): rss[i] // 1024 for i in range(0, n, 50)}
        | {str(n): rss[-1] // 1024},
        "rss_mb_after_50": base // 1024,
        "rss_mb_last": rss[-1] // 1024,
        "growth": round(rss[-1] / base - 1, 4),
    }


def bench_soak(n: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--soak-child", str(n)], cwd=ROOT,
        env={**os.environ, **ENV}, stdout=subprocess.PIPE, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout.decode().strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=["chat", "soak"])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--upload-kb", type=int, default=1500)
    parser.add_argument("--soak", type=int, default=500)
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON files")
    parser.add_argument("--soak-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.soak_child:
        print(json.dumps(soak_child(args.soak_child)))
        return
    failed = False
    for name in args.only or ["chat", "soak"]:
        print(f"-- {name}", file=sys.stderr, flush=True)
        result: dict[str, Any] = {"machine": machine()}
        if name == "chat":
            result |= bench_chat(args.clients, args.questions, args.upload_kb)
            ok = result["answered"] == result["asked"] and result["answered_while_upload_indexing"]
            out = args.out / "load-chat.json"
        else:
            result |= bench_soak(args.soak)
            ok = result["growth"] <= MAX_RSS_GROWTH
            out = args.out / "soak-batch.json"
        result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        result["pass"] = bool(ok)
        failed |= not ok
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
        print(f"{'ok' if ok else 'FAILED'}: written to {out}", file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
