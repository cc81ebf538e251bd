"""`obolo serve --workers 2`: two API processes behind one port answer, and /metrics adds
up what both counted."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx

from tests.e2e.test_server import free_port


def test_two_api_processes_share_the_port_and_their_metrics(tmp_path):
    """40 health checks spread over both processes: /metrics counts all 40."""
    port = free_port()
    url = f"sqlite:///{tmp_path / 'obolo.db'}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "obolo.entrypoints.cli",
            "serve",
            "--db",
            url,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for _ in range(39):
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        text = httpx.get(f"{base}/metrics", timeout=5).text
        counted = sum(
            float(value)
            for value in re.findall(
                r'^obolo_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)$', text, re.M
            )
        )
        assert counted == 40
    finally:
        server.terminate()
        server.wait(timeout=20)
