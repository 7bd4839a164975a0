"""Store composed messages in quality.notifications and deliver the pending ones.

Composing is idempotent (a message's key is unique; storing it again is a no-op), delivery
marks each message 'sent' right after the transport accepted it, so a retry or a later run
sends only what is still pending — and what failed before is never lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import Connection, text

from citydata.notify.message import KEY_HEADER, REPORT_HEADER
from citydata.private import private_dir, write_private
from citydata.warehouse.db import sql_file, transaction
from citydata.warehouse.load import ts_param

log = logging.getLogger(__name__)
Send = Callable[[EmailMessage], None]


def store(conn: Connection, messages: Iterable[EmailMessage], *, kind: str, department: str | None,
          run_id: str | None = None, batch_ids: Iterable[int] = (), now: dt.datetime | None = None) -> int:
    """Insert messages as pending (existing keys untouched) and link the batches; returns rows inserted."""
    d = conn.dialect.name
    now_p = ts_param(now or dt.datetime.now(dt.UTC), d)
    inserted = 0
    report_key = None
    for msg in messages:
        report_key = str(msg[REPORT_HEADER])
        inserted += conn.execute(text(sql_file("notify/insert_notification.sql", d)), {
            "message_key": str(msg[KEY_HEADER]), "report_key": report_key, "kind": kind, "department": department,
            "recipient": str(msg["To"]), "subject": str(msg["Subject"]), "run_id": run_id,
            "message": msg.as_string(), "created_at": now_p,
        }).rowcount
    if report_key:
        for batch_id in batch_ids:
            conn.execute(text(sql_file("notify/link_batch.sql", d)),
                         {"batch_id": batch_id, "report_key": report_key, "created_at": now_p})
    return inserted


def report_exists(conn: Connection, report_key: str) -> bool:
    return conn.execute(text(sql_file("notify/report_exists.sql", conn.dialect.name)),
                        {"report_key": report_key}).first() is not None


@dataclass
class Pending:
    notification_id: int
    message_key: str
    kind: str
    department: str | None
    recipient: str
    raw: str
    attempts: int

    def message(self) -> EmailMessage:
        return message_from_string(self.raw, _class=EmailMessage, policy=policy.SMTP)


def pending(url: str, *, department: str | None = None, kind: str | None = None) -> list[Pending]:
    with transaction(url) as conn:
        rows = conn.execute(text(sql_file("notify/pending.sql", conn.dialect.name)),
                            {"department": department, "kind": kind}).mappings()
        return [Pending(int(r["notification_id"]), r["message_key"], r["kind"], r["department"], r["recipient"],
                        r["message"], int(r["attempts"])) for r in rows]


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        return f"{len(self.sent)} sent, {len(self.failed)} failed"


def _one_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text_}"[:500]


def permanent(exc: BaseException) -> bool:
    """A refusal that retrying cannot fix: every recipient refused, or a 5xx reply."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def deliver(url: str, send: Send, *, transport: str, department: str | None = None,
            kind: str | None = None) -> Delivery:
    """Send every pending message (oldest first), marking each as it goes; failures stay pending."""
    result = Delivery()
    for p in pending(url, department=department, kind=kind):
        try:
            send(p.message())
        except Exception as exc:  # noqa: BLE001 — any transport failure leaves the message pending
            err, final = _one_line(exc), permanent(exc)
            log.warning("email %s to %s not sent (attempt %d%s): %s", p.message_key, p.recipient, p.attempts + 1,
                        ", permanent: not retried" if final else "", err)
            with transaction(url) as conn:
                conn.execute(text(sql_file("notify/mark_failed.sql", conn.dialect.name)),
                             {"notification_id": p.notification_id, "last_error": err, "permanent": int(final)})
            result.failed.append((p.message_key, err))
            continue
        with transaction(url) as conn:
            conn.execute(text(sql_file("notify/mark_sent.sql", conn.dialect.name)),
                         {"notification_id": p.notification_id, "transport": transport,
                          "sent_at": ts_param(dt.datetime.now(dt.UTC), conn.dialect.name)})
        log.info("email %s sent to %s via %s", p.message_key, p.recipient, transport)
        result.sent.append(p.message_key)
    return result


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", name).strip("_")[:120]


def eml_name(msg: EmailMessage) -> str:
    key = str(msg[KEY_HEADER] or msg["Message-ID"])
    report, _, recipient = key.partition("|")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}_{_safe(report)}_{_safe(recipient)}.eml"


def write_eml(msg: EmailMessage, folder: Path) -> Path:
    """Write one message as an .eml file (atomically: a reader never sees half a message)."""
    private_dir(folder)
    path = folder / eml_name(msg)
    tmp = path.with_name("." + path.name + ".tmp")
    write_private(tmp, msg.as_bytes())
    tmp.replace(path)
    return path


def outbox_sender(folder: Path) -> Send:
    """The transport of the embedded default: each message becomes an .eml file in the outbox."""

    def send(msg: EmailMessage) -> None:
        write_eml(msg, folder)

    return send
