"""rag: offline question answering over news articles with citations checked against the source."""

import os

# Everything runs offline: sentence-transformers and huggingface_hub must never try the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
