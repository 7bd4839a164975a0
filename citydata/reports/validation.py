"""One self-contained HTML validation report per delivery (batch), zh-CN with English labels.

Written to $CITYDATA_HOME/reports/validation/<department>/<resource>/<batch_id>.html; inline
CSS only (no scripts, fonts or CDN assets), so it renders offline and as an email attachment.
Sample values are masked (citydata.domain.masking) before they get here.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import text

from citydata.config import Settings, settings
from citydata.domain.time import LOCAL_TZ
from citydata.quality.results import ValidationSummary
from citydata.quality.suites import suite_for
from citydata.render.html import esc
from citydata.render.reasons import rejection_from_reason, source_label
from citydata.warehouse.db import engine, qualify

STATUS_ZH = {"loaded": "已入库", "partial": "部分入库", "rejected": "已拒收"}
SEVERITY_ZH = {"error": "错误(隔离)", "warning": "警告(保留)"}
LEVEL_ZH = {"row": "行", "batch": "批次", "header": "表头", "delivery": "整次交付"}

CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px;color:#1f2933}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #d9e2ec}
.en{color:#627d98;font-weight:normal;font-size:.85em}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d9e2ec;padding:4px 8px;text-align:left;
vertical-align:top}th{background:#f0f4f8}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.fail-error td{background:#fde8e8}tr.fail-warning td{background:#fff7e0}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;color:#fff;font-size:12px}
.loaded{background:#2f855a}.partial{background:#b7791f}.rejected{background:#c53030}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;font-size:14px}dt{color:#486581}
code{font-size:12px;white-space:pre-wrap}
"""


def report_file(department: str, resource: str, batch_id: int, cfg: Settings | None = None) -> Path:
    cfg = cfg or settings()
    return cfg.reports_dir / "validation" / department / resource / f"{int(batch_id)}.html"


def validation_report_path(batch_id: int, cfg: Settings | None = None) -> Path:
    """Where the HTML report of a batch is (the email attaches it); may not exist for old batches."""
    cfg = cfg or settings()
    root = cfg.reports_dir / "validation"
    hits = sorted(root.glob(f"*/*/{int(batch_id)}.html"))
    if hits:
        return hits[0]
    eng = engine(cfg.warehouse_url)
    with eng.connect() as conn:
        row = conn.execute(text(f"SELECT department, resource FROM {qualify('audit', 'ingest_log', eng.dialect.name)} "
                                "WHERE batch_id = :b"), {"b": int(batch_id)}).first()
    if row is None:
        return root / "unknown" / f"{int(batch_id)}.html"
    return report_file(row.department, row.resource, batch_id, cfg)


def _zh_descriptions(summary: ValidationSummary) -> dict[str, str]:
    try:
        suite = suite_for(summary.resource)
    except Exception:  # noqa: BLE001 — the report must still render
        suite = None
    out = {f"type:{f.name}": f"{f.name_zh or f.name}数据类型不符({f.type})" for f in summary.resource.fields}
    out.update({f"required:{f.name}": f"{f.name_zh or f.name}不能为空" for f in summary.resource.fields})
    out.update({f"range:{f.name}": f"{f.name_zh or f.name}不在合理的日期范围内" for f in summary.resource.fields
                if f.type in ("date", "timestamp")})
    if suite:
        out.update({r.check: r.description_zh for r in suite.rules})
    return out


