"""For the browser tests of paying on another site: Debian's chromium driven by Playwright,
a real `obolo serve` and the Magazine (`obolo demo magazine`) as subprocesses on free
loopback ports, and a third site on another origin that plays the attacker."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_server import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a long enough password"


def browser_or_skip() -> Any:
    """Playwright's chromium over Debian's binary; one clear skip line where it cannot run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: playwright is not installed (make install)")
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        pytest.skip(f"browser tests skipped: no chromium at {CHROMIUM} (make test apt-installs it as root)")
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    with sync_playwright() as playwright:
        executable = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _wait(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer at {url}")


@dataclass
class Sites:
    obolo: str
    magazine: str
    database: Path

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """Read the platform's database (the test checks what the pages claim)."""
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, args).fetchall()


def start_sites(tmp_path: Path, **env: str) -> Iterator[Sites]:
    """`obolo serve` and the Magazine on free ports, stopped afterwards."""
    database = tmp_path / "obolo.db"
    port, magazine_port = free_port(), free_port()
    environment = dict(os.environ, OBOLO_DATABASE_URL=f"sqlite:///{database}", **env)
    obolo = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "obolo.entrypoints.cli", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes = [server]
    try:
        _wait(f"{obolo}/healthz", server, "obolo serve")
        magazine = subprocess.Popen(
            [sys.executable, "-m", "obolo.entrypoints.cli", "demo", "magazine", "--port", str(magazine_port),
             "--server", obolo, "--store", str(tmp_path / "magazine.db")],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(magazine)
        _wait(f"http://127.0.0.1:{magazine_port}/healthz", magazine, "the Magazine")
        yield Sites(obolo, f"http://127.0.0.1:{magazine_port}", database)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def sign_up(page: Any, obolo: str, email: str, name: str = "Reader") -> None:
    """Through the sign-up page."""
    page.goto(f"{obolo}/signup")
    page.fill("#f-display_name", name)
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    # Sign-up signs nobody in (it answers a taken address alike): then the sign-in page.
    page.wait_for_url(f"{obolo}/signin*")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{obolo}/wallet*")


def top_up(page: Any, obolo: str, amount: str) -> None:
    """Through the wallet page's form, with the sandbox test card."""
    page.goto(f"{obolo}/wallet")
    form = page.locator("form[action='/wallet/topup']")
    form.locator("#f-amount").fill(amount)
    form.locator("#f-number").fill("4242 4242 4242 4242")
    form.locator("#f-cvc").fill("123")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{obolo}/wallet*")


def pay_on_magazine(page: Any, magazine: str, article: int) -> Any:
    """Open an article on the Magazine and click the widget's pay button; returns the
    popup (already handed over to the page, or waiting for the reader)."""
    page.goto(f"{magazine}/articles/{article}")
    with page.expect_popup() as opened:
        page.locator("button.obolo-pay").click()
    popup = opened.value
    popup.wait_for_load_state()
    return popup


def article_shown(page: Any) -> None:
    """The Magazine's page now shows the article itself, not its pay box."""
    page.wait_for_function("() => !document.querySelector('.priced')", timeout=15_000)
