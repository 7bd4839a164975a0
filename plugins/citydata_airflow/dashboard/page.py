"""The dashboard page: one self-contained HTML document (inline CSS and SVG, no scripts, no CDN).

Input is the view model of ``citydata.reports.dashboard.dashboard_model``; this module only lays it out.
"""

from __future__ import annotations

from html import escape
from urllib.parse import urlencode

from citydata.exchange.usage import dashboard_card
from citydata.render.fmt import pct
from citydata.render.html import table
from citydata.render.i18n import EN, ZH_CN
from citydata.render.svg import line_chart, rate_bars

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","Microsoft YaHei",
"PingFang SC",system-ui,sans-serif;margin:0;padding:16px 24px;color:#111827;background:#f9fafb}
h1{font-size:22px;margin:0 0 4px} h2{font-size:16px;margin:0 0 10px}
.sub{color:#6b7280;font-size:13px;margin-bottom:12px}
.bar{display:flex;gap:16px;align-items:center;flex-wrap:wrap;font-size:13px;margin-bottom:14px}
.bar a{color:#2563eb;text-decoration:none;padding:2px 8px;border:1px solid #d1d5db;border-radius:4px;background:#fff}
.bar a.on{background:#2563eb;color:#fff;border-color:#2563eb}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px}
.kpis{display:flex;gap:16px;flex-wrap:wrap}
.kpi{flex:1;min-width:160px;border:1px solid #e5e7eb;border-radius:8px;padding:10px 12px}
.kpi .v{font-size:28px;font-weight:700} .kpi .l{font-size:12px;color:#6b7280}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #f3f4f6;white-space:nowrap}
th{color:#6b7280;font-weight:600;white-space:normal} td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#047857;font-weight:600} .bad{color:#b91c1c;font-weight:600} .muted{color:#9ca3af}
.note{font-size:12px;color:#6b7280;margin-top:12px}
"""


def _met(value: bool | None, lab: dict) -> str:
    if value is None:
        return f'<span class="muted">{escape(lab["no_data"])}</span>'
    if value:
        return f'<span class="ok">{escape(lab["met"])}</span>'
    return f'<span class="bad">{escape(lab["not_met"])}</span>'


def _link(params: dict, **change: str) -> str:
    query = {k: v for k, v in {**params, **change}.items() if v}
    return "?" + urlencode(query)


def _kpi_box(label: str, value: float | None, met: bool | None, target: float, key: str, metric: str,
             lab: dict) -> str:
    return (f'<div class="kpi"><div class="l">{escape(label)}</div>'
            f'<div class="v" data-key="{escape(key)}" data-metric="{metric}" '
            f'data-value="{"" if value is None else repr(float(value))}">{pct(value)}</div>'
            f'<div class="l">{escape(lab["target"])} {pct(target)} · {_met(met, lab)}</div></div>')


def _table(headers: list[str], rows: list[list[str]], table_id: str, empty: str) -> str:
    if not rows:
        return f'<p id="{table_id}" class="muted">{escape(empty)}</p>'
    return table(headers, rows, attrs=f' id="{table_id}"')


def _td(value: object, numeric: bool = False, raw: bool = False) -> str:
    text = str(value) if raw else escape("—" if value is None else str(value))
    return f'<td class="n">{text}</td>' if numeric else f"<td>{text}</td>"


def render_page(model: dict) -> str:
    lab = model["labels"]
    header, cards = _header(model, lab), [f(model, lab) for f in CARDS]
    return (
        f'<!doctype html><html lang="{escape(model["lang"])}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{escape(lab["title"])}</title>'
        f'<style>{CSS}</style></head><body>{header}<div class="grid">{"".join(cards)}</div>'
        f'<p class="note">{escape(lab["source_note"])}</p></body></html>')


def _header(model: dict, lab: dict) -> str:
    """Title, period switch, as-of time and the language switch."""
    lang, period = model["lang"], model["period"]
    params = {"period": period["type"], "date": period.get("date_param") or "", "lang": lang}
    switch = "".join(
        f'<a class="{"on" if period["type"] == p else ""}" href="{escape(_link(params, period=p))}">'
        f'{escape(lab[p])}</a>' for p in ("day", "month", "quarter"))
    other = EN if lang == ZH_CN else ZH_CN
    header = (
        f'<h1>{escape(lab["title"])}</h1><div class="sub">{escape(lab["subtitle"])}</div>'
        f'<div class="bar"><span>{escape(lab["period"])}: <b id="period-key">{escape(period["key"] or "")}</b></span>'
        f'{switch}<span>{escape(lab["as_of"])}: {escape(model["generated_local"])}</span>'
        f'<a id="lang-switch" href="{escape(_link(params, lang=other))}">{escape(lab["switch_lang"])}</a></div>')
    return header


def _county_card(model: dict, lab: dict) -> str:
    """The three county-wide indicators against their targets."""
    county, targets = model["county"], model["targets"]
    county_html = (
        f'<div class="card"><h2>{escape(lab["county_rates"])}</h2><div class="kpis" id="county">'
        + _kpi_box(lab["collection_rate"], county.get("collection_rate"), county.get("collection_met"),
                   targets["collection_rate"], "county", "collection_rate", lab)
        + _kpi_box(lab["sharing_rate"], county.get("sharing_rate"), county.get("sharing_met"),
                   targets["sharing_rate"], "county", "sharing_rate", lab)
        + _kpi_box(lab["energy"], model["energy_pooled"].get("coverage"), model["energy_pooled"].get("met"),
                   targets["energy_auto_coverage"], "pooled", "coverage", lab)
        + "</div></div>")
    return county_html


def _rates_card(model: dict, lab: dict) -> str:
    """Collection and sharing rate per department (and the county) as bars."""
    county, targets = model["county"], model["targets"]
    bars = rate_bars(model["departments"] + [{**county, "bold": True}],
                     [("collection_rate", lab["collection_rate"]), ("sharing_rate", lab["sharing_rate"])],
                     targets["collection_rate"], lab["target"], "chart-rates")
    rates_card = f'<div class="card"><h2>{escape(lab["rates_by_department"])}</h2>{bars}</div>'
    return rates_card


def _trend_card(model: dict, lab: dict) -> str:
    """The last 30 days of both rates, one line per department and the county."""
    targets = model["targets"]
    trend = model["trend"]
    days = [d[5:] for d in trend["days"]]  # MM-DD
    trend_card = (
        f'<div class="card"><h2>{escape(lab["trend"])} · {escape(lab["trend_collection"])}</h2>'
        + line_chart(days, trend["collection_rate"], targets["collection_rate"], lab["target"],
                     "chart-trend-collection")
        + f'<h2>{escape(lab["trend"])} · {escape(lab["trend_sharing"])}</h2>'
        + line_chart(days, trend["sharing_rate"], targets["sharing_rate"], lab["target"],
                     "chart-trend-sharing")
        + "</div>")
    return trend_card


def _energy_card(model: dict, lab: dict) -> str:
    """Household energy automated-collection coverage per utility."""
    targets = model["targets"]
    energy_rows = [{**e, "bold": e["key"] == "pooled"} for e in model["energy"]]
    energy_card = (
        f'<div class="card"><h2>{escape(lab["energy"])}</h2>'
        + rate_bars(energy_rows, [("coverage", lab["energy"])], targets["energy_auto_coverage"], lab["target"],
                    "chart-energy")
        + _table([lab["utility"], lab["meters_auto"], lab["meters_active"], lab["coverage"], lab["target"]],
                 [[_td(e["label"]), _td(e.get("meters_covered"), True), _td(e.get("meters_active"), True),
                   _td(pct(e.get("coverage")), True), _td(_met(e.get("met"), lab), raw=True)]
                  for e in model["energy"]], "energy-table", lab["no_data"])
        + "</div>")
    return energy_card


def _gaps_card(model: dict, lab: dict) -> str:
    """Resources that declare real time but measure worse, with their tier."""
    gaps_card = (
        f'<div class="card"><h2>{escape(lab["gaps"])}</h2>'
        + _table([lab["department"], lab["resource"], lab["declared"], lab["measured_tier"], lab["gap_p95"]],
                 [[_td(g["department_name"]), _td(g["resource_name"]), _td(g["update_cycle"]),
                   f'<td class="bad" data-tier="{escape(g["tier"])}">{escape(g["tier_label"])}</td>',
                   _td(g.get("p95_text"), True)] for g in model["gaps"]], "gaps-table", lab["no_gaps"])
        + "</div>")
    return gaps_card


def _freshness_card(model: dict, lab: dict) -> str:
    """Time since rows last landed, per resource."""
    fresh_card = (
        f'<div class="card"><h2>{escape(lab["freshness"])}</h2>'
        + _table([lab["department"], lab["resource"], lab["last_landed"], lab["age"], lab["expected_every"],
                  lab["status"]],
                 [[_td(f["department_name"]), _td(f["resource_name"]), _td(f["last_landed_local"]),
                   _td(f["age_text"], True), _td(f["expected_text"], True),
                   f'<td class="{"ok" if f["state"] == "fresh" else "bad"}" data-state="{f["state"]}">'
                   f'{escape(_state_text(f, lab))}</td>'] for f in model["freshness"]],
                 "freshness-table", lab["no_data"])
        + "</div>")
    return fresh_card


def _state_text(row: dict, lab: dict) -> str:
    """The freshness state; an unconfigured pull names the variable to set."""
    text = lab[row["state"]]
    if row.get("missing_setting") and row["state"] == "unconfigured":
        return f"{text}（{row['missing_setting']}）"
    return text


def _runs_card(model: dict, lab: dict) -> str:
    """The latest ingest runs with quarantine counts and links to the DAG runs."""
    def run_cell(r: dict) -> str:
        if not r["url"]:
            return f'<td class="muted">{escape(lab["outside_airflow"])}</td>'
        return (f'<td><a href="{escape(r["url"])}" target="_top" data-run-id="{escape(r["run_id"])}">'
                f'{escape(r["dag_id"])} / {escape(r["run_id"])}</a></td>')

    runs_card = (
        f'<div class="card" style="grid-column:1/-1"><h2>{escape(lab["runs"])}</h2>'
        + _table([lab["started"], lab["department"], lab["run"], lab["files"], lab["rows_read"], lab["rows_loaded"],
                  lab["rows_quarantined"], lab["rows_duplicate"], lab["status"]],
                 [[_td(r["started_local"]), _td(r["department_name"]), run_cell(r), _td(r["files"], True),
                   _td(r["rows_read"], True), _td(r["rows_loaded"], True),
                   f'<td class="n{" bad" if r["rows_quarantined"] else ""}">{r["rows_quarantined"]}</td>',
                   _td(r["rows_duplicate"], True),
                   f'<td class="{"ok" if r["status"] == "loaded" else "bad"}" data-status="{r["status"]}">'
                   f'{escape(lab["run_" + r["status"]])}</td>']
                  for r in model["runs"]], "runs-table", lab["no_runs"])
        + "</div>")
    return runs_card


def _exchange_card(model: dict, lab: dict) -> str:
    return dashboard_card(model["exchange"]) if model.get("exchange") else ""


CARDS = (_county_card, _rates_card, _trend_card, _energy_card, _gaps_card, _freshness_card, _runs_card,
         _exchange_card)


def render_login_required(login_url: str | None, lang: str) -> str:
    """The 401 page a browser sees without an Airflow session: a link to log in and come back."""
    zh = lang != EN
    title = "请先登录 Airflow" if zh else "Please log in to Airflow"
    link = (f'<p><a id="login" href="{escape(login_url)}">{"登录" if zh else "Log in"}</a></p>' if login_url else "")
    return (f'<!doctype html><html lang="{"zh-CN" if zh else "en"}"><head><meta charset="utf-8"><title>{title}</title>'
            f'<style>{CSS}</style></head><body><h1>{title}</h1>{link}</body></html>')
