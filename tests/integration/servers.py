"""A server process for the integration tests: started, waited for until a URL answers 200,
and stopped however the test ends. Used for `rag chat`, `rag serve` and llama_cpp.server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(
    args: list[str],
    ready_url: str,
    log: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,  # indexing and loading both models on 2 busy cores
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `args` until the test is done; yield once `ready_url` answers 200 (a 503 while
    models load counts as not yet). A server that exits or never gets ready fails the test
    with the end of its log."""
    name = " ".join(args[1:3])
    with log.open("w") as out:
        server = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                pytest.fail(f"{name} exited {server.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError), urllib.request.urlopen(ready_url, timeout=5) as r:
                if r.status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not get ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
