"""`citydata generate --at`: the same seed and time give byte-identical files, whatever the wall clock says."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citydata.app.cli import main
from citydata.registry import load_registry

DEPARTMENTS = sorted(load_registry().departments)
DEFECTS = ["missing_required", "out_of_range", "invalid_code", "duplicate", "late", "future",
           "schema_renamed", "gbk_encoding", "truncated"]


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _generate(home: Path, out: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    monkeypatch.setenv("CITYDATA_HOME", str(home))
    assert main(["generate", *args, "--out", str(out)]) == 0
    return {**_tree(out), **{f"manifests/{k}": v for k, v in _tree(home / "manifests").items()}}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(department=st.sampled_from(DEPARTMENTS), seed=st.integers(0, 10_000),
       at=st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31),
                       timezones=st.just(dt.UTC)),
       defects=st.lists(st.sampled_from(DEFECTS), max_size=3, unique=True), rows=st.integers(1, 60))
def test_same_seed_and_time_give_byte_identical_files(tmp_path_factory: pytest.TempPathFactory,
                                                      monkeypatch: pytest.MonkeyPatch, department: str, seed: int,
                                                      at: dt.datetime, defects: list[str], rows: int) -> None:
    args = [department, "--seed", str(seed), "--rows", str(rows), "--at", at.isoformat(timespec="seconds")]
    if defects:
        args += ["--defects", ",".join(defects)]
    first = _generate(tmp_path_factory.mktemp("h"), tmp_path_factory.mktemp("o"), args, monkeypatch)
    time.sleep(1.1)  # the wall clock moved on: it must not matter
    second = _generate(tmp_path_factory.mktemp("h"), tmp_path_factory.mktemp("o"), args, monkeypatch)
    assert first and first == second


def test_another_time_or_seed_gives_other_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def rows(seed: int, at: str) -> list[bytes]:
        out = tmp_path / f"o-{seed}-{at}"
        _generate(tmp_path / f"h-{seed}-{at}", out, ["water", "--resource", "meter_readings", "--seed", str(seed),
                                                     "--at", at], monkeypatch)
        return [p.read_bytes() for p in sorted(out.rglob("*.csv"))]

    base = rows(1, "2026-12-02T08:30:00")
    assert base != rows(1, "2026-12-02T09:30:00") and base != rows(2, "2026-12-02T08:30:00")


def test_naive_at_is_county_time_and_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYDATA_HOME", str(tmp_path / "h"))
    assert main(["generate", "water", "--resource", "meters", "--at", "2026-12-02T08:30:00",
                 "--out", str(tmp_path / "o")]) == 0
    assert [p.name for p in (tmp_path / "o").rglob("*.csv")] == ["meters_20261202T003000_s0.csv"]


def test_bad_at_is_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["generate", "water", "--at", "yesterday"])
    assert exc.value.code == 2
    assert "bad timestamp 'yesterday'" in capsys.readouterr().err
