"""Monthly / quarterly HTML report: offline (no scripts, no external resources), zh-CN, with the numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import build_scenario


def test_monthly_report_offline_with_targets_gaps_and_quality(home: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture) -> None:
    """Embedded backend only: the report reads the kpi tables, whose equality across backends
    tests/kpi/test_kpi_scenario.py already establishes (this one computes ~35 periods)."""
    from citydata.app.cli import main

    url = f"sqlite:///{home / 'warehouse.db'}"
    monkeypatch.setenv("CITYDATA_WAREHOUSE_URL", url)
    build_scenario(url, tmp_path, monkeypatch)
    assert main(["report", "--month", "2026-11"]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path == home / "reports" / "kpi-2026-11.zh-CN.html"
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and not re.search(r"(src|href)=\"https?:", html)
    assert html.count("<svg") == 2 and "月度进展报告" in html and 'lang="zh-CN"' in html
    for text in ("部门数据实时采集率", "部门数据实时共享率", "家庭能源自动化采集覆盖率", "目标", "未达标",
                 "断档清单", "数据质量概况", "指标口径", "beta.b2", "不予共享"):
        assert text in html, text
    # The day of the scenario appears in the trend; the gap of beta.b2 (07:00 → 19:00, 720 min) is listed.
    assert "2026-11-10T07:00:00+08:00" in html and "720.0" in html
    assert main(["report", "--quarter", "2026-Q4", "--lang", "en"]) == 0
    q = Path(capsys.readouterr().out.strip()).read_text(encoding="utf-8")
    assert "quarterly bulletin" in q and "Real-time collection rate" in q


def test_report_bad_usage_exits_2(home: Path) -> None:
    from citydata.app.cli import main

    for argv in (["report", "--month", "2026-13"], ["report", "--quarter", "2026-Q5"], ["report"],
                 ["kpi", "--period", "week"], ["kpi", "--date", "2026-02-30"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
