"""The answer half of `make bench`: the Assistant against raw llama.cpp on the default preset.

Owns: time to first token and total time of `Assistant.stream` vs `Llama.create_chat_completion`
with the very same messages, prompt-prefix reuse, n_threads/n_batch, prompt tokens over the dev
set, and the RSS of a process holding an Assistant (measured in a child process, so that the
BBC and synthetic-vector sections of the parent do not count).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "evals" / "seed.jsonl"
SEEDS = ROOT / "seeds"
PROBE_QUESTION = "What did Putin say about the treaty?"

from rag.articles import find_files, load_articles  # noqa: E402
from rag.assistant import Assistant  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.generation import LlamaGenerator, Message, _quiet_stderr  # noqa: E402
from rag.prompting import build_messages  # noqa: E402
from rag.records import Answer  # noqa: E402
from rag.retrieval import standalone  # noqa: E402
from rag.store import Index, build_index  # noqa: E402


class Recording:
    """A Generator that passes through to a real one and keeps the messages it was given."""

    def __init__(self, inner: LlamaGenerator) -> None:
        self.inner = inner
        self.messages: list[list[Message]] = []

    @property
    def usage(self) -> Any:
        return self.inner.usage

    @property
    def temperature(self) -> float:
        return self.inner.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.inner.temperature = value

    def load(self) -> Any:
        return self.inner.load()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, messages: list[Message]) -> Iterator[str]:
        self.messages.append(messages)
        return self.inner.stream(messages)


def seed_index(work: Path, embedder: SentenceTransformerEmbedder) -> Path:
    path = work / "seed"
    if not path.exists():
        build_index(path, load_articles(find_files([SEEDS]), print), embedder, 60, 1)
    return path


def dev_questions() -> list[tuple[str, bool]]:
    items = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    return [(i["question"], bool(i.get("answerable", True))) for i in items if "question" in i]


def time_assistant(assistant: Assistant, question: str) -> dict[str, Any]:
    started = time.perf_counter()
    first = None
    answer: Answer | None = None
    for item in assistant.stream(question):
        if isinstance(item, Answer):
            answer = item
        elif first is None:
            first = time.perf_counter() - started
    assert answer is not None
    return {
        "ttft_s": first, "total_s": time.perf_counter() - started,
        "retrieve_s": answer.timings.retrieve_s, "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    }  # fmt: skip


def time_raw(llm: Any, messages: list[Message], max_tokens: int) -> dict[str, Any]:
    """The same call LlamaGenerator makes, with nothing around it."""
    started = time.perf_counter()
    first = None
    pieces = 0
    for chunk in llm.create_chat_completion(
        messages=[{"role": m.role, "content": m.content} for m in messages],
        stream=True, temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0,
    ):  # fmt: skip
        if chunk["choices"][0]["delta"].get("content"):
            pieces += 1
            if first is None:
                first = time.perf_counter() - started
    return {"ttft_s": first, "total_s": time.perf_counter() - started, "completion_tokens": pieces}


def load_llama(path: Path, n_ctx: int, n_threads: int, n_batch: int) -> Any:
    from llama_cpp import Llama

    with _quiet_stderr():
        return Llama(
            model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, n_threads_batch=n_threads,
            n_batch=n_batch, verbose=False,
        )  # fmt: skip


def prompt_tokens(llm: Any, messages: list[Message]) -> list[int]:
    """The tokens llama-cpp-python evaluates for these messages (the GGUF's chat template)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    model = llm._model
    formatter = Jinja2ChatFormatter(
        template=llm.metadata["tokenizer.chat_template"],
        eos_token=model.token_get_text(llm.token_eos()),
        bos_token=model.token_get_text(llm.token_bos()) if llm.token_bos() != -1 else "",
    )
    text = formatter(messages=[{"role": m.role, "content": m.content} for m in messages]).prompt
    return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))


def prefix_reuse(llm: Any, first: list[Message], second: list[Message]) -> dict[str, Any]:
    """TTFT of `second` on a fresh context vs right after `first` (they share the fixed prefix),
    and what saving/restoring the llama state costs (what LlamaRAMCache would do per answer)."""
    llm.reset()
    cold = time_raw(llm, second, 1)["ttft_s"]
    time_raw(llm, first, 1)
    warm = time_raw(llm, second, 1)["ttft_s"]
    a, b = prompt_tokens(llm, first), prompt_tokens(llm, second)
    shared = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))  # fmt: skip
    state, save_s = _timed(llm.save_state)
    _, load_s = _timed(lambda: llm.load_state(state))
    return {
        "prompt_tokens": len(b), "shared_prefix_tokens": shared,
        "ttft_fresh_context_s": round(cold, 3), "ttft_after_other_question_s": round(warm, 3),
        "state_mb": round(state.llama_state_size / 2**20, 1),
        "save_state_s": round(save_s, 3), "load_state_s": round(load_s, 3),
    }  # fmt: skip


