"""ingest_<department>: one DAG per registry department, processing every waiting delivery.

Declarations only; the work is in citydata.ingest.tasks. Heavy libraries load inside tasks.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from citydata_airflow.assets import DEFAULT_ARGS, core_asset, landing_asset
from citydata_airflow.notify_tasks import current_run_id, ingest_deadline, notify_owners

from citydata.domain.time import LOCAL_TZ_NAME
from citydata.ingest import watch
from citydata.registry import load_registry

REGISTRY = load_registry()


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
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        deadline=ingest_deadline(REGISTRY.alerts.ingest_deadline_minutes),  # late run → alert to engineers
        tags=["citydata", "ingest", department],
        doc_md=__doc__,
    )
    def ingest() -> None:
        @task
        def list_waiting() -> list[str]:
            from citydata.ingest import tasks

            return tasks.list_waiting(department)

        @task(outlets=outlets, map_index_template="{{ task.op_kwargs['path'] }}")
        def ingest_file(path: str) -> dict:
            from citydata_airflow.lineage import attach

            from citydata.config import settings
            from citydata.ingest import tasks
            from citydata.lineage import ingest_lineage

            record = tasks.ingest_path(department, path, run_id=current_run_id())
            attach(ingest_lineage(REGISTRY, settings(), department, path, record))  # OpenLineage: file → core/share
            if record["status"] == "rejected":
                # Visible in the UI as a failed task; the file is already in rejected/.
                raise AirflowFailException(f"{record['source']} rejected: {record['reason']}")
            return record

        work = [ingest_file.expand(path=list_waiting())]

        for res in dept.resources.values():
            if res.arrival in ("http", "sql"):
                work.append(pull_task(department, res.name))
        work >> notify_owners(department)  # quality email to the owners, after every file and pull

    ingest()


def pull_task(department: str, resource: str) -> object:
    """Incremental pull of one http/sql resource; independent of the file tasks and of other pulls."""

    @task(task_id=f"pull_{resource}", outlets=[core_asset(department, resource)])
    def pull() -> dict:
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
