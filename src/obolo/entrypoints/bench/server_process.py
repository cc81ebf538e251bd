"""Waiting for an `obolo serve` a bench started: its bare `/healthz` answering is the
signal, its exit or a deadline the failure (with the end of its log)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_until_serving(process: subprocess.Popen[bytes], base: str, log: Path, seconds: float = 90) -> None:
    """Return once `base`/healthz answers 200; raise RuntimeError if the process ends or
    `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start:\n{log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)


__all__ = ["wait_until_serving"]
