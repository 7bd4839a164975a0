"""Build the monthly / quarterly / yearly indicator report as one self-contained HTML file.

Inline CSS and server-side SVG charts only (no scripts, no CDN), so it opens offline and
prints. PDF is not produced: no renderer in the pinned stack (WeasyPrint needs system
Pango libraries); print the HTML to PDF from a browser when a PDF is required.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import text

from citydata.config import settings
from citydata.exchange.usage import report_section
from citydata.kpi import tiers as T
from citydata.kpi.periods import Period, parse_period, period_for, shanghai_iso
from citydata.kpi.read import before_platform, build_rows, ensure_computed, first_landed, stored
from citydata.registry import Registry, Targets, load_registry
from citydata.render.fmt import pct
from citydata.render.html import esc, table
from citydata.render.svg import line_chart
from citydata.warehouse.db import engine, sql_file
from citydata.warehouse.load import ts_param

TEXT = {
    "zh-CN": {
        "month": "沂南县部门数据实时采集与共享 月度进展报告", "quarter": "沂南县部门数据实时采集与共享 季度通报",
        "year": "沂南县部门数据实时采集与共享 年度考核报告",
        "period": "统计周期", "generated": "生成时间", "complete": "完整周期", "progress": "周期进行中(数据截至 {})",
        "summary": "全县指标与目标", "indicator": "指标", "value": "实际值", "target": "目标", "status": "状态",
        "met": "达标", "notmet": "未达标", "na": "不适用(分母为0)", "nodata": "无数据",
        "collection": "部门数据实时采集率", "sharing": "部门数据实时共享率", "energy": "家庭能源自动化采集覆盖率",
        "by_records": "按记录加权", "departments": "各部门指标", "department": "部门",
        "resources": "数据资源明细", "resource": "数据资源", "cycle": "更新周期", "sharing_type": "共享类型",
        "records": "记录数", "p95c": "采集时延P95", "p95s": "共享时延P95", "tier_c": "采集时效", "tier_s": "共享时效",
        "gaps": "断档数", "trend": "趋势", "gap_list": "断档清单", "gap_start": "开始", "gap_end": "结束",
        "gap_len": "时长(分钟)", "shortfalls": "声明实时但实测未达实时的数据资源", "reasons": "原因",
        "quality": "数据质量概况", "deliveries": "交付批次", "loaded": "成功", "partial": "部分入库",
        "rejected": "拒收", "rows_read": "读取行", "rows_loaded": "入库行", "rows_quarantined": "隔离行",
        "rows_duplicate": "重复行", "quarantine_open": "待处理隔离行", "formulae": "指标口径",
        "utility": "能源类别", "meters_active": "在用居民表", "meters_covered": "24小时内有自动读数的远传表",
        "none": "无", "more": "另有 {} 条未列出",
        "utilities": {"water": "水", "heat": "热", "gas": "燃气", "pooled": "合计"},
        "reason_names": {"no_data": "无数据", "gaps": "存在断档", "collection_latency": "采集时延超标",
                         "sharing_latency": "共享时延超标", "not_published": "未发布到共享层"},
    },
    "en": {
        "month": "Yinan County real-time collection and sharing: monthly progress report",
        "quarter": "Yinan County real-time collection and sharing: quarterly bulletin",
        "year": "Yinan County real-time collection and sharing: yearly assessment report",
        "period": "Period", "generated": "Generated", "complete": "complete period",
        "progress": "period in progress (data as of {})", "summary": "County indicators against targets",
        "indicator": "Indicator", "value": "Value", "target": "Target", "status": "Status", "met": "met",
        "notmet": "not met", "na": "n/a (denominator 0)", "nodata": "no data",
        "collection": "Real-time collection rate", "sharing": "Real-time sharing rate",
        "energy": "Household energy automated-collection coverage", "by_records": "record-weighted",
        "departments": "Departments", "department": "Department", "resources": "Data resources",
        "resource": "Resource", "cycle": "Update cycle", "sharing_type": "Sharing type", "records": "Records",
        "p95c": "Collection p95", "p95s": "Sharing p95", "tier_c": "Collection tier", "tier_s": "Sharing tier",
        "gaps": "Gaps", "trend": "Trend", "gap_list": "Gaps", "gap_start": "From", "gap_end": "To",
        "gap_len": "Minutes", "shortfalls": "Resources declared real-time that measure worse", "reasons": "Reasons",
        "quality": "Data quality", "deliveries": "Deliveries", "loaded": "loaded", "partial": "partial",
        "rejected": "rejected", "rows_read": "Rows read", "rows_loaded": "Loaded", "rows_quarantined": "Quarantined",
        "rows_duplicate": "Duplicate", "quarantine_open": "Open quarantine", "formulae": "Definitions",
        "utility": "Utility", "meters_active": "Active residential meters",
        "meters_covered": "Remote meters with an automatic reading in 24 h", "none": "none", "more": "{} more not shown",
        "utilities": {"water": "water", "heat": "heat", "gas": "gas", "pooled": "pooled"},
        "reason_names": {"no_data": "no data", "gaps": "gaps", "collection_latency": "collection latency",
                         "sharing_latency": "sharing latency", "not_published": "not published"},
    },
}

FORMULAE = {
    "zh-CN": """
