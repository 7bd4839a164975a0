"""Data for the indicator dashboard (the Airflow UI plugin), shaped for the page and its JSON API.

One source of truth: every rate comes from ``citydata.kpi`` — the same function that
``citydata kpi --json`` prints — passed through unchanged; nothing here recomputes a rate.
What this module adds is operational context read from the audit log (freshness per
resource, the latest ingest runs with their quarantine counts) and the labels of the page.
No Airflow imports: the plugin under ``plugins/citydata_airflow/dashboard/`` is a thin HTTP layer.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from sqlalchemy import text

from citydata.config import settings
from citydata.domain.time import LOCAL_TZ
from citydata.errors import CitydataError
from citydata.kpi import tiers
from citydata.kpi.compute import ready
from citydata.kpi.periods import period_for
from citydata.kpi.read import before_platform, first_landed, read_kpis
from citydata.registry import Registry, load_registry
from citydata.render.fmt import one_decimal
from citydata.render.i18n import DEFAULT_LANG, ZH_CN, check_lang
from citydata.warehouse.db import engine, sql_file

PERIODS = ("day", "month", "quarter")
TREND_DAYS = 30
RUNS_LIMIT = 20

LABELS: dict[str, dict[str, str]] = {
    ZH_CN: {
        "title": "数据汇聚指标",
        "subtitle": "部门数据实时采集率、实时共享率与家庭能源自动化采集覆盖率",
        "period": "统计周期",
        "day": "日",
        "month": "月",
        "quarter": "季度",
        "as_of": "数据截至",
        "county": "全县",
        "department": "部门",
        "collection_rate": "实时采集率",
        "sharing_rate": "实时共享率",
        "target": "目标",
        "met": "达标",
        "not_met": "未达标",
        "no_data": "无数据",
        "rates_by_department": "各部门实时采集率与共享率",
        "county_rates": "全县汇总",
        "trend": "近30天趋势",
        "trend_collection": "实时采集率（日）",
        "trend_sharing": "实时共享率（日）",
        "energy": "家庭能源自动化采集覆盖率",
        "utility": "能源类别",
        "pooled": "合计",
        "water": "水",
        "heat": "热",
        "gas": "气",
        "meters_auto": "自动采集表数",
        "meters_active": "在用居民表数",
        "gaps": "声明实时但未达实时的资源",
        "no_gaps": "没有差距：声明为实时的资源均已达到实时。",
        "resource": "数据资源",
        "declared": "声明更新周期",
        "measured_tier": "实测时效等级",
        "freshness": "数据新鲜度",
        "last_landed": "最近入库时间",
        "age": "距今",
        "expected_every": "应更新间隔",
        "fresh": "正常",
        "stale": "超时",
        "never": "从未入库",
        "unconfigured": "来源未配置",
        "runs": "最近采集运行",
        "run": "运行",
        "files": "文件数",
        "rows_read": "读取行数",
        "rows_loaded": "入库行数",
        "rows_quarantined": "隔离行数",
        "rows_duplicate": "重复行数",
        "status": "状态",
        "started": "开始时间",
        "outside_airflow": "命令行运行",
        "no_runs": "尚无采集记录。",
        "run_loaded": "已入库",
        "run_partial": "部分隔离",
        "run_rejected": "有文件被拒收",
        "tier_realtime": "实时",
        "tier_near_realtime": "准实时",
        "tier_t1": "T+1",
        "tier_late": "超过24小时",
        "tier_none": "无数据",
        "minutes": "分钟",
        "hours": "小时",
        "days": "天",
        "just_now": "刚刚",
        "switch_lang": "English",
        "source_note": "数值与 citydata kpi --json 同源（同一周期）。",
        "gap_p95": "采集时延P95",
        "coverage": "覆盖率",
    },
    "en": {
        "title": "Data aggregation indicators",
        "subtitle": "Department real-time collection and sharing rates, household-energy automated collection coverage",
        "period": "Period",
        "day": "Day",
        "month": "Month",
        "quarter": "Quarter",
        "as_of": "As of",
        "county": "County-wide",
        "department": "Department",
        "collection_rate": "Real-time collection rate",
        "sharing_rate": "Real-time sharing rate",
        "target": "Target",
        "met": "met",
        "not_met": "not met",
        "no_data": "no data",
        "rates_by_department": "Collection and sharing rates by department",
        "county_rates": "County-wide",
        "trend": "Last 30 days",
        "trend_collection": "Real-time collection rate (daily)",
        "trend_sharing": "Real-time sharing rate (daily)",
        "energy": "Household-energy automated collection coverage",
        "utility": "Utility",
        "pooled": "Pooled",
        "water": "Water",
        "heat": "Heat",
        "gas": "Gas",
        "meters_auto": "Auto-read meters",
        "meters_active": "Active residential meters",
        "gaps": "Resources declaring real-time that measure worse",
        "no_gaps": "No gaps: every resource declaring real-time measures real-time.",
        "resource": "Resource",
        "declared": "Declared update cycle",
        "measured_tier": "Measured tier",
        "freshness": "Freshness",
        "last_landed": "Last landed",
        "age": "Age",
        "expected_every": "Expected every",
        "fresh": "fresh",
        "stale": "stale",
        "never": "never landed",
        "unconfigured": "source not configured",
        "runs": "Latest ingest runs",
        "run": "Run",
        "files": "Files",
        "rows_read": "Rows read",
        "rows_loaded": "Loaded",
        "rows_quarantined": "Quarantined",
        "rows_duplicate": "Duplicates",
        "status": "Status",
        "started": "Started",
        "outside_airflow": "CLI run",
        "no_runs": "No ingest runs yet.",
        "run_loaded": "loaded",
        "run_partial": "partly quarantined",
        "run_rejected": "file(s) rejected",
        "tier_realtime": "real-time",
        "tier_near_realtime": "near-real-time",
        "tier_t1": "T+1",
        "tier_late": "late (> 24 h)",
        "tier_none": "no data",
        "minutes": "min",
        "hours": "h",
        "days": "d",
        "just_now": "just now",
        "switch_lang": "中文",
        "source_note": "Numbers come from the same source as `citydata kpi --json` for the same period.",
        "gap_p95": "Collection latency p95",
        "coverage": "Coverage",
    },
}


# The catalogue's update cycles (更新周期) are Chinese terms of the standard; English names for the page.
CYCLES_EN = {"实时": "real-time", "每日": "daily", "每周": "weekly", "每月": "monthly", "按需": "on demand"}


def cycle_label(cycle: str, lang: str) -> str:
    return cycle if lang == ZH_CN else CYCLES_EN.get(cycle, cycle)


def labels(lang: str) -> dict[str, str]:
    return LABELS[check_lang(lang)]


def check_period(period: str | None) -> str:
    period = period or "month"
    if period not in PERIODS:
        raise CitydataError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    return period


def parse_day(value: str | None, now: dt.datetime | None = None) -> dt.date:
    """The reporting date (Asia/Shanghai calendar); today when not given."""
    if not value:
        return (now or dt.datetime.now(dt.UTC)).astimezone(LOCAL_TZ).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CitydataError(f"bad date {value!r}: expected YYYY-MM-DD") from None


def as_utc(value: object) -> dt.datetime | None:
    """A warehouse timestamp (datetime on PostgreSQL, ISO text on SQLite) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a timestamp: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def shanghai_text(value: dt.datetime | None) -> str | None:
    """'YYYY-MM-DD HH:MM' in Asia/Shanghai, the way the page shows times."""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else None


