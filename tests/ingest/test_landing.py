"""The per-file lookup the ingest tasks use agrees with the folder listing, for every kind of entry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from citydata.config import settings
from citydata.ingest import landing, tasks
from citydata.registry import load_registry


def _write(path: Path, text: str = "meter_id\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_waiting_file_judges_each_entry_as_the_listing_does(home: Path, tmp_path: Path) -> None:
    cfg, registry = settings(), load_registry()
    water = cfg.landing_dir / "water"
    outside = _write(tmp_path / "outside" / "secret.csv")
    _write(water / "meter_readings" / "good.csv")
    _write(water / "meter_readings" / "half.csv.part")  # still being written
    _write(water / "meter_readings" / ".hidden.csv")
    _write(water / "loose.csv")  # not inside a resource folder
    _write(water / "no_such_resource" / "x.csv")
    (water / "meter_readings" / "nested").mkdir()
    os.symlink(outside, water / "meter_readings" / "link.csv")
    os.symlink(outside.parent, water / "linked_folder", target_is_directory=True)

    listed = {f.path: f for f in landing.waiting_files(registry, "water", cfg)}
    assert {str(p.relative_to(water)) for p in listed} == {
        "meter_readings/good.csv", "loose.csv", "no_such_resource/x.csv", "meter_readings/nested",
        "meter_readings/link.csv", "linked_folder"}
    assert listed[water / "meter_readings" / "good.csv"].problem is None
    for path, entry in listed.items():
        assert landing.waiting_file(path, registry, "water", cfg) == entry
    for path in [water / "meter_readings" / "half.csv.part", water / "meter_readings" / ".hidden.csv",
                 water / "meter_readings" / "gone.csv", water / "linked_folder" / "secret.csv",
                 water / "meter_readings" / "nested" / "deeper.csv", cfg.landing_dir / "gas" / "meter_readings" / "g.csv"]:
        assert landing.waiting_file(path, registry, "water", cfg) is None, path


def test_ingest_path_skips_a_file_that_is_no_longer_waiting(home: Path) -> None:
    """A second task for the same file (its claim already taken, or it is archived) does nothing."""
    cfg = settings()
    f = _write(cfg.landing_dir / "water" / "meter_readings" / "r.csv",
               "meter_id,reading_time,reading_m3,read_method\nSW0100000001,2026-11-27 08:00:00,12.5,auto\n")
    first = tasks.ingest_path("water", "water/meter_readings/r.csv")
    assert first["status"] == "loaded" and first["rows_loaded"] == 1
    assert not f.exists()
    again = tasks.ingest_path("water", "water/meter_readings/r.csv")
    assert again["status"] == "skipped" and again["reason"] == "no longer waiting (already processed)"


def test_settle_waits_only_for_files_younger_than_the_settle_time(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write moves the mtime: a file already quiet for the settle time is taken without a wait;
    for a young one the wait lasts until it is old enough, and a file that moved meanwhile is left."""
    import time

    folder = home / "landing" / "water" / "meter_readings"
    folder.mkdir(parents=True)
    old, young = folder / "old.csv", folder / "young.csv"
    for p in (old, young):
        p.write_text("a\n")
    now = time.time_ns()
    os.utime(old, ns=(now - 200 * 10**9, now - 200 * 10**9))
    os.utime(young, ns=(now - 10**9, now - 10**9))
    files = [landing.Landed(old, "water", "meter_readings"), landing.Landed(young, "water", "meter_readings")]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if grow:
            young.write_text("a\nb\n")

    monkeypatch.setattr(landing.time, "sleep", sleep)
    grow = False
    assert landing.settled(files[:1], 100.0) == files[:1] and waits == []
    assert landing.settled(files, 100.0) == files
    assert len(waits) == 1 and 50 < waits[0] < 100  # the young file was ~1 s old: about 99 s more, not 100
    grow = True
    assert landing.settled(files, 100.0) == files[:1]
