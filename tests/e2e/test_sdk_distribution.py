"""The provider SDK installs alone: `pip install ./sdk` into a clean virtualenv brings
cryptography and httpx, none of the server's FastAPI, SQLAlchemy, psycopg or Argon2, and
the Magazine (with starlette, its own framework) runs on it and takes a payment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_ONLY = {"fastapi", "sqlalchemy", "psycopg", "psycopg-binary", "argon2-cffi", "alembic", "obolo"}

SCRIPT = r"""
import asyncio, base64, importlib, json, runpy, sys
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from obolo.sdk.payword import Certificate, HashChain, b64
from obolo.sdk.paywall import encode_header

for name in ("client", "claims", "gate", "mpp", "passes", "tap", "views", "webhooks", "wire", "wsgi", "x402"):
    importlib.import_module(f"obolo.sdk.{name}")
magazine = runpy.run_path(sys.argv[1])
key = Ed25519PrivateKey.generate()
site = magazine["magazine"]("provider-1", {"k1": key.public_key()}, "https://obolo.example", ":memory:")
chain = HashChain.generate(3)
certificate = Certificate("00000000-0000-0000-0000-000000000001", "provider-1", "EUR", 100_000, 3,
                          b64(chain.root), 4_000_000_000, "k1")
proof = {"scheme": "obolo-channel", "certificate": certificate.encode(certificate.sign(key)), "index": 1,
         "token": b64(chain.token(1))}

async def main():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=site), base_url="http://mag") as http:
        unpaid = await http.get("/articles/1")
        paid = await http.get("/articles/1", headers={"Payment": encode_header(proof)})
        free = await http.get("/free/1")
    modules = sorted(m for m in sys.modules if m.startswith("obolo"))
    return {"unpaid": unpaid.status_code, "paid": paid.status_code, "free": free.status_code,
            "x402": "payment-required" in unpaid.headers, "modules": modules}

print(json.dumps(asyncio.run(main())))
"""


@pytest.mark.slow
def test_the_sdk_installs_alone_in_a_clean_virtualenv_and_the_magazine_runs_on_it(tmp_path):
    """Only the SDK's own dependencies are installed; the Magazine answers 402, takes a channel
    payment (200) and serves its free page, importing nothing of the server."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    # A clean environment: no PYTHONPATH into the repository's src/; pip's own cache reused.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    install = [python, "-m", "pip", "install", "--quiet", str(ROOT / "sdk"), "starlette>=0.37"]
    subprocess.run(install, check=True, env=env, timeout=240)
    listed = subprocess.run(
        [python, "-m", "pip", "list", "--format=json"], check=True, env=env, capture_output=True, text=True
    )
    names = {item["name"].lower() for item in json.loads(listed.stdout)}
    assert "obolo-sdk" in names
    assert not names & SERVER_ONLY, names & SERVER_ONLY
    ran = subprocess.run(
        [python, "-c", SCRIPT, str(ROOT / "src" / "obolo" / "examples" / "magazine.py")],
        env=env, capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert (result["unpaid"], result["paid"], result["free"], result["x402"]) == (402, 200, 200, True)
    assert not [m for m in result["modules"] if m.split(".")[1:2] not in (["sdk"], ["money"], [])]
    gate = subprocess.run(
        [str(venv / "bin" / "obolo-gate"), "--help"], env=env, capture_output=True, text=True
    )
    assert gate.returncode == 0
    assert "--upstream" in gate.stdout