def age_text(seconds: float | None, lang: str) -> str:
    """A short human age: '12 分钟', '3.5 小时', '2 天' (or English)."""
    lab = labels(lang)
    if seconds is None:
        return "—"
    if seconds < 60:
        return lab["just_now"]
    minutes = seconds / 60
    if minutes < 120:
        return f"{minutes:.0f} {lab['minutes']}"
    hours = minutes / 60
    if hours < 48:
        return f"{one_decimal(hours)} {lab['hours']}"
    return f"{one_decimal(hours / 24)} {lab['days']}"


def _ready(url: str, registry: Registry | None = None) -> Registry:
    """The registry, with the warehouse schema created once per process (kpi's cache)."""
    registry = registry or load_registry()
    ready(registry, url)
    return registry


def freshness(url: str | None = None, now: dt.datetime | None = None, lang: str = DEFAULT_LANG,
              registry: Registry | None = None) -> list[dict[str, Any]]:
    """Per registry resource: when rows last landed in core, how long ago, and whether that is late.

    A resource is stale when nothing landed for longer than its update interval plus grace
    (the same expectation the collection rate uses), never when nothing ever landed, and
    "unconfigured" (来源未配置, with the missing variable) when its pull has no source here.
    """
    url = url or settings().warehouse_url
    registry = _ready(url, registry)
    now = now or dt.datetime.now(dt.UTC)
    with engine(url).connect() as conn:
        rows = conn.execute(text(sql_file("dashboard/freshness.sql", conn.dialect.name))).mappings().all()
    last = {(r["department"], r["resource"]): as_utc(r["last_landed"]) for r in rows}
    out = []
    for res in registry.resources:
        dept = registry.departments[res.department]
        landed = last.get((res.department, res.name))
        age = (now - landed).total_seconds() if landed else None
        expected_s = (res.interval_minutes + res.grace_minutes) * 60
        state = "never" if landed is None else ("fresh" if age <= expected_s else "stale")
        missing = res.missing_setting()  # this process's environment, the same as the workers' (one env)
        if missing and state != "fresh":
            state = "unconfigured"
        out.append({
            "department": res.department,
            "department_name": dept.name_zh if lang == ZH_CN else dept.name_en,
            "resource": res.name,
            "resource_name": res.name_zh if lang == ZH_CN else res.name_en,
            "update_cycle": cycle_label(res.update_cycle, lang),
            "expected_seconds": expected_s,
            "last_landed": landed.isoformat() if landed else None,
            "last_landed_local": shanghai_text(landed),
            "age_seconds": round(age, 1) if age is not None else None,
            "age_text": age_text(age, lang),
            "state": state,
            "missing_setting": missing,
        })
    return out


