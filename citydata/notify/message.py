"""Build one outgoing email: headers, both MIME alternatives, attachments, a stable Message-ID.

Bodies are base64 and headers RFC 2047-encoded, so the serialised message is 7-bit ASCII:
any SMTP server accepts it and it stores as plain text in quality.notifications.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

KEY_HEADER = "X-Citydata-Key"
REPORT_HEADER = "X-Citydata-Report"
KIND_HEADER = "X-Citydata-Kind"
DEPARTMENT_HEADER = "X-Citydata-Department"
DEFAULT_SENDER = "noreply@citydata.localhost"
SENDER_NAME = {"zh-CN": "县大数据中心", "en": "County Big Data Center"}


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    maintype: str
    subtype: str
    charset: str | None = None  # declared on text attachments, so mail clients decode them right


def sender_address(lang: str = "zh-CN") -> Address:
    """CITYDATA_MAIL_FROM (an address) or a local default; the SMTP connection's from_email wins at send time."""
    addr = os.environ.get("CITYDATA_MAIL_FROM") or DEFAULT_SENDER
    return Address(display_name=SENDER_NAME.get(lang, SENDER_NAME["zh-CN"]), addr_spec=addr)


def message_key(report_key: str, recipient: str) -> str:
    return f"{report_key}|{recipient.lower()}"


def build(*, report_key: str, kind: str, department: str | None, recipient: str, subject: str, text: str,
          html: str, lang: str, attachments: list[Attachment] = (), now: dt.datetime | None = None) -> EmailMessage:
    """One message to one recipient; the same (report_key, recipient) always gets the same Message-ID."""
    key = message_key(report_key, recipient)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender_address(lang)
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime((now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@citydata>"
    msg[KEY_HEADER] = key
    msg[REPORT_HEADER] = report_key
    msg[KIND_HEADER] = kind
    if department:
        msg[DEPARTMENT_HEADER] = department
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    for a in attachments:
        msg.add_attachment(a.data, maintype=a.maintype, subtype=a.subtype, filename=a.filename,
                           params={"charset": a.charset} if a.charset else None)
    msg["Content-Language"] = lang  # after the body: set_content/add_attachment move Content-* headers
    return msg


def short_hash(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]
