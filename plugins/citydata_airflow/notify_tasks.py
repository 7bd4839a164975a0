"""Tasks the ingest DAGs add for notifications (kept here so the DAG file only declares them).

``notify_owners`` is a teardown task: it runs after every file and pull task however they
ended (a rejected file included), and being a teardown it does not decide the run's state,
so a run with a rejected file still fails visibly while the owner gets the email.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import get_current_context, task, teardown

from citydata_airflow.deadline import ingest_deadline

__all__ = ["current_run_id", "ingest_deadline", "notify_owners", "started_by_watcher"]

NOTIFY_RETRIES = 3


def current_run_id() -> str | None:
    """The Airflow run id of the running task (recorded on every audit row it writes)."""
    try:
        return str(get_current_context()["run_id"])
    except Exception:  # noqa: BLE001 — outside a task run
        return None


def started_by_watcher() -> bool:
    """True in a run the landing watcher started for delivered files (run type asset_triggered)."""
    try:
        run_type = get_current_context()["dag_run"].run_type
    except Exception:  # noqa: BLE001 — outside a task run
        return False
    return getattr(run_type, "value", run_type) == "asset_triggered"


def notify_owners(department: str) -> object:
    """Compose and send this run's quality report, digest and freshness alerts; retried while SMTP is down."""

    @teardown
    # One at a time per department (runs overlap): each report covers the batches not yet reported.
    @task(task_id="notify_owners", retries=NOTIFY_RETRIES, retry_delay=timedelta(minutes=1), max_active_tis_per_dag=1,
          priority_weight=1, weight_rule="absolute", retry_exponential_backoff=2, max_retry_delay=timedelta(minutes=15))
    def notify() -> dict:
        from citydata_airflow.sender import notify_department

        return notify_department(department, run_id=current_run_id())

    return notify()
