"""Every user-facing string of the emails, in zh-CN (default) and English."""

from __future__ import annotations

import datetime as dt

from citydata.domain.time import LOCAL_TZ

LANGS = ("zh-CN", "en")

T: dict[str, dict[str, str]] = {
    "zh-CN": {
        "status.loaded": "已入库",
        "status.partial": "部分入库",
        "status.rejected": "拒收",
        "severity.error": "错误（已隔离）",
        "severity.warning": "警告（已入库）",
        "quality.subject": "【数据质量】{dept}：{n} 个数据交付存在问题（隔离 {q} 行，拒收 {r} 个文件）",
        "quality.title": "{dept}数据质量报告",
        "quality.greeting": "{provider}数据负责人：您好！",
        "quality.intro": "县大数据中心于 {time}（北京时间）完成了对贵单位数据的接入检查。以下 {n} 个数据交付存在问题，"
                         "请按“修正建议”处理后重新提交。未列出的交付均已正常入库。",
        "quality.deliveries": "交付概况",
        "quality.checks": "未通过的检查项",
        "quality.samples": "问题数据示例（敏感信息已脱敏）",
        "quality.rejected": "被拒收的文件",
        "quality.attachments": "附件",
        "quality.subject_warnings": "【数据质量】{dept}：{n} 个数据交付有警告（已全部入库，无需重新提交）",
        "quality.intro_warnings": "县大数据中心于 {time}（北京时间）完成了对贵单位数据的接入检查。以下 {n} 个数据交付已全部入库，"
                                  "但有警告项；无需重新提交，请在今后的交付中按“修正建议”改进。",
        "note.quarantined": "{n} 行未通过检查，已隔离（见“未通过的检查项”）",
        "note.duplicate": "{n} 行与已入库数据相同，未重复入库",
        "note.same_file": "与已入库的文件内容完全相同，未重复入库",
        "note.stale": "{n} 行比已入库的版本旧，未覆盖新数据",
        "note.empty": "文件没有数据行",
        "note.warnings": "已全部入库，有警告项（见“未通过的检查项”）",
        "col.where": "存放位置",
        "quality.unknown_folder": "（不是数据资源目录）",
        "quality.samples_note": "每个检查项最多列出 {n} 行示例；全部问题行见附件 CSV。",
        "quality.rejected_where": "被拒收的文件已移至“存放位置”所列目录，未入库；同目录的 <文件名>.error.json 记录了原因。",
        "quality.truncated": "问题行共 {total} 行，附件仅包含前 {n} 行；完整数据保存在数据仓库 quality.quarantine 表中。",
        "quality.att_csv": "{name}：被隔离的数据行（CSV，UTF-8，敏感字段已脱敏）",
        "quality.att_report": "{name}：批次 {batch} 的完整校验报告（HTML）",
        "quality.no_report": "本次交付的完整校验报告尚未生成，可在数据仓库中查询校验结果。",
        "quality.footer": "本邮件由县大数据中心数据汇聚平台自动发送，请勿直接回复。批次编号：{batches}；运行编号：{run}。",
        "col.resource": "数据资源",
        "col.source": "文件/拉取",
        "col.status": "状态",
        "col.read": "读取行数",
        "col.loaded": "入库行数",
        "col.quarantined": "隔离行数",
        "col.duplicate": "重复行数",
        "col.note": "说明",
        "col.check": "检查项",
        "col.field": "字段",
        "col.severity": "级别",
        "col.failed": "未通过行数",
        "col.evaluated": "检查行数",
        "col.fix": "修正建议",
        "col.row": "行号",
        "col.value": "问题值",
        "col.record": "该行数据（已脱敏）",
        "col.reason": "原因",
        "col.file": "文件",
        "digest.subject": "【每日数据汇总】{dept} {day}：{n} 个交付，入库 {loaded} 行，隔离 {q} 行",
        "digest.title": "{dept} {day} 数据接入日报",
        "digest.intro": "{provider}数据负责人：您好！以下是 {day}（北京时间）贵单位数据接入县大数据中心的汇总。",
        "digest.none": "当天没有收到任何数据交付。如贵单位当天应有数据，请检查数据报送程序。",
        "digest.problems": "其中 {n} 个交付存在问题，已另行发送质量报告邮件。",
        "digest.clean": "当天所有交付均通过检查。",
        "digest.total": "合计",
        "alert.rate.subject": "【指标告警】{n} 项实时采集/共享率低于目标",
        "alert.rate.title": "实时采集率、实时共享率低于目标",
        "alert.rate.intro": "以下部门（或全县）的指标低于考核目标，请核查数据接入与共享情况。",
        "alert.fresh.subject": "【时效告警】{dept}：{n} 个实时数据资源超时未更新",
        "alert.fresh.title": "{dept}实时数据资源超时未更新",
        "alert.fresh.intro": "以下声明为“实时”更新的数据资源，超过“更新周期 + 宽限时间”没有新的数据入库（检查时间 {time}）。",
        "alert.fresh.never": "从未收到",
        "alert.fresh.unconfigured": "{resource}：来源未配置，采集任务已跳过。请设置环境变量 {setting}"
                                    "（本地联调可先启动 citydata mock-api / citydata mock-db，见运维手册）。",
        "alert.late.subject": "【运行告警】{dag} 运行超时未完成",
        "alert.late.title": "数据接入任务运行超时",
        "alert.late.intro": "接入任务 {dag} 的运行 {run} 在排队后 {minutes} 分钟内没有完成（截止时间 {deadline}），"
                            "请在 Airflow 中检查该运行的任务状态、调度器和执行器。",
        "col.department": "部门",
        "col.period": "统计周期",
        "col.metric": "指标",
        "col.value_rate": "实际值",
        "col.target": "目标",
        "col.cycle": "更新周期",
        "col.window": "允许间隔（分钟）",
        "col.last": "最近入库时间",
        "col.age": "已过去（分钟）",
        "metric.collection_rate": "实时采集率",
        "metric.sharing_rate": "实时共享率",
        "county": "全县",
        "alert.footer": "本告警由县大数据中心数据汇聚平台自动发送；同一情况只发送一次。",
        "report.kind.month": "月度进展报告",
        "report.kind.quarter": "季度通报",
        "report.kind.year": "年度考核报告",
        "report.subject.month": "【月度进展报告】部门数据实时采集与共享 {period}",
        "report.subject.quarter": "【季度通报】部门数据实时采集与共享 {period}",
        "report.subject.year": "【年度考核报告】部门数据实时采集与共享 {period}",
        "report.title": "沂南县部门数据实时采集与共享{kind}（{period}）",
        "report.greeting": "{office}：",
        "report.intro": "现报送 {period} {kind}（{state}）。全县及各部门指标与目标对照如下，完整报告见附件。",
        "report.complete": "完整周期",
        "report.progress": "周期进行中，数据截至 {until}",
        "report.county": "一、全县指标与目标",
        "report.departments": "二、各部门指标",
        "report.status": "状态",
        "report.met": "达标",
        "report.notmet": "未达标",
        "report.nodata": "本周期尚无指标数据。",
        "report.attached": "附件 {name}：完整报告（HTML，可用浏览器打开或打印为 PDF）。",
        "report.footer": "本报告由县大数据中心数据汇聚平台自动发送；每期每位收件人只发送一次。报告编号：{report}。",
        "metric.energy": "家庭能源自动化采集覆盖率",
    },
    "en": {
        "status.loaded": "loaded",
        "status.partial": "partially loaded",
        "status.rejected": "rejected",
        "severity.error": "error (quarantined)",
        "severity.warning": "warning (loaded)",
        "quality.subject": "[Data quality] {dept}: {n} deliveries with problems ({q} rows quarantined, {r} files rejected)",
        "quality.title": "{dept}: data quality report",
        "quality.greeting": "Dear data owner at {provider},",
        "quality.intro": "The county big data center checked your deliveries at {time} (Beijing time). The {n} deliveries "
                         "below have problems; please fix them as suggested and deliver again. Deliveries not listed "
                         "were loaded without problems.",
        "quality.deliveries": "Deliveries",
        "quality.checks": "Failed checks",
        "quality.samples": "Sample rows (personal data masked)",
        "quality.rejected": "Rejected files",
        "quality.attachments": "Attachments",
        "quality.subject_warnings": "[Data quality] {dept}: {n} deliveries with warnings (all rows loaded, nothing to "
                                    "deliver again)",
        "quality.intro_warnings": "The county big data center checked your deliveries at {time} (Beijing time). The {n} "
                                  "deliveries below were loaded in full but had warnings; nothing needs to be delivered "
                                  "again — please improve future deliveries as suggested.",
        "note.quarantined": "{n} row(s) failed checks and were quarantined (see failed checks)",
        "note.duplicate": "{n} row(s) identical to loaded data, not loaded twice",
        "note.same_file": "same content as a file already loaded; not loaded twice",
        "note.stale": "{n} row(s) older than the loaded version; the newer data was kept",
        "note.empty": "the file has no data rows",
        "note.warnings": "loaded in full, with warnings (see failed checks)",
        "col.where": "Now in",
        "quality.unknown_folder": "(not a resource folder)",
        "quality.samples_note": "At most {n} sample rows per check; every quarantined row is in the attached CSV.",
        "quality.rejected_where": "Rejected files were moved to the folder shown (nothing was loaded); "
                                  "<file>.error.json beside each gives the reason.",
        "quality.truncated": "{total} rows were quarantined; the attachment holds the first {n}. All of them are kept in "
                             "the warehouse table quality.quarantine.",
        "quality.att_csv": "{name}: quarantined rows (CSV, UTF-8, personal data masked)",
        "quality.att_report": "{name}: full validation report of batch {batch} (HTML)",
        "quality.no_report": "The full validation report of these deliveries is not available yet.",
        "quality.footer": "Sent automatically by the county data aggregation platform; please do not reply. "
                          "Batches: {batches}; run: {run}.",
        "col.resource": "Resource",
        "col.source": "File / pull",
        "col.status": "Status",
        "col.read": "Rows read",
        "col.loaded": "Loaded",
        "col.quarantined": "Quarantined",
        "col.duplicate": "Duplicate",
        "col.note": "Note",
        "col.check": "Check",
        "col.field": "Field",
        "col.severity": "Severity",
        "col.failed": "Rows failed",
        "col.evaluated": "Rows checked",
        "col.fix": "How to fix",
        "col.row": "Row",
        "col.value": "Value",
        "col.record": "Row (masked)",
        "col.reason": "Reason",
        "col.file": "File",
        "digest.subject": "[Daily summary] {dept} {day}: {n} deliveries, {loaded} rows loaded, {q} quarantined",
        "digest.title": "{dept}: daily ingestion summary for {day}",
        "digest.intro": "Dear data owner at {provider}, this is the summary of your deliveries to the county big data "
                        "center on {day} (Beijing time).",
        "digest.none": "No delivery arrived that day. If data was due, please check your export job.",
        "digest.problems": "{n} of them had problems; a quality report was sent for each.",
        "digest.clean": "Every delivery passed the checks.",
        "digest.total": "Total",
        "alert.rate.subject": "[KPI alert] {n} real-time collection/sharing rate(s) below target",
        "alert.rate.title": "Real-time collection / sharing rates below target",
        "alert.rate.intro": "These departments (or the county) are below the assessment target.",
        "alert.fresh.subject": "[Freshness alert] {dept}: {n} real-time resource(s) not updated in time",
        "alert.fresh.title": "{dept}: real-time resources not updated in time",
        "alert.fresh.intro": "These resources declare real-time updates but received no new data within their update "
                             "interval plus grace (checked at {time}).",
        "alert.fresh.never": "never",
        "alert.fresh.unconfigured": "{resource}: source not configured, the pull was skipped. Set {setting} "
                                    "(for a local setup start citydata mock-api / citydata mock-db, see the runbook).",
        "alert.late.subject": "[Run alert] {dag} is late",
        "alert.late.title": "Ingest run late",
        "alert.late.intro": "Run {run} of {dag} did not finish within {minutes} minutes of being queued (deadline "
                            "{deadline}). Check its tasks, the scheduler and the executor in Airflow.",
        "col.department": "Department",
        "col.period": "Period",
        "col.metric": "Indicator",
        "col.value_rate": "Value",
        "col.target": "Target",
        "col.cycle": "Update cycle",
        "col.window": "Allowed gap (min)",
        "col.last": "Last landed",
        "col.age": "Minutes since",
        "metric.collection_rate": "real-time collection rate",
        "metric.sharing_rate": "real-time sharing rate",
        "county": "County",
        "alert.footer": "Sent automatically by the county data aggregation platform; each situation is reported once.",
        "report.kind.month": "monthly progress report",
        "report.kind.quarter": "quarterly bulletin",
        "report.kind.year": "yearly assessment report",
        "report.subject.month": "[Monthly progress report] real-time collection and sharing {period}",
        "report.subject.quarter": "[Quarterly bulletin] real-time collection and sharing {period}",
        "report.subject.year": "[Yearly assessment report] real-time collection and sharing {period}",
        "report.title": "Yinan County real-time collection and sharing: {kind} ({period})",
        "report.greeting": "To the {office},",
        "report.intro": "Please find the {kind} for {period} ({state}). The county and the departments against the "
                        "targets are below; the full report is attached.",
        "report.complete": "complete period",
        "report.progress": "period in progress, data as of {until}",
        "report.county": "1. County against the targets",
        "report.departments": "2. Departments",
        "report.status": "Status",
        "report.met": "met",
        "report.notmet": "not met",
        "report.nodata": "No indicators for this period yet.",
        "report.attached": "Attachment {name}: the full report (HTML; open in a browser or print to PDF).",
        "report.footer": "Sent automatically by the county data aggregation platform; each report reaches each "
                         "recipient once. Report: {report}.",
        "metric.energy": "household energy automated-collection coverage",
    },
}