<p><b>部门数据实时采集率</b> = 统计周期内实时采集的在范围数据资源数 ÷ 该部门在范围(高频领域)数据资源数。
数据资源在周期内被认定为<b>实时采集</b>,需同时满足:(1)周期内每个预期间隔都有记录(相邻记录的事件时间间隔不超过更新间隔+宽限期,
周期起点和截止点也计入);(2)采集时延(入库提交时间 t_landed − 事件时间 t_event)的第95百分位数(最近秩法)≤ 实时阈值 {rt} 分钟。</p>
<p><b>部门数据实时共享率</b> = 实时共享的数据资源数 ÷ 共享类型不是“不予共享”的在范围数据资源数。实时共享:已发布到共享层,
且共享时延(发布提交时间 t_published − t_event)的P95 ≤ {rt} 分钟;未发布的记录视为无限延迟。</p>
<p><b>全县</b>指标把所有部门的数据资源合并计数,不是各部门比率的平均值。<b>按记录加权</b>:时延在阈值内的记录数 ÷ 记录总数。</p>
<p><b>时效分级</b>:实时 ≤ {rt} 分钟,准实时 ≤ {nrt} 分钟,T+1 ≤ {t1} 小时,超过为超时。</p>
<p><b>家庭能源自动化采集覆盖率</b> = 统计截止前24小时内至少有1条自动读数的远传表数 ÷ 在用居民用户表数,按水、热、燃气分别计算并合计;目标 ≥ {et}。</p>
<p>周期按北京时间(Asia/Shanghai)自然日、月、季度划分,记录按事件时间归属周期;进行中的周期按截至生成时间的数据计算并标注。</p>
""",
    "en": """
<p><b>Real-time collection rate</b> = in-scope resources collected in real time ÷ in-scope resources. A resource is
collected in real time when every expected interval of the period has records (no gap between consecutive event times,
or from the period's start / to its measured end, longer than its update interval + grace) and the p95 (nearest rank) of
collection latency t_landed − t_event is ≤ {rt} min.</p>
<p><b>Real-time sharing rate</b> = resources shared in real time ÷ in-scope resources not 不予共享: published to the
sharing layer with p95 of t_published − t_event ≤ {rt} min; unpublished records count as infinitely late.</p>
<p><b>County</b> rates pool every department's resources (not a mean of department rates). <b>Record-weighted</b>:
records within the threshold ÷ records.</p>
<p><b>Tiers</b>: real-time ≤ {rt} min, near-real-time ≤ {nrt} min, T+1 ≤ {t1} h, late beyond.</p>
<p><b>Household energy coverage</b> = remote-read meters with ≥ 1 automatic reading in the 24 h before the period's
measured end ÷ active residential meters, per utility and pooled; target ≥ {et}.</p>
<p>Periods are Asia/Shanghai calendar days, months and quarters; records belong to a period by event time; a period in
progress is measured up to the time of computation and marked as such.</p>
""",
}

CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;border-bottom:2px solid #1f6feb;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f1f5fb}td.num{text-align:right}.met{color:#2b8a3e;font-weight:bold}.notmet{color:#c92a2a;font-weight:bold}
.meta{color:#555;font-size:13px}.formulae p{font-size:13px;line-height:1.6}
@media print{body{margin:0}h2{page-break-after:avoid}}
"""


def _status(met: bool | None, t: dict) -> str:
    if met is None:
        return f"<td>{esc(t['na'])}</td>"
    return f'<td class="met">{esc(t["met"])}</td>' if met else f'<td class="notmet">{esc(t["notmet"])}</td>'


def _num(v: object) -> str:
    return f'<td class="num">{esc(v)}</td>'


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f} min"


def _quality(period: Period, url: str | None) -> list[dict]:
    eng = engine(url)
    with eng.connect() as conn:
        d = conn.dialect.name
        rows = conn.execute(text(sql_file("kpi/quality_summary.sql", d)),
                            {"start": ts_param(period.start, d), "end": ts_param(period.end, d)})
        return [dict(r._mapping) for r in rows]


