"""Embedding speed and quality by backend: torch batch sizes, ONNX, int8-quantised ONNX.

Usage: PYTHONPATH=/path/with/onnxruntime+optimum .venv/bin/python benchmarks/embed_backends.py
       [--topic business] [--out FILE]
The chunks are the body chunks (title line removed) of one BBC topic folder, read in place.
Quality is a headline task: each article's title, embedded as a query, should find a chunk of
its own article among the top k by cosine. Throughput is chunks/s of `encode` on those chunks.
ONNX variants need onnxruntime and onnx (+ ml_dtypes) importable; they are exported from the
bundled MiniLM with torch.onnx into a temp folder (nothing is downloaded), and skipped if that fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.articles import find_files, load_articles  # noqa: E402
from rag.chunking import chunk_text  # noqa: E402
from rag.embedding import _bundled_path  # noqa: E402

BBC = ROOT.parent / "shared" / "corpora" / "bbc"


def headline_task(topic: str, limit: int) -> tuple[list[str], list[int], list[str]]:
    """(chunk texts, article number of each chunk, titles) of the first `limit` articles."""
    articles = list(load_articles(find_files([BBC / topic])[:limit], print))
    texts, owners, titles = [], [], []
    for n, a in enumerate(articles):
        body = a.text.split("\n", 1)[1] if "\n" in a.text else a.text
        for c in chunk_text(a.id, body, 60, 1):
            texts.append(c.text)
            owners.append(n)
        titles.append(a.title)
    return texts, owners, titles


def recall(chunks: np.ndarray, owners: list[int], queries: np.ndarray, k: int) -> float:
    scores = queries @ chunks.T  # (n_titles, n_chunks)
    top = np.argsort(-scores, axis=1)[:, :k]
    owner = np.array(owners)
    return float(np.mean([n in owner[row] for n, row in enumerate(top)]))


def measure(model: Any, batch: int, texts: list[str], titles: list[str], owners: list[int]) -> dict:
    model.encode(texts[:64], batch_size=batch)  # warm up
    started = time.perf_counter()
    vectors = model.encode(texts, batch_size=batch, normalize_embeddings=True)
    seconds = time.perf_counter() - started
    queries = model.encode(titles, batch_size=batch, normalize_embeddings=True)
    return {
        "batch_size": batch,
        "chunks_per_s": round(len(texts) / seconds, 1),
        **{f"headline_recall@{k}": round(recall(vectors, owners, queries, k), 4) for k in (1, 5)},
    }


class OrtModel:
    """MiniLM exported with torch.onnx and run by onnxruntime, with the same mean pooling.

    sentence-transformers' own backend="onnx" needs optimum-onnx, whose latest release
    (0.1.0) does not import with transformers 5 (`is_offline_mode` is gone), hence this."""

    def __init__(self, file: Path, tokenizer: Any) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        self.file, self.tokenizer = file, tokenizer
        self.session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])

    @classmethod
    def export(cls, folder: Path) -> OrtModel:
        import torch
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(_bundled_path())
        bert = AutoModel.from_pretrained(_bundled_path()).eval()

        class Hidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.bert = bert  # a submodule, so its weights export as weights

            def forward(self, ids: Any, mask: Any, types: Any) -> Any:
                return self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

        sample = tokenizer(["a b", "c d e"], padding=True, return_tensors="pt")
        names = ["ids", "mask", "types"]
        torch.onnx.export(
            Hidden(), tuple(sample[k] for k in ("input_ids", "attention_mask", "token_type_ids")),
            str(folder / "model.onnx"), input_names=names, output_names=["hidden"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
            opset_version=17, dynamo=False,
        )  # fmt: skip
        return cls(folder / "model.onnx", tokenizer)

    def quantised(self, folder: Path) -> OrtModel:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(self.file), str(folder / "int8.onnx"), weight_type=QuantType.QInt8)
        return OrtModel(folder / "int8.onnx", self.tokenizer)

    def encode(self, texts: list[str], batch_size: int, normalize_embeddings: bool = True) -> Any:
        out = []
        for i in range(0, len(texts), batch_size):
            t = self.tokenizer(texts[i : i + batch_size], padding=True, truncation=True,
                               max_length=256, return_tensors="np")  # fmt: skip
            feed = {
                "ids": t["input_ids"],
                "mask": t["attention_mask"],
                "types": t["token_type_ids"],
            }
            hidden = self.session.run(None, feed)[0]  # (batch, tokens, 384)
            mask = t["attention_mask"][..., None].astype(np.float32)
            v = (hidden * mask).sum(1) / mask.sum(1)
            out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", default="business")
    parser.add_argument("--limit", type=int, default=200, help="articles of the topic")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch
    from sentence_transformers import SentenceTransformer

    texts, owners, titles = headline_task(args.topic, args.limit)
    print(f"{len(texts)} chunks, {len(titles)} titles, torch threads {torch.get_num_threads()}")
    rows = []
    model = SentenceTransformer(_bundled_path(), device="cpu")
    for batch in (32, 128):  # 32: the embedder's batch size
        rows.append({"backend": "torch", **measure(model, batch, texts, titles, owners)})
        print(json.dumps(rows[-1]), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            onnx = OrtModel.export(Path(tmp))
            int8 = onnx.quantised(Path(tmp))
        except Exception as exc:  # any missing piece of the ONNX stack skips these variants
            print(f"ONNX variants skipped: {type(exc).__name__}: {str(exc)[:300]}")
        else:
            for name, m in (("onnxruntime", onnx), ("onnxruntime-int8", int8), ("torch", model)):
                rows.append({"backend": name, **measure(m, 32, texts, titles, owners)})
                print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(
            json.dumps({"topic": args.topic, "articles": args.limit, "rows": rows}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
