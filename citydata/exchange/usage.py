"""Use of shared data, for the dashboard and the monthly report: per resource, the consumers and
rows served in a period, pending requests and unresolved objections; objections raised, resolved
and the median time to resolve them; overdue requests."""

from __future__ import annotations

import datetime as dt
import statistics
from html import escape

from sqlalchemy import Connection

from citydata.exchange import access, objections
from citydata.exchange.common import rows, ts_param, utcnow
from citydata.registry import Registry, load_registry
from citydata.warehouse.db import engine

TEXT = {
    "zh-CN": {"title": "共享数据使用情况（共享交换）", "resource": "数据资源", "code": "资源代码", "consumers": "使用部门数",
              "calls": "调用次数", "rows": "提供行数", "pending": "待处理申请", "open": "未解决异议",
              "raised": "本期提出异议", "resolved": "本期解决异议", "median": "解决用时中位数（小时）",
              "overdue": "超期未处理的共享申请", "none": "无", "refused": "本期拒绝的调用（401/403）",
              "id": "编号", "consumer": "申请方", "stage": "环节", "due": "期限",
              "stage.review": "数据主管部门审核", "stage.answer": "提供方答复"},
    "en": {"title": "Use of shared data (exchange)", "resource": "Resource", "code": "Code", "consumers": "Consumers",
           "calls": "Calls", "rows": "Rows served", "pending": "Pending requests", "open": "Unresolved objections",
           "raised": "Objections raised", "resolved": "Objections resolved", "median": "Median time to resolve (h)",
           "overdue": "Overdue sharing requests", "none": "none", "refused": "Refused calls in the period (401/403)",
           "id": "ID", "consumer": "Consumer", "stage": "Stage", "due": "Due",
           "stage.review": "data office review", "stage.answer": "provider answer"},
}


def usage(conn: Connection, registry: Registry, start: dt.datetime, end: dt.datetime,
          now: dt.datetime | None = None) -> dict:
    """Figures of one period [start, end); pending/unresolved counts are as of now."""
    now = now or utcnow()
    d = conn.dialect.name
    served = {r["resource"]: r for r in rows(conn, "usage_served.sql", {"start": ts_param(start, d),
                                                                        "end": ts_param(end, d)})}
    refused = {int(r["status"]): int(r["calls"]) for r in rows(conn, "usage_refused.sql",
                                                                {"start": ts_param(start, d), "end": ts_param(end, d)})}
    reqs = access.list_requests(conn)
    objs = objections.list_objections(conn)
    per = []
    for res in registry.resources:
        s = served.get(res.code, {})
        mine = [o for o in objs if o["code"] == res.code]
        per.append({
            "code": res.code, "department": res.department, "resource": res.name, "name_zh": res.name_zh,
            "name_en": res.name_en, "sharing_type": res.sharing_type, "consumers": int(s.get("consumers") or 0),
            "calls": int(s.get("calls") or 0), "rows_served": int(s.get("rows_served") or 0),
            "pending_requests": sum(1 for r in reqs if r["code"] == res.code and r["status"] in access.OPEN),
            "open_objections": sum(1 for o in mine if o["status"] in objections.UNRESOLVED),
        })
    raised = [o for o in objs if start <= o["raised_at"] < end]
    resolved = [o for o in objs if o["resolved_at"] is not None and start <= o["resolved_at"] < end]
    hours = [(o["resolved_at"] - o["raised_at"]).total_seconds() / 3600 for o in resolved]
    return {
        "start": start.isoformat(), "end": end.isoformat(), "resources": per,
        "objections": {"raised": len(raised), "resolved": len(resolved),
                       "median_hours_to_resolve": round(statistics.median(hours), 2) if hours else None},
        "overdue_requests": [{"request_id": r["request_id"], "consumer": r["consumer"], "code": r["code"],
                              "stage": r["overdue_stage"], "due_at": r["due_at"].isoformat()}
                             for r in access.overdue(conn, now)],
        "refused_calls": refused,
    }


def usage_for(start: dt.datetime, end: dt.datetime, url: str | None = None, registry: Registry | None = None,
              now: dt.datetime | None = None) -> dict:
    registry = registry or load_registry()
    with engine(url).connect() as conn:
        return usage(conn, registry, start, end, now)


