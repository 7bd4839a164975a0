"""`citydata consumer|access|objection|access-log|catalog`: output shapes and exit codes (0, 1 one line, 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from tests.exchange.conftest import REPO, cli, token
from tests.helpers import wait_until


def test_consumer_tokens_are_shown_once_and_stored_hashed(registry, warehouse_url: str) -> None:  # noqa: ANN001
    made = cli("consumer", "add", "housing", "--json")
    assert made.returncode == 0, made.stderr
    out = json.loads(made.stdout)
    assert set(out) == {"consumer", "token"} and out["consumer"] == "housing" and len(out["token"]) > 40
    again = cli("consumer", "add", "housing")
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "--rotate" in again.stderr
    listed = cli("consumer", "list", "--json")
    assert out["token"] not in listed.stdout and json.loads(listed.stdout)[0]["status"] == "active"
    from sqlalchemy import text

    from citydata.exchange.tokens import token_hash
    from citydata.warehouse.db import engine, qualify

    with engine(warehouse_url).connect() as conn:
        stored = conn.execute(text(f"SELECT token_hash FROM {qualify('meta', 'exchange_consumers', conn.dialect.name)}"
                                   )).scalars().all()
    assert stored == [token_hash(out["token"])] and out["token"] not in stored
    assert cli("consumer", "revoke", "housing").returncode == 0
    assert json.loads(cli("consumer", "list", "--json").stdout)[0]["status"] == "revoked"


def test_exit_codes(registry, warehouse_url: str) -> None:  # noqa: ANN001
    one_line = [
        ("consumer", "revoke", "nobody"),
        ("consumer", "add", "Bad-Name"),
        ("access", "request", "--consumer", "police", "--resource", "NOPE", "--purpose", "x"),
        ("access", "request", "--consumer", "nobody", "--resource", "T-COND", "--purpose", "x"),
        ("access", "approve", "999"),
        ("objection", "resolve", "999", "--accept"),
        ("objection", "raise", "--consumer", "insurer", "--resource", "T-COND", "--key", "visit_id", "--field", "fee",
         "--reason", "x"),
    ]
    for args in one_line:
        r = cli(*args)
        assert r.returncode == 1, args
        assert r.stderr.startswith("citydata: error: ") and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    for args in [("consumer",), ("access", "approve", "x"), ("access", "request", "--consumer", "police"),
                 ("objection", "resolve", "1", "--accept", "--reject"), ("catalog", "--format", "xml"),
                 ("share-api", "--port", "nope")]:
        assert cli(*args).returncode == 2, args


def test_catalog_and_access_log_commands(registry, warehouse_url: str, tmp_path) -> None:  # noqa: ANN001
    doc = json.loads(cli("catalog", "--format", "jsonld").stdout)
    assert doc["@type"] == "dcat:Catalog" and len(doc["dcat:dataset"]) == 4
    plain = json.loads(cli("catalog", "--consumer", "police").stdout)["resources"]
    assert {e["code"]: e["may_read"] for e in plain}["T-COND"] is False
    out = tmp_path / "catalog.json"
    assert cli("catalog", "--out", str(out)).returncode == 0 and json.loads(out.read_text())["resources"]
    log = cli("access-log", "--json")
    assert log.returncode == 0 and json.loads(log.stdout) == []


def test_share_api_command_serves_on_the_port_it_prints(registry, warehouse_url: str) -> None:  # noqa: ANN001
    """`citydata share-api --port 0` as a process: binds, prints its URL, answers with auth enforced."""
    reader = token("insurer", warehouse_url)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "CITYDATA_WAREHOUSE_URL": warehouse_url}
    proc = subprocess.Popen([sys.executable, "-m", "citydata.app.cli", "share-api", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        head = proc.stdout.readline()
        assert head.startswith("sharing API on http://127.0.0.1:"), head
        base = head.split()[3].removesuffix("/share/v1")

        def healthy() -> bool:
            try:
                return httpx.get(f"{base}/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, 60, "share-api", proc=proc)
        assert httpx.get(f"{base}/share/v1/catalog").status_code == 401
        shown = httpx.get(f"{base}/share/v1/catalog", headers={"Authorization": f"Bearer {reader}"})
        assert shown.status_code == 200 and "T-OPEN" in shown.text
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
