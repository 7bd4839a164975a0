"""kpi_reports: the monthly progress report (27th, ready by the 28th) and the quarterly bulletin.

Cron 06:00 Asia/Shanghai on the 1st and the 27th (see citydata.kpi.jobs.report_keys);
writes $CITYDATA_HOME/reports/kpi-<YYYY-MM|YYYY-Qn>.zh-CN.html. Param ``period`` overrides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, task
from citydata_airflow.assets import DEFAULT_ARGS

from citydata.domain.time import LOCAL_TZ_NAME


@dag(
    dag_id="kpi_reports",
    description="月度进展报告(每月28日前)与季度通报",
    schedule=CronTriggerTimetable("0 6 1,27 * *", timezone=LOCAL_TZ_NAME),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retry_delay": timedelta(minutes=5)},
    params={"period": Param(None, type=["null", "string"], description="YYYY-MM or YYYY-Qn")},
    tags=["citydata", "kpi", "report"],
    doc_md=__doc__,
)
def kpi_reports() -> None:
    @task
    def write(**context: object) -> list[str]:
        from citydata.kpi.jobs import report_keys, run_reports

        run = context["dag_run"]
        when = context.get("logical_date") or run.run_after
        return run_reports(report_keys(when, (context.get("params") or {}).get("period")))

    write()


kpi_reports()
