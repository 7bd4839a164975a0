"""Raw layers are owner-only whatever the umask (issue 15, defect 8); the landing zone stays writable.

Under umask 022 (files 0644, folders 0755 by default) a run that archives, rejects, claims,
exports quarantine and writes the outbox must leave nothing of the raw layers readable by others.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from citydata.config import settings
from citydata.ingest import landing
from citydata.ingest.pipeline import ingest_department
from citydata.ingest.replay import export_quarantine
from citydata.notify.outbox import write_eml
from scripts.reliability_report import record_outcome
from tests.helpers import drop, local_text, recent

T0 = recent()


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def reading(i: int, value: str = "10.5") -> dict:
    return {"meter_id": f"SW01{i:08d}", "reading_time": local_text(T0), "reading_m3": value, "battery_pct": 80,
            "read_method": "auto", "district": "界湖街道"}


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_raw_layers_are_owner_only_under_umask_022(warehouse_url: str, umask_022: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    row = {"name": f"private_files[{warehouse_url.split(':')[0]}]", "rows_lost": None, "ok": False,
           "injected": "umask 022; archive, reject, claim, quarantine export, outbox, embedded warehouse",
           "outcome": "test did not finish"}
    monkeypatch.setenv("CITYDATA_STABLE_SECONDS", "0")
    cfg = settings()
    drop("water", "meter_readings", "good.csv", [reading(1), reading(2), reading(3, "-5")])
    drop("water", "meter_readings", "bad.csv", [{"x": 1}])
    landing_mode = stat.S_IMODE((cfg.landing_dir / "water" / "meter_readings").stat().st_mode)
    held_modes: list[dict[str, int]] = []
    original_claim = landing.claim

    def spying_claim(landed, c):  # noqa: ANN001, ANN202 — looks at processing/ while a file is held
        cm = original_claim(landed, c)

        class Spy:
            def __enter__(self):  # noqa: ANN204
                held = cm.__enter__()
                held_modes.append(modes(c.zone_root / "processing"))
                return held

            def __exit__(self, *exc):  # noqa: ANN002, ANN204
                return cm.__exit__(*exc)
        return Spy()

    monkeypatch.setattr(landing, "claim", spying_claim)
    records = ingest_department("water")
    assert sorted(r.status for r in records) == ["partial", "rejected"]
    [export] = export_quarantine("water")
    msg = EmailMessage()
    msg["To"], msg["Subject"] = "x@example.cn", "s"
    msg.set_content("body")
    write_eml(msg, cfg.outbox_dir)

    checked = {}
    for root in (cfg.archive_dir, cfg.rejected_dir, export.parent, cfg.outbox_dir):
        for rel, mode in modes(root).items():
            path = root / rel
            want = 0o700 if path.is_dir() else 0o600
            assert mode == want, f"{path}: {oct(mode)}"
            checked[str(path)] = mode
    assert len(held_modes) == 2
    assert all(m & 0o077 == 0 for hm in held_modes for p, m in hm.items() if not p.endswith(".lock"))
    if warehouse_url.startswith("sqlite"):
        db = Path(warehouse_url.split("///", 1)[1])
        for p in db.parent.glob(db.name + "*"):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    # the landing zone is not a raw layer: departments keep writing there
    assert stat.S_IMODE((cfg.landing_dir / "water" / "meter_readings").stat().st_mode) == landing_mode == 0o755
    row.update(ok=True, rows_lost=0, outcome=f"{len(checked)} files/folders of the raw layers 0600/0700; "
                                              "landing folders unchanged (0755)")
    record_outcome("leaks", row["name"], row)
