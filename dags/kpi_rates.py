"""kpi_rates: recompute the indicators (collection, sharing, energy coverage) into the kpi tables.

Runs when any ingest DAG updates a core asset (the current day and every day, month and quarter
the new data falls in) and every day at
00:20 Asia/Shanghai (the day that just ended, its month and quarter). Backfillable: the
logical date picks the day (see citydata.kpi.jobs). Param ``date`` (YYYY-MM-DD) overrides.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AssetAny, AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task
from citydata_airflow.assets import DEFAULT_ARGS, core_asset

from citydata.domain.time import LOCAL_TZ_NAME
from citydata.registry import load_registry

REGISTRY = load_registry()
CORE_ASSETS = [core_asset(r.department, r.name) for r in REGISTRY.resources]


@dag(
    dag_id="kpi_rates",
    description="指标计算: 实时采集率 / 实时共享率 / 家庭能源自动化采集覆盖率",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("20 0 * * *", timezone=LOCAL_TZ_NAME),
        assets=AssetAny(*CORE_ASSETS),
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retry_delay": timedelta(seconds=30)},
    params={"date": Param(None, type=["null", "string"],
                          description="YYYY-MM-DD: recompute this day (and the one before)")},
    tags=["citydata", "kpi"],
    doc_md=__doc__,
)
def kpi_rates() -> None:
    @task
    def compute(**context: object) -> list[dict]:
        from citydata_airflow.lineage import attach

        from citydata.config import settings
        from citydata.kpi.jobs import rate_periods, run_kpi_rates, touched_days
        from citydata.lineage import kpi_lineage

        run = context["dag_run"]
        asset_triggered = "asset" in str(getattr(run, "run_type", "")).lower()
        override = (context.get("params") or {}).get("date")
        touched = touched_days() if asset_triggered and not override else None  # late data: past days too
        periods = rate_periods(context.get("logical_date"), run.run_after, asset_triggered, override, touched)
        attach(kpi_lineage(REGISTRY, settings()))  # OpenLineage: audit/share → kpi tables
        return run_kpi_rates(periods)

    @task(retries=3, retry_delay=timedelta(minutes=1), retry_exponential_backoff=2)
    def alert_engineers(computed: list[dict]) -> dict:
        """Email the data-center engineers about complete periods below target (once per situation)."""
        from citydata_airflow.notify_tasks import current_run_id
        from citydata_airflow.sender import notify_rates

        from citydata.notify.alerts import completed_kpi_rows

        return notify_rates(completed_kpi_rows(computed), run_id=current_run_id())

    alert_engineers(compute())


kpi_rates()
