"""kpi_reports: the monthly progress report (sent before the 28th), the quarterly bulletin and the
yearly assessment report, written to $CITYDATA_HOME/reports/ and emailed to the leadership.

Cron 06:00 Asia/Shanghai every day; citydata.kpi.jobs.due_reports decides what is due (the
registry's ``leadership.monthly_day`` sets the monthly day). Recipients: the registry's
``leadership.recipients``, through the connection ``smtp_default`` (the outbox without one);
each report reaches each recipient once. Param ``period`` (YYYY-MM, YYYY-Qn or YYYY) writes
and sends that report now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task
from citydata_airflow.assets import DEFAULT_ARGS

from citydata.domain.time import LOCAL_TZ_NAME


@dag(
    dag_id="kpi_reports",
    description="月度进展报告(每月28日前)、季度通报与年度考核报告,发送领导小组",
    schedule=CronTriggerTimetable("0 6 * * *", timezone=LOCAL_TZ_NAME),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retry_delay": timedelta(minutes=5)},
    params={"period": Param(None, type=["null", "string"], description="YYYY-MM, YYYY-Qn or YYYY")},
    tags=["citydata", "kpi", "report"],
    doc_md=__doc__,
)
def kpi_reports() -> None:
    @task
    def due(**context: object) -> list[dict]:
        from citydata.kpi.jobs import due_reports
        from citydata.registry import load_registry

        run = context["dag_run"]
        when = context.get("logical_date") or run.run_after
        day = load_registry().leadership.monthly_day
        return [{"key": r.key, "send": r.send}
                for r in due_reports(when, day, (context.get("params") or {}).get("period"))]

    @task
    def write(reports: list[dict]) -> list[str]:
        from citydata.kpi.jobs import run_reports

        return run_reports([r["key"] for r in reports])

    @task(retries=3, retry_delay=timedelta(minutes=2))
    def send(reports: list[dict], written: list[str]) -> dict:
        from citydata_airflow.sender import send_reports

        return send_reports([r["key"] for r in reports if r["send"]],
                            run_id=str(get_current_context()["run_id"]))

    reports = due()
    send(reports, write(reports))


kpi_reports()
