"""The HTTP connector against the real mock parking API (uvicorn on a free port, in-process)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text

from citydata.asgi import serve_in_thread
from citydata.errors import CitydataError
from citydata.mock.parking_api import Faults, ParkingSystem, create_app
from citydata.sources.base import parse_time
from citydata.sources.http import HttpSource, retry_after_seconds
from tests.helpers import reserve_port

TOKEN = "s3cret-token"
FIELDS = ["session_id", "lot_id", "plate_no", "entry_time", "exit_time", "fee_yuan", "status", "updated_at"]
START = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)


@pytest.fixture
def api() -> Iterator[tuple[str, ParkingSystem, Faults]]:
    system = ParkingSystem(seed=7, now=START, backfill_hours=6, sessions_per_hour=300)
    faults = Faults(retry_after=0.2, slow_seconds=2.0)
    server = serve_in_thread(create_app(system, token=TOKEN, faults=faults, rate_limit=0, tick_seconds=0))
    yield server.url, system, faults
    server.stop()


def source(url: str, **kw) -> HttpSource:
    opts = {"token": TOKEN, "columns": FIELDS, "page_size": 50, "timeout": 5.0, "backoff": 0.05, "max_retries": 4}
    return HttpSource(url, "/api/v1/sessions", **{**opts, **kw})


def ids(pulled) -> list[str]:
    return [v for b in pulled.batches for v in b.column("session_id").to_pylist()]


def test_full_pull_pages_through_everything_once(api) -> None:
    url, system, _ = api
    pulled = source(url).pull(None)
    got = ids(pulled)
    assert len(got) == len(set(got)) == len(system.sessions) > 100
    assert pulled.pages == len(got) // 50 + 1
    assert pulled.watermark == max(r["updated_at"] for r in system.sessions.values()).replace(microsecond=0)


def test_updated_since_returns_new_and_changed_sessions_only(api) -> None:
    url, system, _ = api
    first = source(url).pull(None)
    before = {k: dict(v) for k, v in system.sessions.items()}
    system.step(START + dt.timedelta(minutes=40))
    second = source(url).pull(first.watermark)
    got = set(ids(second))
    new = set(system.sessions) - set(before)
    exited = {k for k, v in system.sessions.items() if k in before and v["status"] != before[k]["status"]}
    assert new and exited
    assert new | exited <= got
    unchanged = {k for k in before if k not in exited and before[k]["updated_at"] < first.watermark}
    assert not (got & unchanged)
    assert all(system.sessions[k]["status"] == "out" for k in exited)


def test_retries_through_5xx_429_and_malformed_json(api) -> None:
    url, system, faults = api
    faults.update({"next": ["error", "ratelimit", "malformed", "error", "malformed"]})
    started = time.monotonic()
    pulled = source(url, max_retries=6).pull(None)
    assert len(set(ids(pulled))) == len(system.sessions)
    assert pulled.attempts == pulled.pages + 5
    assert time.monotonic() - started >= 0.2  # waited the Retry-After of the 429
    assert not faults.next


def test_slow_response_times_out_and_is_retried(api) -> None:
    url, system, faults = api
    faults.update({"next": ["slow"], "slow_seconds": 3})
    pulled = source(url, timeout=0.5).pull(None)
    assert len(set(ids(pulled))) == len(system.sessions)
    assert pulled.attempts == pulled.pages + 1


def test_real_rate_limit_answers_429_with_retry_after_and_the_pull_still_completes() -> None:
    system = ParkingSystem(seed=3, now=START, backfill_hours=6, sessions_per_hour=300)
    # 1 request/s with a burst of 2: six requests in a row meet the limit unless they take over 4 s
    # (a loaded machine took about 0.25 s per request).
    server = serve_in_thread(create_app(system, token=TOKEN, rate_limit=1, burst=2, tick_seconds=0))
    try:
        r = [httpx.get(f"{server.url}/api/v1/lots", headers={"Authorization": f"Bearer {TOKEN}"}) for _ in range(6)]
        limited = [x for x in r if x.status_code == 429]
        assert limited and int(limited[0].headers["Retry-After"]) >= 1
        pulled = source(server.url, page_size=250).pull(None)
        assert len(set(ids(pulled))) == len(system.sessions)
        assert pulled.attempts > pulled.pages  # some pages were rate limited and retried
    finally:
        server.stop()


def test_gives_up_with_one_clear_error_after_max_retries(api) -> None:
    url, _, faults = api
    faults.update({"error": 1.0})
    with pytest.raises(CitydataError, match=r"failed after 3 attempt\(s\): HTTP 5\d\d"):
        source(url, max_retries=2).pull(None)


def test_wrong_token_fails_at_once(api, caplog: pytest.LogCaptureFixture) -> None:
    url, _, _ = api
    with caplog.at_level("WARNING"), pytest.raises(CitydataError, match="HTTP 401"):
        source(url, token="wrong").pull(None)
    assert not [r for r in caplog.records if "retry" in r.getMessage()]  # no retry: a 401 is final


def test_unreachable_server_fails_clearly() -> None:
    with reserve_port() as held:  # bound, never listening: connections are refused
        port = held.getsockname()[1]
        with pytest.raises(CitydataError, match="cannot connect"):
            source(f"http://127.0.0.1:{port}", max_retries=1).pull(None)


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("3") == 3
    assert retry_after_seconds(None) is None
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= retry_after_seconds(soon) <= 31


def test_pull_into_the_warehouse_three_times_with_exits_between(warehouse_url: str, api, monkeypatch) -> None:
    """Watermark pulls through citydata.sources.pull: no loss, no duplicates, exits applied."""
    from citydata.registry import load_registry
    from citydata.sources.pull import pull
    from citydata.warehouse.db import engine, qualify

    url, system, _ = api
    monkeypatch.setenv("CITYDATA_PARKING_API_URL", url)
    monkeypatch.setenv("CITYDATA_PARKING_API_TOKEN", TOKEN)
    res = load_registry().resource("parking", "sessions")
    for i in range(3):
        if i:
            system.step(START + dt.timedelta(minutes=30 * i))
        record = pull(res)
        assert record.status == "loaded", record
        assert record.rows_read == record.rows_loaded + record.rows_duplicate
        eng = engine(warehouse_url)
        with eng.connect() as conn:
            core = {r.session_id: r for r in conn.execute(
                text(f"SELECT {', '.join(FIELDS)} FROM {qualify('core', res.table, eng.dialect.name)}"))}
        assert set(core) == set(system.sessions)
        for sid, rec in system.sessions.items():
            assert core[sid].status == rec["status"]
            assert parse_time(core[sid].exit_time) == (rec["exit_time"].replace(microsecond=0) if rec["exit_time"] else None)


def test_unconfigured_source_is_skipped_not_failed(home, monkeypatch) -> None:
    from citydata.ingest.tasks import pull_resource

    monkeypatch.delenv("CITYDATA_PARKING_API_URL", raising=False)
    record = pull_resource("parking", "occupancy")
    assert record["status"] == "skipped" and "CITYDATA_PARKING_API_URL" in record["reason"]


def test_unreachable_source_fails_its_pull_and_is_audited(home, monkeypatch) -> None:
    from citydata.app.audit import audit_rows
    from citydata.ingest.tasks import pull_resource

    held = reserve_port()  # bound, never listening: connections are refused
    port = held.getsockname()[1]
    monkeypatch.setenv("CITYDATA_PARKING_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CITYDATA_PARKING_API_TOKEN", TOKEN)
    from citydata.registry import load_registry

    res = load_registry().resource("parking", "occupancy")
    from citydata.sources.pull import make_source

    src = make_source(res)
    src.max_retries, src.backoff = 1, 0.01
    from citydata.sources.pull import pull

    with held, pytest.raises(CitydataError, match="parking.occupancy: GET .* cannot connect"):
        pull(res, source=src)
    (row,) = [r for r in audit_rows("parking") if r["resource"] == "occupancy"]
    assert row["status"] == "rejected" and "source unavailable" in row["reason"] and row["rows_read"] == 0
    assert pull_resource  # the task entry point wraps the same pull
