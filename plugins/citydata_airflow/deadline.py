"""Deadline Alert for the ingest DAGs: an engineer hears when a run is not finished in time.

The callback runs in the triggerer (AsyncCallback), so it lives here in plugins/ where every
Airflow process can import it. It stores the alert (deduplicated by DAG run) and delivers
pending alerts in a worker thread, as the rest of the notification path does.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from datetime import timedelta

from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

log = logging.getLogger(__name__)


def _parse(value: object) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and value:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def alert_late_run(dag_id: str, run_id: str, deadline: dt.datetime | None = None, minutes: int | None = None) -> dict:
    """Store and deliver the late-run alert (sync; also what tests call)."""
    from citydata.notify.alerts import late_run_alert
    from citydata.notify.service import store_alerts
    from citydata.registry import load_registry
    from citydata_airflow.sender import deliver_pending

    registry = load_registry()
    msgs = late_run_alert(registry, dag_id, run_id, deadline=deadline, minutes=minutes)
    stored = store_alerts(msgs, registry=registry, run_id=run_id,
                          department=dag_id.removeprefix("ingest_") if dag_id.startswith("ingest_") else None)
    delivered = deliver_pending(kind="alert")
    return {"stored": stored, **delivered}


async def ingest_run_late(minutes: int, context: dict | None = None) -> dict:
    """AsyncCallback target: ``context`` is the scheduler's simple context (dag_run, deadline)."""
    context = context or {}
    run = context.get("dag_run") or {}
    dl = context.get("deadline") or {}
    dag_id, run_id = run.get("dag_id", "?"), run.get("dag_run_id") or run.get("run_id", "?")
    log.warning("deadline missed: %s %s", dag_id, run_id)
    return await asyncio.to_thread(alert_late_run, dag_id, run_id, _parse(dl.get("deadline_time")), minutes)


def under_dags_test(argv: list[str] | None = None) -> bool:
    """True in an `airflow dags test` process (the DAG file is parsed there too)."""
    args = [a for a in (sys.argv if argv is None else argv)[1:] if not a.startswith("-")]
    return args[:2] == ["dags", "test"]


def ingest_deadline(minutes: int) -> DeadlineAlert | None:
    """A run still unfinished ``minutes`` after it was queued triggers ``ingest_run_late``.

    None under `airflow dags test`: Airflow 3.3.2's dag.test() crashes when a run with a
    DeadlineAlert succeeds (it looks the serialized alerts up as ids), and a test run has no
    scheduler to watch deadlines anyway. Scheduled runs always get the alert.
    """
    if under_dags_test():
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=AsyncCallback(ingest_run_late, kwargs={"minutes": minutes}),
        name="ingest_run_late",
    )