def _trend(period: Period, registry: Registry, url: str | None) -> tuple[list[str], list[dict | None]]:
    """County rows per day of a month, per month of a quarter or year (computed where missing).

    Sub-periods in the future or ended before the platform's first landing are None (a gap).
    """
    now = dt.datetime.now(dt.UTC)
    start = first_landed(url, registry)
    if period.kind == "month":
        subs = [period_for("day", d) for d in period.days()]
    else:
        subs = [period_for("month", d) for d in period.days() if d.day == 1]
    labels, points = [], []
    for sub in subs:
        labels.append(sub.key[5:] if sub.kind == "day" else sub.key)
        if sub.start >= now or before_platform(sub, start):
            points.append(None)
            continue
        ensure_computed(sub, registry, url, "auto")
        rows = build_rows(sub, stored(sub, url), registry)
        points.append(rows[-1] if rows else None)
    return labels, points


def render_kpi_report(period: Period, lang: str = "zh-CN", registry: Registry | None = None, url: str | None = None) -> str:
    """The whole report as one offline HTML document (computes the period first when needed)."""
    registry = registry or load_registry()
    t = TEXT[lang]
    ensure_computed(period, registry, url, "auto")
    data = stored(period, url)
    rows = build_rows(period, data, registry)
    county = rows[-1]
    title = t[period.kind]
    state = t["complete"] if county["complete"] else t["progress"].format(county["measured_until"])
    parts = [f"<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{esc(title)} {period.key}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>",
             f"<p class=\"meta\">{esc(t['period'])}: {period.key} ({esc(shanghai_iso(period.start))} — "
             f"{esc(shanghai_iso(period.end))}) · {esc(state)} · {esc(t['generated'])}: {esc(county['computed_at'])}</p>",
             *_summary(county, registry.targets, t),
             *_trend_charts(period, registry, url, t),
             *_departments(rows, t),
             *_resources(data["resources"], t, lang),
             *_shortfalls(county["realtime_shortfalls"], t, lang),
             *_gaps(data["gaps"], t),
             *_quality_section(_quality(period, url), t),
             report_section(period.start, period.end, lang, registry, url),  # use of shared data
             f"<h2>{esc(t['formulae'])}</h2><div class=\"formulae\">",
             _formulae(registry, lang),
             "</div></body></html>"]
    return "\n".join(parts)


def _section(heading: str, headers: list[str], rows: list[list[str]], t: dict) -> list[str]:
    """A heading and its table, or "none" when there are no rows."""
    return [f"<h2>{esc(heading)}</h2>", table(headers, rows) if rows else f"<p>{esc(t['none'])}</p>"]


def _rate_cell(rate: float | None, done: int, of: int) -> str:
    return _num(f"{pct(rate)} ({done}/{of})")


def _summary(county: dict, targets: Targets, t: dict) -> list[str]:
    """County indicators against their targets, then energy coverage per utility."""
    energy = pct(county["energy_auto_coverage"]) if county["energy_status"] != "no_data" else t["nodata"]
    rates = table([t["indicator"], t["value"], t["target"], t["status"], t["by_records"]], [
        [esc(t["collection"]),
         _rate_cell(county["collection_rate"], county["resources_collected_realtime"], county["resources_in_scope"]),
         _num(pct(targets.collection_rate)), _status(county["collection_met"], t), _num(pct(county["collection_rate_records"]))],
        [esc(t["sharing"]),
         _rate_cell(county["sharing_rate"], county["resources_shared_realtime"], county["resources_shareable"]),
         _num(pct(targets.sharing_rate)), _status(county["sharing_met"], t), _num(pct(county["sharing_rate_records"]))],
        [esc(t["energy"]), _num(energy), _num(pct(targets.energy_auto_coverage)), _status(county["energy_met"], t), "—"],
    ])
    utilities = [[esc(t["utilities"].get(e["utility"], e["utility"])),
                  _num(e["meters_active"] if e["meters_active"] is not None else "—"),
                  _num(e["meters_covered"] if e["meters_covered"] is not None else "—"),
                  _num(pct(e["coverage"]) if e["status"] != "no_data" else t["nodata"]), _status(e["met"], t)]
                 for e in county.get("energy_by_utility", [])]
    return [f"<h2>{esc(t['summary'])}</h2>", rates,
            table([t["utility"], t["meters_active"], t["meters_covered"], t["energy"], t["status"]], utilities)]


def _trend_charts(period: Period, registry: Registry, url: str | None, t: dict) -> list[str]:
    """The county's rates per day of the month (per month of the quarter), against the targets."""
    labels, points = _trend(period, registry, url)
    targets = registry.targets

    def series(key: str, label: str) -> dict:
        return {"key": key, "label": label, "values": [p[key] if p else None for p in points]}

    return [f"<h2>{esc(t['trend'])}</h2>",
            line_chart(labels, [series("collection_rate", t["collection"]), series("sharing_rate", t["sharing"])],
                       targets.collection_rate, t["target"], "trend-rates", title=f"{t['collection']} / {t['sharing']}"),
            line_chart(labels, [series("energy_auto_coverage", t["energy"])], targets.energy_auto_coverage, t["target"],
                       "trend-energy", title=t["energy"])]