def run_link(ui_base: str, department: str, run_id: str | None) -> str | None:
    """The Airflow UI page of the DAG run that ingested a batch (DAG ingest_<department>)."""
    if not run_id:
        return None
    return f"{ui_base.rstrip('/')}/dags/ingest_{quote(department, safe='')}/runs/{quote(run_id, safe='')}"


def latest_runs(url: str | None = None, limit: int = RUNS_LIMIT, ui_base: str = "",
                lang: str = DEFAULT_LANG, registry: Registry | None = None) -> list[dict[str, Any]]:
    """The latest ingest runs (one per DAG run, or per load outside Airflow), newest first."""
    url = url or settings().warehouse_url
    registry = _ready(url, registry)
    with engine(url).connect() as conn:
        rows = conn.execute(text(sql_file("dashboard/runs.sql", conn.dialect.name)), {"limit": limit}).mappings().all()
    out = []
    for r in rows:
        dept = registry.departments.get(r["department"])
        started = as_utc(r["started_at"])
        landed = as_utc(r["t_landed"])
        status = "rejected" if r["files_rejected"] else ("partial" if r["files_partial"] or r["rows_quarantined"]
                                                         else "loaded")
        out.append({
            "department": r["department"],
            "department_name": (dept.name_zh if lang == ZH_CN else dept.name_en) if dept else r["department"],
            "dag_id": f"ingest_{r['department']}",
            "run_id": r["run_id"],
            "url": run_link(ui_base, r["department"], r["run_id"]),
            "files": int(r["files"]),
            "files_rejected": int(r["files_rejected"]),
            "rows_read": int(r["rows_read"] or 0),
            "rows_loaded": int(r["rows_loaded"] or 0),
            "rows_quarantined": int(r["rows_quarantined"] or 0),
            "rows_duplicate": int(r["rows_duplicate"] or 0),
            "status": status,
            "started_at": started.isoformat() if started else None,
            "started_local": shanghai_text(started),
            "t_landed": landed.isoformat() if landed else None,
        })
    return out


def kpi_rows(period: str = "month", date: str | dt.date | None = None, *, url: str | None = None,
             registry: Registry | None = None) -> list[dict]:
    """Exactly the objects `citydata kpi --json` prints for the period containing ``date``.

    The dashboard reads what is stored (the kpi_rates DAG and `citydata kpi` keep it current)
    instead of recomputing on every page view; only a period never computed is computed once,
    so a fresh installation does not show an empty page.
    """
    period = check_period(period)
    day = date if isinstance(date, dt.date) else parse_day(date)
    rows = read_kpis(period, day, refresh=False, url=url, registry=registry)
    if not rows:
        rows = read_kpis(period, day, refresh="auto", url=url, registry=registry)
    return rows