def render_validation_report(summary: ValidationSummary, *, batch_id: int, source: str, status: str, rows_loaded: int = 0,
                  rows_duplicate: int = 0, reason: str | None = None, now: dt.datetime | None = None) -> str:
    r = summary.resource
    now = (now or dt.datetime.now(dt.UTC)).astimezone(LOCAL_TZ)
    zh = _zh_descriptions(summary)
    rows = []
    for t in sorted(summary.checks, key=lambda t: (-t.failed, t.severity != "error", t.check)):
        cls = f"fail-{t.severity}" if t.failed else ""
        rate = f"{1 - t.failed / t.evaluated:.2%}" if t.evaluated else "—"
        rows.append(
            f'<tr class="{cls}"><td><code>{esc(t.check)}</code></td><td>{esc(t.column)}</td>'
            f"<td>{esc(SEVERITY_ZH.get(t.severity, t.severity))}<br><span class=en>{esc(t.severity)}</span></td>"
            f"<td>{esc(LEVEL_ZH.get(t.level, t.level))}<br><span class=en>{esc(t.level)}</span></td>"
            f'<td class=n>{t.evaluated:,}</td><td class=n>{t.failed:,}</td><td class=n>{rate}</td>'
            f"<td>{esc(zh.get(t.check, ''))}<br><span class=en>{esc(t.description)}</span></td></tr>")
    samples = "".join(
        f"<tr><td class=n>{s['row_number']}</td><td>"
        + "<br>".join(f"<code>{esc(e.get('check'))}</code> {esc(e.get('column'))} = {esc(e.get('value'))}" for e in s["errors"])
        + f"</td><td><code>{esc(json.dumps(s['record'], ensure_ascii=False, default=str))}</code></td></tr>"
        for s in summary.samples)
    errors = "".join(f"<li>{esc(b)}</li>" for b in summary.batch_errors)
    status_zh = STATUS_ZH.get(status, status)
    shown_reason = rejection_from_reason(reason, resource=r) if status == "rejected" and reason else reason
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>数据校验报告 Validation report · {esc(r.key)} · #{batch_id}</title>
<style>{CSS}</style></head>
<body>
<h1>数据校验报告 <span class=en>Validation report</span></h1>
<p>{esc(r.name_zh)} <span class=en>{esc(r.name_en)}</span> · {esc(r.department)}.{esc(r.name)} ·
<span class="badge {esc(status)}">{esc(status_zh)} {esc(status)}</span></p>
<dl>
<dt>批次 <span class=en>Batch</span></dt><dd>{batch_id}</dd>
<dt>来源 <span class=en>Source</span></dt><dd>{esc(source_label(source))}</dd>
<dt>校验时间 <span class=en>Validated (Asia/Shanghai)</span></dt><dd>{now:%Y-%m-%d %H:%M:%S}</dd>
<dt>读取行数 <span class=en>Rows read</span></dt><dd>{summary.rows_read:,}</dd>
<dt>入库行数 <span class=en>Rows loaded</span></dt><dd>{rows_loaded:,}</dd>
<dt>隔离行数 <span class=en>Rows quarantined</span></dt><dd>{summary.rows_quarantined:,}</dd>
<dt>重复行数 <span class=en>Rows duplicate</span></dt><dd>{rows_duplicate:,}</dd>
<dt>原因 <span class=en>Reason</span></dt><dd>{esc(shown_reason or '—')}</dd>
</dl>
{f'<h2>拒收原因 <span class=en>Batch-level failures</span></h2><ul>{errors}</ul>' if errors else ''}
<h2>检查项 <span class=en>Checks</span></h2>
<table><thead><tr><th>检查 <span class=en>Check</span></th><th>字段 <span class=en>Column</span></th>
<th>级别 <span class=en>Severity</span></th><th>范围 <span class=en>Level</span></th>
<th>评估数 <span class=en>Evaluated</span></th><th>未通过 <span class=en>Failed</span></th>
<th>通过率 <span class=en>Pass rate</span></th><th>说明 <span class=en>Description</span></th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
<h2>问题数据示例 <span class=en>Sample failing rows (masked)</span></h2>
{f'<table><thead><tr><th>行号 <span class=en>Row</span></th><th>问题 <span class=en>Failures</span></th><th>原始记录(已脱敏) <span class=en>Record, masked</span></th></tr></thead><tbody>{samples}</tbody></table>' if samples else '<p>无 <span class=en>None</span></p>'}
<p class=en>级别“错误”的检查未通过时该行被隔离(不入库)；“警告”仅提示，行照常入库。
Error-severity failures quarantine the row; warnings keep it and are reported.</p>
</body></html>
"""


def write_validation_report(summary: ValidationSummary, *, batch_id: int, source: str, status: str, rows_loaded: int = 0,
                 rows_duplicate: int = 0, reason: str | None = None, cfg: Settings | None = None) -> Path:
    """Render and write the report atomically; returns its path."""
    r = summary.resource
    path = report_file(r.department, r.name, batch_id, cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_validation_report(summary, batch_id=batch_id, source=source, status=status, rows_loaded=rows_loaded,
                                 rows_duplicate=rows_duplicate, reason=reason), encoding="utf-8")
    tmp.replace(path)
    return path
