"""The indicator table for people (zh-CN labels with English), each rate against its target."""

from __future__ import annotations

from citydata.render.fmt import pct
from citydata.render.table import render_table

NO_COVERAGE = {"no_data": "无数据 no data", "no_meters": "无在用居民表 no meters"}


def met(v: bool | None) -> str:
    return "—" if v is None else ("达标 met" if v else "未达标 not met")


def kpi_table(rows: list[dict]) -> str:
    """Per department and county-wide: collection, sharing, energy coverage vs 80% / 80% / 50%."""
    if not rows:
        return "(no indicators)"
    first = rows[0]
    state = "完整 complete" if first["complete"] else f"进行中 in progress (截至 as of {first['measured_until']})"
    cols = ["部门 department", "实时采集率 collection", "达标?", "实时共享率 sharing", "达标? ",
            "记录加权 采集/共享 by records", "家庭能源自动采集覆盖率 energy", "达标?  "]
    body = []
    for r in rows:
        energy = pct(r["energy_auto_coverage"]) if r["energy_utility"] else "n/a"
        if r["energy_utility"] and r["energy_status"] in NO_COVERAGE:
            energy = NO_COVERAGE[r["energy_status"]]
        body.append([
            f"{r['department_zh']} {r['department']}",
            f"{pct(r['collection_rate'])} ({r['resources_collected_realtime']}/{r['resources_in_scope']})",
            met(r["collection_met"]),
            f"{pct(r['sharing_rate'])} ({r['resources_shared_realtime']}/{r['resources_shareable']})",
            met(r["sharing_met"]),
            f"{pct(r['collection_rate_records'])} / {pct(r['sharing_rate_records'])}",
            energy,
            met(r["energy_met"]) if r["energy_utility"] else "",
        ])
    head = (f"指标 indicators — {first['period_type']} {first['period']} ({state})\n"
            f"目标 targets: 实时采集率 ≥ {pct(first['collection_target'])}, 实时共享率 ≥ {pct(first['sharing_target'])}, "
            f"家庭能源自动化采集覆盖率 ≥ {pct(first['energy_target'])}\n")
    lines = [head + render_table(cols, body)]
    county = rows[-1]
    if county["department"] == "county":
        energy = ", ".join(f"{e['utility']}: {NO_COVERAGE.get(e['status']) or pct(e['coverage'])}"
                           for e in county.get("energy_by_utility", []))
        lines.append(f"能源覆盖率 energy by utility: {energy}")
        short = county["realtime_shortfalls"]
        if short:
            lines.append("声明实时但未达实时 declared 实时 but measured worse:")
            for s in short:
                lines.append(f"  {s['department']}.{s['resource']}: 采集 {s['collect_tier_zh']}, 共享 {s['share_tier_zh']}, "
                             f"gaps {s['gaps']} ({', '.join(s['reasons'])})")
    return "\n".join(lines)
