"""Bench: serving a resource of the sharing layer through the real sharing API, as a ratio to
``COPY (SELECT …) TO STDOUT`` of the same rows in the same run, with the server's peak RSS.

The sharing layer of water meter readings (无条件共享) is filled inside PostgreSQL
(generate_series, one publication), the API runs as `citydata share-api` in its own process
(its peak RSS is its own: VmHWM), and one GET streams every row as CSV, then as Parquet.
Run alone: ``python bench/share_api.py [ROWS]``; `make bench` calls ``run()`` from bench/run.py.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from pgdb import libpq, throwaway_database  # noqa: E402

COLUMNS = "meter_id, reading_time, reading_m3, battery_pct, read_method, district"


def fill(url: str, rows: int) -> str:
    """rows readings in share.water__meter_readings as one publication; returns the resource code."""
    from sqlalchemy import text

    from citydata.bootstrap import ensure_schema
    from citydata.registry import load_registry
    from citydata.warehouse.db import transaction

    registry = load_registry()
    ensure_schema(registry, url)
    res = registry.resource("water", "meter_readings")
    with transaction(url) as conn:
        conn.execute(text(
            f"INSERT INTO share.water__meter_readings ({COLUMNS}, _batch_id, _t_published) "
            "SELECT 'SW' || lpad((g % 20000)::text, 8, '0'), "
            "timestamptz '2026-11-01 00:00+08' + ((g / 20000) * interval '15 minutes'), "
            "(g % 997) * 0.25, (g % 100)::bigint, CASE WHEN g % 10 = 0 THEN 'manual' ELSE 'auto' END, '界湖街道', "
            "1, now() FROM generate_series(0, :n - 1) AS g"), {"n": rows})
        conn.execute(text(
            "INSERT INTO audit.publish_log (department, resource, batch_id, sharing_type, audience, rows_published, "
            "files_written, t_published) VALUES ('water', 'meter_readings', 1, '无条件共享', 'share_reader', :n, 0, "
            "now())"), {"n": rows})
    with transaction(url) as conn:
        conn.execute(text("ANALYZE share.water__meter_readings"))
    return res.code


def copy_out(url: str) -> tuple[float, int]:
    """COPY (SELECT the same rows, in the API's order) TO STDOUT: seconds and bytes."""
    import psycopg

    with psycopg.connect(libpq(url)) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        n = 0
        with cur.copy(f"COPY (SELECT {COLUMNS}, _t_published FROM share.water__meter_readings "
                      "WHERE _batch_id = 1 ORDER BY meter_id, reading_time) TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                n += len(chunk)
        return time.perf_counter() - t0, n


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _vmhwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(rows: int = 1_000_000, repeat: int = 3) -> dict:
    import httpx

    from citydata.exchange.tokens import add_consumer
    from citydata.warehouse.db import transaction

    with throwaway_database("cdbench_share") as url:
        code = fill(url, rows)
        with transaction(url) as conn:
            token = add_consumer(conn, "bench", rotate=True)["token"]
        port = _free_port()
        env = {**os.environ, "CITYDATA_WAREHOUSE_URL": url, "PYTHONPATH": str(REPO)}
        server = subprocess.Popen([sys.executable, "-m", "citydata.app.cli", "share-api", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(base + "/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"share-api did not start: {server.stderr.read().decode()[-500:]}")
                time.sleep(0.2)
            rss_idle = _vmhwm_mib(server.pid)
            out: dict = {"rows": rows, "copy_s": [], "rss_idle_mib": round(rss_idle, 1)}
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
                for fmt in ("csv", "parquet"):
                    out[f"{fmt}_s"], out[f"{fmt}_rows"] = [], []
                for fmt in ("csv", "parquet"):  # warm-up: first-use imports in the server
                    client.get(f"/share/v1/resources/{code}/rows", params={"limit": 10, "format": fmt})
                for _ in range(repeat):  # interleaved: the reference and both formats in every round
                    s, out["copy_bytes"] = copy_out(url)
                    out["copy_s"].append(s)
                    for fmt in ("csv", "parquet"):
                        t0 = time.perf_counter()
                        size = 0
                        with client.stream("GET", f"/share/v1/resources/{code}/rows",
                                           params={"limit": rows, "format": fmt}) as r:
                            r.raise_for_status()
                            for chunk in r.iter_bytes():
                                size += len(chunk)
                            out[f"{fmt}_rows"].append(int(r.headers["x-row-count"]))
                        out[f"{fmt}_s"].append(time.perf_counter() - t0)
                        out[f"{fmt}_bytes"] = size
            out["rss_peak_mib"] = round(_vmhwm_mib(server.pid), 1)
        finally:
            server.terminate()
            server.wait(30)
    copy = statistics.median(out["copy_s"])
    for fmt in ("csv", "parquet"):
        out[f"ratio_{fmt}"] = round(statistics.median(out[f"{fmt}_s"]) / copy, 2)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
                         int(os.environ.get("CITYDATA_BENCH_REPEAT", 3))), indent=2))
