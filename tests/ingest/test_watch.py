"""Landing-zone watcher: stability, ignored names, memory across restarts, and the Airflow trigger around it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from citydata.errors import CitydataError
from citydata.ingest.watch import LandingWatch, fallback_cron, poll_seconds, pull_cron, scan, state_path


def write(root: Path, rel: str, text: str = "a,b\n1,2\n", mtime: int | None = None) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    if mtime is not None:
        os.utime(p, ns=(mtime, mtime))
    return p


def test_scan_sees_deliveries_and_ignores_files_still_being_written(tmp_path: Path) -> None:
    write(tmp_path, "water/meter_readings/a.csv", "x" * 7)
    write(tmp_path, "water/meter_readings/b.csv.part")
    write(tmp_path, "water/meter_readings/c.csv.tmp")
    write(tmp_path, "water/meter_readings/.d.csv")
    write(tmp_path, "water/.hidden/e.csv")
    write(tmp_path, "water/stray.csv")  # misplaced: still announced, ingest rejects it with a reason
    write(tmp_path, "gas/meter_readings/other.csv")
    (tmp_path / "water" / "meters" / "nested").mkdir(parents=True)
    snap = scan(tmp_path, "water")
    assert set(snap) == {"water/meter_readings/a.csv", "water/stray.csv"}
    assert snap["water/meter_readings/a.csv"][0] == 7
    assert scan(tmp_path, "parking") == {}


def test_a_file_is_announced_once_after_two_equal_polls(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    watch = LandingWatch("water", tmp_path / "state.json")
    f = write(landing, "water/meter_readings/a.csv", "1", mtime=1_000)
    assert watch.poll(scan(landing, "water")) == []  # first sight: not yet known to be complete
    f.write_text("12")  # still growing
    os.utime(f, ns=(2_000, 2_000))
    assert watch.poll(scan(landing, "water")) == []
    [ann] = watch.poll(scan(landing, "water"))
    assert (ann.path, ann.size, ann.mtime_ns, ann.resource) == ("water/meter_readings/a.csv", 2, 2_000, "meter_readings")
    assert ann.payload()["department"] == "water"
    watch.remember(ann)
    assert watch.poll(scan(landing, "water")) == []  # not re-triggered while it waits
    assert watch.poll(scan(landing, "water")) == []


def test_a_file_quiet_for_the_settle_time_is_announced_at_first_sight(tmp_path: Path) -> None:
    """Written elsewhere and renamed in (mtime older than the settle time): no second poll needed;
    a file written just now still waits for two equal polls."""
    landing = tmp_path / "landing"
    watch = LandingWatch("water", None, settle_seconds=2.0)
    now = 10_000_000_000_000
    write(landing, "water/meter_readings/old.csv", "1", mtime=now - 2_000_000_000)
    write(landing, "water/meter_readings/new.csv", "1", mtime=now - 500_000_000)
    [ann] = watch.poll(scan(landing, "water"), now_ns=now)
    assert ann.path == "water/meter_readings/old.csv"
    watch.remember(ann)
    [ann] = watch.poll(scan(landing, "water"), now_ns=now + 1_000_000_000)  # unchanged since the first look
    assert ann.path == "water/meter_readings/new.csv"
    plain = LandingWatch("water", None)  # no settle time: only two equal polls count
    assert plain.poll(scan(landing, "water"), now_ns=now) == []


def test_memory_survives_a_restart_and_forgets_files_that_left(tmp_path: Path) -> None:
    landing, state = tmp_path / "landing", tmp_path / "watch" / "water.json"
    f = write(landing, "water/meters/m.csv", mtime=5_000)
    first = LandingWatch("water", state)
    first.poll(scan(landing, "water"))
    for ann in first.poll(scan(landing, "water")):
        first.remember(ann)
    assert json.loads(state.read_text())["announced"] == {"water/meters/m.csv": [f.stat().st_size, 5_000]}

    restarted = LandingWatch("water", state)  # a new triggerer process
    assert restarted.poll(scan(landing, "water")) == []
    assert restarted.poll(scan(landing, "water")) == []

    f.unlink()  # ingest archived it
    assert restarted.poll(scan(landing, "water")) == []
    assert json.loads(state.read_text())["announced"] == {}
    write(landing, "water/meters/m.csv", mtime=5_000)  # same name delivered again: a new delivery
    restarted.poll(scan(landing, "water"))
    assert [a.path for a in restarted.poll(scan(landing, "water"))] == ["water/meters/m.csv"]


def test_a_file_rewritten_in_place_is_announced_again(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    watch = LandingWatch("gas", None)
    f = write(landing, "gas/meters/m.csv", "1", mtime=1)
    watch.poll(scan(landing, "gas"))
    [a] = watch.poll(scan(landing, "gas"))
    watch.remember(a)
    f.write_text("22")
    os.utime(f, ns=(9, 9))
    watch.poll(scan(landing, "gas"))
    [b] = watch.poll(scan(landing, "gas"))
    assert (b.size, b.mtime_ns) == (2, 9)


def test_several_files_come_oldest_first(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(landing, "water/meter_readings/new.csv", mtime=3_000)
    write(landing, "water/meter_readings/old.csv", mtime=1_000)
    write(landing, "water/meters/mid.csv", mtime=2_000)
    watch = LandingWatch("water", None)
    watch.poll(scan(landing, "water"))
    assert [a.path.rsplit("/", 1)[1] for a in watch.poll(scan(landing, "water"))] == ["old.csv", "mid.csv", "new.csv"]


def test_an_unreadable_state_file_starts_empty_instead_of_crashing(tmp_path: Path) -> None:
    state = tmp_path / "water.json"
    state.write_text("{not json")
    assert LandingWatch("water", state).announced == {}
    state.write_text(json.dumps({"version": 99, "announced": {}}))
    assert LandingWatch("water", state).announced == {}


def test_schedule_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("CITYDATA_WATCH_POLL_SECONDS", "CITYDATA_INGEST_FALLBACK_CRON", "CITYDATA_PULL_CRON"):
        monkeypatch.delenv(var, raising=False)
    assert (poll_seconds(), fallback_cron(), pull_cron()) == (1.0, "*/15 * * * *", "*/5 * * * *")
    monkeypatch.setenv("CITYDATA_WATCH_POLL_SECONDS", "0.5")
    monkeypatch.setenv("CITYDATA_PULL_CRON", "*/2 * * * *")
    assert (poll_seconds(), pull_cron()) == (0.5, "*/2 * * * *")
    monkeypatch.setenv("CITYDATA_WATCH_POLL_SECONDS", "soon")
    with pytest.raises(CitydataError, match="CITYDATA_WATCH_POLL_SECONDS"):
        poll_seconds()
    monkeypatch.setenv("CITYDATA_INGEST_FALLBACK_CRON", "every minute")
    with pytest.raises(CitydataError, match="CITYDATA_INGEST_FALLBACK_CRON"):
        fallback_cron()
    assert state_path(Path("/h"), "gas") == Path("/h/watch/gas.json")


# --- the Airflow trigger around the logic -------------------------------------------------------


PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


@pytest.fixture(autouse=True)
def _plugins_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGINS))  # Airflow processes do this themselves (next test)


def test_airflow_processes_can_import_the_trigger_from_the_plugins_folder(home: Path) -> None:
    import subprocess
    import sys

    from citydata.app.airflow_env import airflow_environ

    code = "import airflow, citydata_airflow.triggers as t; print(t.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], env=airflow_environ(), capture_output=True, text=True,
                          timeout=120, cwd="/", check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("plugins/citydata_airflow/triggers.py")


def _trigger(landing: Path, state: Path):
    from citydata_airflow.triggers import LandingZoneTrigger

    return LandingZoneTrigger(department="water", landing_dir=str(landing), state_path=str(state), poll_seconds=0.02)


async def _collect(trigger, n: int, timeout: float = 10.0) -> list[dict]:
    out: list[dict] = []

    async def consume() -> None:
        async for event in trigger.run():
            out.append(event.payload)
            if len(out) == n:
                return

    await asyncio.wait_for(consume(), timeout)
    return out


def test_trigger_is_an_event_trigger_that_round_trips_through_serialize(tmp_path: Path) -> None:
    from airflow.sdk import Asset, AssetWatcher
    from airflow.triggers.base import BaseEventTrigger

    trig = _trigger(tmp_path, tmp_path / "s.json")
    assert isinstance(trig, BaseEventTrigger)
    classpath, kwargs = trig.serialize()
    module, _, name = classpath.rpartition(".")
    clone = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert clone.serialize() == (classpath, kwargs)
    Asset(name="landing.water", uri="citydata://landing/water", watchers=[AssetWatcher(name="w", trigger=trig)])


def test_trigger_announces_each_stable_file_once_and_keeps_them_across_restarts(tmp_path: Path) -> None:
    landing, state = tmp_path / "landing", tmp_path / "watch" / "water.json"
    a = write(landing, "water/meter_readings/a.csv")
    write(landing, "water/meter_readings/b.csv")
    write(landing, "water/meter_readings/c.csv.part")
    events = asyncio.run(_collect(_trigger(landing, state), 2))
    assert sorted(e["path"] for e in events) == ["water/meter_readings/a.csv", "water/meter_readings/b.csv"]
    assert a.exists(), "the watcher never deletes or moves a delivery"

    # Restart: only the file delivered since is announced, and the finished .part file once renamed.
    write(landing, "water/meters/m.csv")
    (landing / "water/meter_readings/c.csv.part").rename(landing / "water/meter_readings/c.csv")
    events = asyncio.run(_collect(_trigger(landing, state), 2))
    assert sorted(e["path"] for e in events) == ["water/meter_readings/c.csv", "water/meters/m.csv"]

    async def nothing_more() -> list[dict]:
        try:
            return await _collect(_trigger(landing, state), 1, timeout=0.5)
        except TimeoutError:
            return []

    assert asyncio.run(nothing_more()) == []