def t(lang: str, key: str, **kw: object) -> str:
    table = T.get(lang) or T["zh-CN"]
    return table.get(key, T["zh-CN"][key]).format(**kw)


ZH_NUMERALS = "一二三四五六七八九十"


def numbered(lang: str):  # noqa: ANN201 — a counter closure
    """Number section headings as they are added (一、二、… or 1. 2. …): no gap when a section is left out."""
    count = [0]

    def heading(title: str) -> str:
        count[0] += 1
        n = count[0]
        return f"{ZH_NUMERALS[n - 1]}、{title}" if lang != "en" and n <= len(ZH_NUMERALS) else f"{n}. {title}"

    return heading


def local_time(value: dt.datetime | None, lang: str = "zh-CN") -> str:
    """A UTC time shown in Asia/Shanghai, as people at the county read it."""
    if value is None:
        return "—"
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def dept_label(dept: object, lang: str) -> str:
    return getattr(dept, "name_en" if lang == "en" else "name_zh")


def resource_label(resource: object, lang: str) -> str:
    return getattr(resource, "name_en" if lang == "en" else "name_zh")


def field_label(resource: object, column: str | None, lang: str) -> str:
    if not column:
        return "—"
    for f in getattr(resource, "fields", ()):
        if f.name == column:
            return f"{f.name_zh}（{column}）" if lang != "en" and f.name_zh else column
    return column