def _departments(rows: list[dict], t: dict) -> list[str]:
    body = [[esc(f"{r['department_zh']} ({r['department']})"),
             _rate_cell(r["collection_rate"], r["resources_collected_realtime"], r["resources_in_scope"]),
             _status(r["collection_met"], t),
             _rate_cell(r["sharing_rate"], r["resources_shared_realtime"], r["resources_shareable"]),
             _status(r["sharing_met"], t),
             _num(f"{pct(r['collection_rate_records'])} / {pct(r['sharing_rate_records'])}"),
             _num(pct(r["energy_auto_coverage"]) if r["energy_utility"] and r["energy_status"] != "no_data" else "—")]
            for r in rows]
    return [f"<h2>{esc(t['departments'])}</h2>",
            table([t["department"], t["collection"], t["status"], t["sharing"], t["status"], t["by_records"],
                   t["energy"]], body)]


def _resources(resources: list[dict], t: dict, lang: str) -> list[str]:
    body = [[esc(f"{r['department']}.{r['resource']}" + ("" if r["in_scope"] else " *")), esc(r["update_cycle"]),
             esc(r["sharing_type"]), _num(r["records"]), _num(_minutes(r["p95_collect_s"])),
             esc(T.label(r["collect_tier"], lang)), _num(_minutes(r["p95_share_s"])),
             esc(T.label(r["share_tier"], lang)), _num(r["gaps"])] for r in resources]
    return [f"<h2>{esc(t['resources'])}</h2>",
            table([t["resource"], t["cycle"], t["sharing_type"], t["records"], t["p95c"], t["tier_c"], t["p95s"],
                   t["tier_s"], t["gaps"]], body),
            "<p class=\"meta\">* 不在实时指标统计范围 (not in scope of the rates)</p>"]


def _shortfalls(short: list[dict], t: dict, lang: str) -> list[str]:
    """Resources that are not real-time, with their tiers and why."""
    body = [[esc(f"{s['department']}.{s['resource']}"), esc(T.label(s["collect_tier"], lang)),
             esc(T.label(s["share_tier"], lang)), _num(s["gaps"]),
             esc("、".join(t["reason_names"].get(x, x) for x in s["reasons"]))] for s in short]
    return _section(t["shortfalls"], [t["resource"], t["tier_c"], t["tier_s"], t["gaps"], t["reasons"]], body, t)


def _gaps(gaps: list[dict], t: dict, limit: int = 200) -> list[str]:
    body = [[esc(f"{g['department']}.{g['resource']}"), esc(shanghai_iso(_dt(g["gap_start"]))),
             esc(shanghai_iso(_dt(g["gap_end"]))), _num(f"{float(g['gap_s']) / 60:.1f}")] for g in gaps[:limit]]
    out = _section(t["gap_list"], [t["resource"], t["gap_start"], t["gap_end"], t["gap_len"]], body, t)
    if len(gaps) > limit:
        out.append(f"<p>{esc(t['more'].format(len(gaps) - limit))}</p>")
    return out


QUALITY_COLUMNS = ("deliveries", "loaded", "partial", "rejected", "rows_read", "rows_loaded", "rows_quarantined",
                   "rows_duplicate", "quarantine_open")


def _quality_section(quality: list[dict], t: dict) -> list[str]:
    """Deliveries and rows per resource in the period, and the quarantine still open."""
    body = [[esc(f"{r['department']}.{r['resource']}"), *(_num(int(r[k] or 0)) for k in QUALITY_COLUMNS)]
            for r in quality]
    return _section(t["quality"], [t["resource"], *(t[k] for k in QUALITY_COLUMNS)], body, t)


def _formulae(registry: Registry, lang: str) -> str:
    tiers = registry.tiers
    return FORMULAE[lang].format(rt=f"{tiers.realtime_minutes:g}", nrt=f"{tiers.near_realtime_minutes:g}",
                                 t1=f"{tiers.t1_hours:g}", et=pct(registry.targets.energy_auto_coverage))


def _dt(v: object) -> dt.datetime | None:
    if v is None:
        return None
    return v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))


def write_kpi_report(period_key: str, lang: str = "zh-CN", registry: Registry | None = None, url: str | None = None,
                 out_dir: Path | None = None) -> Path:
    """Write ``$CITYDATA_HOME/reports/kpi-<YYYY-MM|YYYY-Qn|YYYY>.<lang>.html``; returns the path."""
    period = parse_period(period_key)
    if period.kind == "day":
        period = period_for("month", period.first_day)
    html = render_kpi_report(period, lang, registry, url)
    out_dir = out_dir or settings().reports_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"kpi-{period.key}.{lang}.html"
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