def _table(headers: list[str], body: list[list[object]]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    trs = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>"


def report_section(start: dt.datetime, end: dt.datetime, lang: str = "zh-CN", registry: Registry | None = None,
                   url: str | None = None) -> str:
    """The monthly/quarterly report's exchange section (HTML)."""
    from citydata.notify.i18n import local_time

    t = TEXT.get(lang, TEXT["zh-CN"])
    u = usage_for(start, end, url, registry)
    name = "name_en" if lang == "en" else "name_zh"
    parts = [f"<h2>{escape(t['title'])}</h2>",
             _table([t["resource"], t["code"], t["consumers"], t["calls"], t["rows"], t["pending"], t["open"]],
                    [[r[name], r["code"], r["consumers"], r["calls"], r["rows_served"], r["pending_requests"],
                      r["open_objections"]] for r in u["resources"] if r["sharing_type"] != "不予共享"]),
             _table([t["raised"], t["resolved"], t["median"], t["refused"]],
                    [[u["objections"]["raised"], u["objections"]["resolved"],
                      "—" if u["objections"]["median_hours_to_resolve"] is None
                      else u["objections"]["median_hours_to_resolve"],
                      ", ".join(f"{k}: {v}" for k, v in sorted(u["refused_calls"].items())) or "0"]]),
             f"<h3>{escape(t['overdue'])}</h3>"]
    if u["overdue_requests"]:
        parts.append(_table([t["id"], t["consumer"], t["code"], t["stage"], t["due"]],
                            [[r["request_id"], r["consumer"], r["code"], t[f"stage.{r['stage']}"],
                              local_time(dt.datetime.fromisoformat(r["due_at"]))] for r in u["overdue_requests"]]))
    else:
        parts.append(f"<p>{escape(t['none'])}</p>")
    return "\n".join(parts)


def dashboard_panel(period_kind: str, day: dt.date, url: str | None = None, registry: Registry | None = None,
                    lang: str = "zh") -> dict:
    """The dashboard's exchange card data: usage in the shown period (day, month or quarter)."""
    from citydata.kpi.periods import period_for

    period = period_for(period_kind, day)
    u = usage_for(period.start, period.end, url, registry)
    u["lang"] = "en" if lang == "en" else "zh-CN"
    return u


def dashboard_card(panel: dict) -> str:
    """HTML of the dashboard's exchange card (ids exchange-table and exchange-overdue for tests)."""
    t = TEXT[panel.get("lang", "zh-CN")]
    name = "name_en" if panel.get("lang") == "en" else "name_zh"
    rows_ = [r for r in panel["resources"] if r["sharing_type"] != "不予共享"]
    head = "".join(f"<th>{escape(h)}</th>" for h in (t["resource"], t["consumers"], t["rows"], t["pending"], t["open"]))
    body = "".join(f'<tr data-code="{escape(r["code"])}"><td>{escape(r[name])}</td><td class="n">{r["consumers"]}</td>'
                   f'<td class="n">{r["rows_served"]}</td><td class="n">{r["pending_requests"]}</td>'
                   f'<td class="n">{r["open_objections"]}</td></tr>' for r in rows_)
    overdue = "".join(f'<li data-request="{r["request_id"]}">#{r["request_id"]} {escape(r["consumer"])} '
                      f'{escape(r["code"])} · {escape(t["stage." + r["stage"]])}</li>' for r in panel["overdue_requests"])
    o = panel["objections"]
    return (f'<div class="card" style="grid-column:1/-1"><h2>{escape(t["title"])}</h2>'
            f'<table id="exchange-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
            f'<p>{escape(t["raised"])} {o["raised"]} · {escape(t["resolved"])} {o["resolved"]} · '
            f'{escape(t["median"])} {"—" if o["median_hours_to_resolve"] is None else o["median_hours_to_resolve"]}</p>'
            f'<h3>{escape(t["overdue"])}</h3>'
            + (f'<ul id="exchange-overdue" class="bad">{overdue}</ul>' if overdue
               else f'<p id="exchange-overdue" class="muted">{escape(t["none"])}</p>') + "</div>")
