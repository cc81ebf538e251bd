"""Pictures of the pages as people see them: `make screenshots` writes docs/screenshots/*.png.

A fresh `obolo serve --demo` (with the Magazine beside it) on a throwaway SQLite file, Debian's
chromium through Playwright, every page in English and Italian, on a desktop and on a phone.
Any page that fails to load stops the run: a missing picture is a finding, not a skip."""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from obolo.entrypoints.demo import DEMO_PASSWORD, PEOPLE
from obolo.entrypoints.demo_sites import PROVIDER_EMAIL, PROVIDER_PASSWORD

CHROMIUM = "/usr/bin/chromium"
LOCALES = {"en": "en-GB", "it": "it-IT"}
# one demo reader a language, so that each is asked for consent once and the popup is pictured
READERS = {"en": PEOPLE[0][0], "it": PEOPLE[1][0]}
DEVICES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
# name of the picture → path on the platform, and who looks at it
PAGES = [
    ("wallet", "/wallet", "reader"),
    ("history", "/wallet/history", "reader"),
    ("reading", "/reading", "reader"),
    ("tasks-employer", "/tasks/employer", "reader"),
    ("tasks-work", "/tasks/work", "reader"),
    ("operator", "/operator", "reader"),
    ("sms-simulator", "/sms/simulator", "reader"),
    ("operator-checkout-disputes", "/operator/checkout-disputes", "reader"),
    ("account", "/account", "reader"),
    ("operator-person", "/operator/people/{person}", "reader"),
    ("provider", "/provider", "provider"),
    ("provider-payment-requests", "/provider/payment-requests", "provider"),
]


@dataclass(frozen=True)
class Sites:
    obolo: str
    magazine: str
    database_url: str
    person: str = ""  # the id of a demo person, for the operator's person page


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{what} did not answer at {url}")


@contextmanager
def demo_sites(folder: Path) -> Iterator[Sites]:
    """`obolo serve --demo` and the Magazine, as `make run` starts them, stopped after."""
    port, magazine_port = free_port(), free_port()
    url = f"sqlite:///{folder / 'obolo.db'}"
    obolo = [sys.executable, "-m", "obolo.entrypoints.cli"]
    server = subprocess.Popen(
        [*obolo, "serve", "--db", url, "--port", str(port), "--demo", "--magazine-port", str(magazine_port)],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sites = Sites(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{magazine_port}", url)
        wait_for(f"{sites.obolo}/healthz", server, "obolo serve")
        with httpx.Client(base_url=sites.obolo, timeout=10) as http:
            token = http.post("/v1/sessions", json={"email": PEOPLE[1][0], "password": DEMO_PASSWORD})
            me = http.get("/v1/me", headers={"Authorization": f"Bearer {token.json()['token']}"})
            sites = dataclasses.replace(sites, person=me.json()["id"])
        wait_for(f"{sites.magazine}/healthz", server, "the Magazine")
        for reader in READERS.values():
            subprocess.run([*obolo, "users", "grant", reader, "operator", "--db", url], check=True,
                           stdout=subprocess.DEVNULL)  # fmt: skip
            with httpx.Client(base_url=sites.obolo, timeout=10) as http:
                signed_in = http.post("/v1/sessions", json={"email": reader, "password": DEMO_PASSWORD})
                auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
                for role in ("employer", "worker"):
                    http.post("/v1/me/roles", json={"role": role}, headers=auth)
        yield sites
    finally:
        server.terminate()
        server.wait(timeout=20)


def sign_in(page: Page, obolo: str, email: str, password: str) -> None:
    page.goto(f"{obolo}/signin")
    page.fill("#f-email", email)
    page.fill("#f-password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"  {name}.png")


def pay_an_article(page: Page, sites: Sites, out: Path, suffix: str) -> None:
    """The reader pays the Magazine's first article through the widget's popup."""
    page.goto(f"{sites.magazine}/articles/1")
    shoot(page, out, f"magazine-paywall-{suffix}")
    with page.expect_popup() as opened:
        page.locator("button.obolo-pay").click()
    popup = opened.value
    try:
        popup.wait_for_load_state("networkidle")
        shoot(popup, out, f"widget-popup-{suffix}")
        popup.locator("[data-pay]:enabled").first.click(timeout=5_000)
    except PlaywrightError:
        print("  (the popup paid and closed at once: this reader had already agreed)")
    page.wait_for_load_state("networkidle")
    shoot(page, out, f"magazine-article-{suffix}")


def take_all(browser: Browser, sites: Sites, out: Path) -> None:
    for language, locale in LOCALES.items():
        reader = READERS[language]
        for device, options in DEVICES.items():
            suffix = f"{language}-{device}"
            print(f"{suffix}:")
            context = browser.new_context(locale=locale, **options)
            page = context.new_page()
            sign_in(page, sites.obolo, reader, DEMO_PASSWORD)
            pay_an_article(page, sites, out, suffix)
            for name, path, who in PAGES:
                if who != "reader":
                    continue
                page.goto(f"{sites.obolo}{path.format(person=sites.person)}")
                shoot(page, out, f"{name}-{suffix}")
            context.close()
            context = browser.new_context(locale=locale, **options)
            page = context.new_page()
            sign_in(page, sites.obolo, PROVIDER_EMAIL, PROVIDER_PASSWORD)
            for name, path, who in PAGES:
                if who == "provider":
                    page.goto(f"{sites.obolo}{path}")
                    shoot(page, out, f"{name}-{suffix}")
            context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("docs/screenshots"))
    out = parser.parse_args().out.resolve()
    executable = CHROMIUM if os.access(CHROMIUM, os.X_OK) else shutil.which("chromium")
    if not executable:
        raise SystemExit("no chromium: `make browser` installs Debian's as root")
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="obolo-shots-") as folder,
        demo_sites(Path(folder)) as sites,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            take_all(browser, sites, out)
        finally:
            browser.close()


if __name__ == "__main__":
    main()
