"""ingest_<department>: one DAG per registry department, processing every waiting delivery.

Declarations only; the work is in citydata.ingest.tasks. Heavy libraries load inside tasks.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from citydata_airflow.assets import DEFAULT_ARGS, core_asset, landing_asset
from citydata_airflow.notify_tasks import current_run_id, ingest_deadline, notify_owners, started_by_watcher

from citydata.domain.time import LOCAL_TZ_NAME
from citydata.errors import CitydataError
from citydata.ingest import watch
from citydata.registry import load_registry

REGISTRY = load_registry()
# When task slots are short, a delivered file's tasks are queued before pulls and owner emails:
# they are what drop-to-queryable waits for.
FILES_FIRST = 100


def ingest_schedule(department: str) -> AssetOrTimeSchedule | CronTriggerTimetable:
    """Watcher events OR a cron (so nothing waits forever if the triggerer is down).

    Departments with pulled resources (HTTP, database) run on the short pull cron, the others
    on the fallback cron; both are env-configurable (citydata.ingest.watch).
    """
    resources = REGISTRY.departments[department].resources.values()
    pulls = any(r.arrival != "files" for r in resources)
    cron = CronTriggerTimetable(watch.pull_cron() if pulls else watch.fallback_cron(), timezone=LOCAL_TZ_NAME)
    if not any(r.arrival == "files" for r in resources):
        return cron
    return AssetOrTimeSchedule(timetable=cron, assets=landing_asset(department))


def build(department: str) -> None:
    dept = REGISTRY.departments[department]
    outlets = [core_asset(department, r) for r in dept.resources]

    @dag(
        dag_id=f"ingest_{department}",
        description=f"{dept.name_zh} ({dept.name_en}): landing zone → checks → warehouse core",
        schedule=ingest_schedule(department),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=watch.max_active_runs(),  # a new file need not wait for a busy run
        default_args=DEFAULT_ARGS,
        deadline=ingest_deadline(REGISTRY.alerts.ingest_deadline_minutes),  # late run → alert to engineers
        tags=["citydata", "ingest", department],
        doc_md=__doc__,
    )
    def ingest() -> None:
        @task(outlets=outlets, priority_weight=FILES_FIRST, weight_rule="absolute")
        def ingest_files() -> list[dict]:
            """Every waiting file, in this one task (start-up and imports paid once per run)."""
            from citydata_airflow.lineage import attach

            from citydata.config import settings
            from citydata.ingest import tasks
            from citydata.lineage import combined, ingest_lineage

            records = tasks.ingest_waiting(department, run_id=current_run_id())
            # OpenLineage: each file → core/share tables of its resource.
            attach(combined([ingest_lineage(REGISTRY, settings(), department, r["handle"], r) for r in records]))
            failed = "; ".join(f"{r['source']} {r['status']}: {r['reason']}" for r in records
                               if r["status"] in ("rejected", "error"))
            if any(r["status"] == "error" for r in records):  # left waiting: the retry takes it again
                raise CitydataError(failed)
            if failed:  # visible in the UI as a failed task; a rejected file is already in rejected/
                raise AirflowFailException(failed)
            if all(r["status"] == "skipped" for r in records):  # nothing waiting, or a concurrent run took it
                raise AirflowSkipException("no file waiting")
            return records

        work = [ingest_files()]

        for res in dept.resources.values():
            if res.arrival in ("http", "sql"):
                work.append(pull_task(department, res.name))
        work >> notify_owners(department)  # quality email to the owners, after every file and pull

    ingest()


def pull_task(department: str, resource: str) -> object:
    """Incremental pull of one http/sql resource; independent of the file tasks and of other pulls."""

    # One pull of a resource at a time across the DAG's concurrent runs: the watermark moves in order.
    @task(task_id=f"pull_{resource}", outlets=[core_asset(department, resource)], max_active_tis_per_dag=1,
          priority_weight=1, weight_rule="absolute")
    def pull() -> dict:
        if started_by_watcher():  # a run for delivered files: pulls keep their own cadence (CITYDATA_PULL_CRON)
            raise AirflowSkipException("run started by the landing watcher for files; pulls run on the pull cron")
        from citydata_airflow.lineage import attach

        from citydata.config import settings
        from citydata.ingest import tasks
        from citydata.lineage import pull_lineage

        record = tasks.pull_resource(department, resource, run_id=current_run_id())  # audit rows name this run
        attach(pull_lineage(REGISTRY, settings(), department, resource, record))  # OpenLineage: source → core/share
        if record["status"] == "skipped":
            # Source not configured here (the reason names the variable); files are still accepted. The
            # dashboard shows 来源未配置 and freshness alerts name the setting (Resource.missing_setting).
            raise AirflowSkipException(record["reason"])
        if record["status"] == "rejected":
            raise AirflowFailException(f"{department}.{resource} pull rejected (watermark kept): {record['reason']}")
        return record

    return pull()


for _name in REGISTRY.departments:
    build(_name)