def trend(day: dt.date, days: int = TREND_DAYS, *, url: str | None = None, registry: Registry | None = None,
          lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """Daily rates of the ``days`` days ending on ``day``, per department and county-wide, as stored.

    A day that was never computed, or that ended before the platform's first landing, stays
    empty (a break in the line), never 0%; the kpi_rates DAG and its backfill fill the history.
    """
    registry = registry or load_registry()
    start = first_landed(url, registry)
    dates = [day - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]
    keys = ["county", *registry.departments]
    values: dict[str, dict[str, list]] = {m: {k: [] for k in keys} for m in ("collection_rate", "sharing_rate")}
    for d in dates:
        rows = {} if before_platform(period_for("day", d), start) else {
            r["department"]: r for r in read_kpis("day", d, refresh=False, url=url, registry=registry)}
        for metric, series in values.items():
            for k in keys:
                series[k].append(rows[k][metric] if k in rows else None)
    lab = labels(lang)

    def name(k: str) -> str:
        if k == "county":
            return lab["county"]
        dept = registry.departments[k]
        return dept.name_zh if lang == ZH_CN else dept.name_en

    return {"days": [d.isoformat() for d in dates],
            **{metric: [{"key": k, "label": name(k), "values": series[k]} for k in keys]
               for metric, series in values.items()}}


def _tier_label(tier: str, lang: str) -> str:
    return tiers.label(tier, lang)


def _seconds_text(seconds: float | None, lang: str) -> str | None:
    return None if seconds is None else age_text(seconds, lang) if seconds >= 60 else f"{seconds:.0f} s"


def dashboard_model(period: str = "month", date: str | None = None, *, lang: str = DEFAULT_LANG, ui_base: str = "",
                    url: str | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Everything the page shows. Rates are the `citydata kpi --json` rows, passed through unchanged."""
    lang = check_lang(lang)
    period = check_period(period)
    url = url or settings().warehouse_url
    registry = _ready(url)
    day = parse_day(date, now)
    lab = labels(lang)
    rows = kpi_rows(period, day, url=url, registry=registry)
    by_dept = {r["department"]: r for r in rows}
    county = by_dept.get("county", {})
    targets = registry.targets

    def rate_row(key: str, label: str) -> dict[str, Any]:
        r = by_dept.get(key, {})
        return {"key": key, "label": label, **{f: r.get(f) for f in (
            "collection_rate", "sharing_rate", "collection_met", "sharing_met", "collection_rate_records",
            "sharing_rate_records", "resources_in_scope", "resources_collected_realtime", "resources_shareable",
            "resources_shared_realtime")}}

    departments = [rate_row(k, d.name_zh if lang == ZH_CN else d.name_en) for k, d in registry.departments.items()]
    energy = []
    for e in county.get("energy_by_utility", []):
        energy.append({"key": e["utility"], "label": lab.get(e["utility"], e["utility"]), "coverage": e["coverage"],
                       "met": e["met"], "status": e["status"], "meters_active": e["meters_active"],
                       "meters_covered": e["meters_covered"]})
    gaps = []
    for g in county.get("realtime_shortfalls", []):
        res = registry.resource(g["department"], g["resource"])
        dept = registry.departments[g["department"]]
        # The tier that keeps the resource from being real-time: collection first, then sharing.
        worse = g["collect_tier"] if g["collect_tier"] != "realtime" else g["share_tier"]
        gaps.append({**g, "department_name": dept.name_zh if lang == ZH_CN else dept.name_en,
                     "resource_name": res.name_zh if lang == ZH_CN else res.name_en,
                     "update_cycle": cycle_label(res.update_cycle, lang),
                     "tier": worse, "tier_label": _tier_label(worse, lang),
                     "p95_text": _seconds_text(g.get("p95_collect_s"), lang)})
    fresh = freshness(url, now=now, lang=lang, registry=registry)
    for f in fresh:
        f["expected_text"] = age_text(f["expected_seconds"], lang)
    now_utc = now or dt.datetime.now(dt.UTC)
    return {
        "lang": lang,
        "labels": lab,
        "period": {"type": period, "key": county.get("period") or (rows[0]["period"] if rows else None),
                   "date": day.isoformat(), "date_param": date or "",
                   "complete": county.get("complete"), "measured_until": county.get("measured_until"),
                   "computed_at": county.get("computed_at")},
        "generated_at": now_utc.isoformat(),
        "generated_local": county.get("computed_at", "")[:16].replace("T", " ") if county.get("computed_at")
        else shanghai_text(now_utc),
        "targets": {"collection_rate": targets.collection_rate, "sharing_rate": targets.sharing_rate,
                    "energy_auto_coverage": targets.energy_auto_coverage},
        "kpis": rows,
        "departments": departments,
        "county": rate_row("county", lab["county"]),
        "energy": energy,
        "energy_pooled": next((e for e in energy if e["key"] == "pooled"), {"coverage": None, "met": None}),
        "trend": trend(day, url=url, registry=registry, lang=lang),
        "gaps": gaps,
        "freshness": fresh,
        "runs": latest_runs(url, ui_base=ui_base, lang=lang, registry=registry),
        "exchange": _exchange(period, day, url, registry, lang),
    }


def _exchange(period: str, day: dt.date, url: str, registry: Registry, lang: str) -> dict[str, Any]:
    """Use of shared data: consumers, rows served, pending requests, objections, overdue (issue 16)."""
    from citydata.exchange.usage import dashboard_panel

    return dashboard_panel(period, day, url, registry, lang)