def _timed(fn: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def threads_and_batch(path: Path, n_ctx: int, messages: list[Message]) -> list[dict[str, Any]]:
    """Cold TTFT and decode speed for a real prompt, 16 new tokens, per setting."""
    rows = []
    for n_threads, n_batch in ((2, 512), (2, 256), (1, 512), (1, 256)):
        llm = load_llama(path, n_ctx, n_threads, n_batch)
        t = time_raw(llm, messages, 16)
        decode = (t["completion_tokens"] - 1) / (t["total_s"] - t["ttft_s"])
        rows.append({
            "n_threads": n_threads, "n_batch": n_batch, "ttft_s": round(t["ttft_s"], 2),
            "decode_tok_s": round(decode, 1),
        })  # fmt: skip
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        del llm
    return rows


def bench_answer(
    work: Path, embedder: SentenceTransformerEmbedder, n: int, n_threads: int = 0
) -> dict[str, Any]:
    settings = Settings(index=str(seed_index(work, embedder)), n_threads=n_threads)
    make = lambda: LlamaGenerator(  # noqa: E731
        settings.model, settings.n_ctx, settings.max_answer_tokens, settings.temperature,
        settings.n_threads,
    )  # fmt: skip
    recorder = Recording(make())
    assistant = Assistant(settings, Index(Path(settings.index)), embedder, recorder)
    assistant.load()
    raw = make().load()  # a second Llama, same file and parameters, its own context
    questions = [q for q, answerable in dev_questions() if answerable][:n]
    runs = []
    for q in questions:  # both contexts see the same sequence of prompts, so reuse is equal
        a = time_assistant(assistant, q)
        b = time_raw(raw, recorder.messages[-1], settings.max_answer_tokens)
        runs.append({"question": q, "assistant": a, "raw": b})
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    sums = {
        side: {k: sum(r[side][k] for r in runs) for k in ("ttft_s", "total_s")}
        for side in ("assistant", "raw")
    }
    retriever = assistant.retriever
    dev_tokens = []
    for q, _ in dev_questions():
        query = standalone(q, [])[0]
        passages = retriever.retrieve(
            query, settings.top_k, settings.min_score, settings.context_tokens
        )
        if passages:  # no passage: refused without calling the model
            dev_tokens.append(len(prompt_tokens(raw, build_messages(query, passages))))
    template_check = len(prompt_tokens(raw, recorder.messages[-1])) - runs[-1]["assistant"]["prompt_tokens"]  # fmt: skip
    return {
        "model": settings.model,
        "n_threads": recorder.inner.n_threads,
        "questions": len(runs),
        "runs": runs,
        "ttft_overhead": round(sums["assistant"]["ttft_s"] / sums["raw"]["ttft_s"] - 1, 4),
        "total_overhead": round(sums["assistant"]["total_s"] / sums["raw"]["total_s"] - 1, 4),
        "same_completion_tokens": all(
            r["assistant"]["completion_tokens"] == r["raw"]["completion_tokens"] for r in runs
        ),
        "dev_prompt_tokens": {
            "questions_reaching_the_model": len(dev_tokens),
            "median": statistics.median(dev_tokens),
            "max": max(dev_tokens),
            "counted_minus_reported_for_last_run": template_check,
        },  # fmt: skip
        "prefix_reuse": prefix_reuse(raw, recorder.messages[0], recorder.messages[-1]),
        "threads_batch": threads_and_batch(
            recorder.inner.path, settings.n_ctx, recorder.messages[-1]
        ),
    }


def _vm(field: str) -> int:
    """A /proc/self/status field, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return -1


def memory_probe(index: Path) -> dict[str, Any]:
    """Run in a child process: RSS holding a loaded Assistant, then while answering."""
    assistant = Assistant.from_settings(Settings(index=str(index)))
    assistant.load()
    idle = {"rss_mb": _vm("VmRSS"), "hwm_mb": _vm("VmHWM")}
    answer = assistant.ask(PROBE_QUESTION)
    return {
        "idle_after_load": idle,
        "after_answer": {"rss_mb": _vm("VmRSS"), "peak_hwm_mb": _vm("VmHWM")},
        "prompt_tokens": answer.prompt_tokens,
    }


def bench_memory(work: Path, embedder: SentenceTransformerEmbedder) -> dict[str, Any]:
    index = seed_index(work, embedder)
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench.py")), "--memory-probe", str(index)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def table_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = []
    if a := r.get("answer"):
        med = lambda side, k: statistics.median(x[side][k] for x in a["runs"])  # noqa: E731
        rows.append([f"answer TTFT, median s ({a['questions']} q, n_threads={a['n_threads']})", f"{med('assistant', 'ttft_s'):.2f}",
                     f"{med('raw', 'ttft_s'):.2f} (raw llama.cpp)", f"{100 * a['ttft_overhead']:+.1f}%", "<= 5%"])  # fmt: skip
        rows.append(["answer total, median s", f"{med('assistant', 'total_s'):.2f}",
                     f"{med('raw', 'total_s'):.2f} (raw llama.cpp)", f"{100 * a['total_overhead']:+.1f}%", "<= 5%"])  # fmt: skip
        d = a["dev_prompt_tokens"]
        rows.append(
            [
                "prompt tokens per answer, dev set median",
                str(d["median"]),
                f"max {d['max']}",
                "",
                "",
            ]
        )
        p = a["prefix_reuse"]
        rows.append(["TTFT with the prefix evaluated, s", str(p["ttft_after_other_question_s"]),
                     f"{p['ttft_fresh_context_s']} (fresh context)",
                     f"{p['shared_prefix_tokens']}/{p['prompt_tokens']} tokens reused", ""])  # fmt: skip
        for t in a["threads_batch"]:
            rows.append([f"n_threads={t['n_threads']} n_batch={t['n_batch']}: TTFT s / decode tok/s",
                         f"{t['ttft_s']} / {t['decode_tok_s']}", "", "", ""])  # fmt: skip
    if m := r.get("memory"):
        rows.append(["RSS of an Assistant, idle / peak answering, MiB",
                     f"{m['idle_after_load']['rss_mb']} / {m['after_answer']['peak_hwm_mb']}", "", "", ""])  # fmt: skip
    return rows
