"""Deliver pending citydata emails: through SmtpHook (connection smtp_default) or into the outbox.

Without an ``smtp_default`` connection (the embedded default) messages become .eml files in
$CITYDATA_HOME/outbox/. With one, each message goes out over one SMTP session; a message the
server refuses stays pending and the task fails, so Airflow retries it — and a retry or the
next run sends only what is still pending (never a duplicate of what was delivered).
"""

from __future__ import annotations

import logging
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

from citydata.config import settings
from citydata.notify import outbox

log = logging.getLogger(__name__)
CONN_ID = "smtp_default"


class NotificationsPending(AirflowException):
    """Some messages could not be delivered; they stay pending for the retry or the next run."""


def smtp_configured(conn_id: str = CONN_ID) -> bool:
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


class SmtpTransport:
    """Sends prepared messages over one SMTP session opened (and reopened) on demand."""

    def __init__(self, conn_id: str = CONN_ID) -> None:
        self.conn_id = conn_id
        self.hook: SmtpHook | None = None

    def _client(self):  # noqa: ANN202 — smtplib.SMTP or SMTP_SSL
        if self.hook is None:
            hook = SmtpHook(smtp_conn_id=self.conn_id)
            hook.get_conn()  # connects and logs in (TLS, auth, timeout from the connection)
            self.hook = hook
        client = getattr(self.hook, "_smtp_client", None)
        if client is None:  # the provider keeps the smtplib client private; fail loudly if that changes
            raise AirflowException("SmtpHook did not open an SMTP client")
        return client

    def send(self, msg: EmailMessage) -> None:
        hook_from = None
        try:
            client = self._client()
            hook_from = self.hook.from_email if self.hook else None
        except Exception:
            self.close()
            raise
        if hook_from:
            # The deployment's sender address wins (servers often insist on it); keep our display name.
            name = msg["From"].addresses[0].display_name if msg["From"] is not None else ""
            del msg["From"]
            msg["From"] = Address(display_name=name, addr_spec=parseaddr(hook_from)[1] or hook_from)
        envelope_from = msg["From"].addresses[0].addr_spec
        rcpts = [a.addr_spec for a in msg["To"].addresses]
        try:
            client.sendmail(envelope_from, rcpts, msg.as_bytes())
        except Exception:
            self.close()  # a broken session is not reused for the next message
            raise

    def close(self) -> None:
        if self.hook is not None:
            try:
                client = getattr(self.hook, "_smtp_client", None)
                if client is not None:
                    client.quit()
            except Exception:  # noqa: BLE001, S110 — closing a dead session
                pass
            self.hook = None


def deliver_pending(*, department: str | None = None, kind: str | None = None, conn_id: str = CONN_ID,
                    url: str | None = None, raise_on_failure: bool = True) -> dict:
    """Send (or write to the outbox) every pending message; raise if any is still pending afterwards."""
    cfg = settings()
    url = url or cfg.warehouse_url
    if smtp_configured(conn_id):
        transport = SmtpTransport(conn_id)
        try:
            result = outbox.deliver(url, transport.send, transport="smtp", department=department, kind=kind)
        finally:
            transport.close()
        name = "smtp"
    else:
        result = outbox.deliver(url, outbox.outbox_sender(cfg.outbox_dir), transport="outbox",
                                department=department, kind=kind)
        name = f"outbox {cfg.outbox_dir}"
    log.info("notifications (%s): %s", name, result.summary())
    if result.failed and raise_on_failure:
        first_key, first_err = result.failed[0]
        raise NotificationsPending(f"{len(result.failed)} email(s) not delivered, kept pending for retry; "
                                   f"first: {first_key}: {first_err}")
    return {"transport": name.split()[0], "sent": len(result.sent), "failed": len(result.failed)}


def notify_department(department: str, run_id: str | None = None, conn_id: str = CONN_ID) -> dict:
    """What the ingest DAG's last task calls: compose this run's report/digest/alerts, then deliver."""
    from citydata.notify.service import prepare_department

    prepared = prepare_department(department, run_id=run_id)
    delivered = deliver_pending(department=department, conn_id=conn_id)
    return {"reports": prepared.reports, **delivered}


def notify_rates(kpi_rows: list[dict], run_id: str | None = None, conn_id: str = CONN_ID) -> dict:
    """What the kpi_rates DAG calls with its indicator rows: alert engineers about rates below target
    and about overdue sharing requests (citydata.exchange)."""
    from citydata.exchange.overdue import overdue_alerts
    from citydata.notify.alerts import rate_alerts
    from citydata.notify.service import store_alerts

    stored = store_alerts(rate_alerts(kpi_rows) + overdue_alerts(), run_id=run_id)  # + overdue sharing requests
    delivered = deliver_pending(kind="alert", conn_id=conn_id)
    return {"stored": stored, **delivered}


def send_reports(period_keys: list[str], run_id: str | None = None, conn_id: str = CONN_ID) -> dict:
    """What the kpi_reports DAG calls: store each period's report for the leadership, then deliver."""
    from citydata.notify.leadership import KIND, prepare

    stored = sum(prepare(k, run_id=run_id).stored for k in period_keys)
    delivered = deliver_pending(kind=KIND, conn_id=conn_id)
    return {"stored": stored, **delivered}
