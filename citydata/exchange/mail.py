"""Emails of the exchange, through the notify machinery (quality.notifications, outbox or SMTP).

Owners of the providing department hear of each access request and objection; engineers of
overdue requests. Messages are stored in the same transaction as the state change they report
(kind 'exchange', the provider's department), so none is lost; without an SMTP connection they
are written to the outbox at once, with one the ingest DAG's notify task sends them (as it
sends every pending message of the department). Texts name rows by key and field, never quote values.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from email.message import EmailMessage

from sqlalchemy import Connection

from citydata.notify import outbox
from citydata.notify.document import Doc
from citydata.notify.i18n import local_time
from citydata.notify.message import build
from citydata.registry import Registry, Resource

log = logging.getLogger(__name__)
KIND = "exchange"

T = {
    "zh-CN": {
        "req.subject": "【共享申请】{consumer}申请使用“{resource}”（申请编号 {id}）",
        "req.title": "数据共享申请（供需对接）",
        "req.intro": "{provider}数据负责人：您好！{consumer}于 {time}（北京时间）申请使用贵单位提供的有条件共享数据资源，"
                     "请在答复期限前审核。",
        "req.review_due": "数据主管部门审核期限",
        "req.answer_due": "提供方答复期限",
        "req.howto": "批准：citydata access approve {id}；拒绝（须说明理由）：citydata access reject {id} --reason …",
        "obj.subject": "【数据异议】{consumer}对“{resource}”提出异议（异议编号 {id}）",
        "obj.title": "共享数据异议（异议处理）",
        "obj.intro": "{provider}数据负责人：您好！{consumer}于 {time}（北京时间）认为以下共享数据有误，请核实。"
                     "更正数据（重新交付或隔离数据重放）后异议自动关闭；如数据无误，请说明理由后驳回。",
        "obj.howto": "确认：citydata objection resolve {id} --accept --reason …；驳回：citydata objection resolve {id} "
                     "--reject --reason …",
        "overdue.subject": "【共享申请超期】{n} 个数据共享申请未在期限内处理",
        "overdue.title": "超期未处理的数据共享申请",
        "col.id": "编号", "col.consumer": "申请方", "col.resource": "数据资源", "col.code": "资源代码",
        "col.fields": "申请字段", "col.purpose": "用途", "col.legal": "依据", "col.row": "数据行（主键）",
        "col.field": "字段", "col.reason": "异议理由", "col.stage": "环节", "col.due": "期限",
        "all_fields": "全部字段", "stage.review": "数据主管部门审核", "stage.answer": "提供方答复",
        "footer": "本邮件由县大数据中心共享交换平台自动发送，请勿直接回复。",
    },
    "en": {
        "req.subject": "[Sharing request] {consumer} asks for \"{resource}\" (request {id})",
        "req.title": "Data sharing request",
        "req.intro": "Dear {provider} data owner, {consumer} asked on {time} (Beijing time) to use a conditionally "
                     "shared resource you provide. Please answer before the due date.",
        "req.review_due": "Data office review due", "req.answer_due": "Provider answer due",
        "req.howto": "Approve: citydata access approve {id}; reject (a reason is required): citydata access reject "
                     "{id} --reason …",
        "obj.subject": "[Objection] {consumer} disputes \"{resource}\" (objection {id})",
        "obj.title": "Objection to shared data",
        "obj.intro": "Dear {provider} data owner, {consumer} reported on {time} (Beijing time) that the shared value "
                     "below is wrong. A correction (re-delivery or replay) closes the objection; if the value is "
                     "right, reject it with a reason.",
        "obj.howto": "Accept: citydata objection resolve {id} --accept --reason …; reject: citydata objection resolve "
                     "{id} --reject --reason …",
        "overdue.subject": "[Sharing requests overdue] {n} request(s) not handled in time",
        "overdue.title": "Overdue sharing requests",
        "col.id": "ID", "col.consumer": "Consumer", "col.resource": "Resource", "col.code": "Code",
        "col.fields": "Fields", "col.purpose": "Purpose", "col.legal": "Legal basis", "col.row": "Row (key)",
        "col.field": "Field", "col.reason": "Reason", "col.stage": "Stage", "col.due": "Due",
        "all_fields": "all fields", "stage.review": "data office review", "stage.answer": "provider answer",
        "footer": "Sent automatically by the county data sharing and exchange platform; do not reply.",
    },
}


def t(lang: str, key: str, **kw: object) -> str:
    return (T.get(lang) or T["zh-CN"]).get(key, T["zh-CN"][key]).format(**kw)


def consumer_label(registry: Registry, consumer: str, lang: str) -> str:
    c = registry.consumers.get(consumer)
    if c is None:
        return consumer
    return f"{c.name_en if lang == 'en' else c.name_zh}（{consumer}）"


def _owners(registry: Registry, resource: Resource, key: str, subject: str, doc: Doc,
            now: dt.datetime) -> list[EmailMessage]:
    dept = registry.department(resource.department)
    lang = dept.language
    doc.para(t(lang, "footer"), tone="note")
    if not dept.owner_emails:
        log.warning("%s: no owner_emails in the registry: %s not sent", resource.department, key)
    return [build(report_key=key, kind=KIND, department=resource.department, recipient=r, subject=subject,
                  text=doc.text(), html=doc.html(), lang=lang, now=now) for r in dept.owner_emails]


def request_messages(registry: Registry, resource: Resource, req: dict, now: dt.datetime) -> list[EmailMessage]:
    dept = registry.department(resource.department)
    lang = dept.language
    who = consumer_label(registry, req["consumer"], lang)
    name = resource.name_en if lang == "en" else resource.name_zh
    doc = Doc(t(lang, "req.title"))
    doc.para(t(lang, "req.intro", provider=dept.provider, consumer=who, time=local_time(now)))
    fields = req.get("fields")
    doc.table([t(lang, k) for k in ("col.id", "col.consumer", "col.resource", "col.code", "col.fields",
                                    "col.purpose", "col.legal", "req.review_due", "req.answer_due")],
              [[req["request_id"], who, name, resource.code, ", ".join(fields) if fields else t(lang, "all_fields"),
                req["purpose"], req.get("legal_basis") or "—", local_time(req["review_due_at"]),
                local_time(req["answer_due_at"])]])
    doc.para(t(lang, "req.howto", id=req["request_id"]))
    subject = t(lang, "req.subject", consumer=who, resource=name, id=req["request_id"])
    return _owners(registry, resource, f"exchange:request:{req['request_id']}", subject, doc, now)


def objection_messages(registry: Registry, resource: Resource, obj: dict, now: dt.datetime) -> list[EmailMessage]:
    dept = registry.department(resource.department)
    lang = dept.language
    who = consumer_label(registry, obj["consumer"], lang)
    name = resource.name_en if lang == "en" else resource.name_zh
    doc = Doc(t(lang, "obj.title"))
    doc.para(t(lang, "obj.intro", provider=dept.provider, consumer=who, time=local_time(now)))
    field = resource.field(obj["field"])
    label = f"{field.name_zh}（{field.name}）" if lang != "en" and field.name_zh else field.name
    doc.table([t(lang, k) for k in ("col.id", "col.resource", "col.code", "col.row", "col.field", "col.reason")],
              [[obj["objection_id"], name, resource.code, obj["row_key_text"], label, obj["reason"]]])
    doc.para(t(lang, "obj.howto", id=obj["objection_id"]))
    subject = t(lang, "obj.subject", consumer=who, resource=name, id=obj["objection_id"])
    return _owners(registry, resource, f"exchange:objection:{obj['objection_id']}", subject, doc, now)


def store(conn: Connection, messages: list[EmailMessage], department: str | None, kind: str = KIND) -> int:
    return outbox.store(conn, messages, kind=kind, department=department) if messages else 0


def deliver_now(url: str, kind: str = KIND) -> str:
    """Embedded default (no smtp_default connection): write pending messages to the outbox now.

    With a connection configured, the messages stay pending for the notify task, which sends
    them over SMTP through the Airflow connection (the core library never imports Airflow).
    """
    if os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT"):
        return "pending (smtp_default)"
    from citydata.config import settings

    result = outbox.deliver(url, outbox.outbox_sender(settings().outbox_dir), transport="outbox", kind=kind)
    return f"outbox: {result.summary()}"
