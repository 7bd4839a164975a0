"""ingest_<department>: one DAG per registry department, processing every waiting delivery.

Declarations only; the work is in citydata.tasks. Heavy libraries load inside tasks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task
from airflow.sdk.exceptions import AirflowFailException

from citydata.registry import load_registry

REGISTRY = load_registry()
DEFAULT_ARGS = {"owner": "citydata", "retries": 2, "retry_delay": timedelta(seconds=20)}


def core_asset(department: str, resource: str) -> Asset:
    return Asset(name=f"core.{department}.{resource}", uri=f"citydata://warehouse/core/{department}/{resource}")


def build(department: str) -> None:
    dept = REGISTRY.departments[department]
    outlets = [core_asset(department, r) for r in dept.resources]

    @dag(
        dag_id=f"ingest_{department}",
        description=f"{dept.name_zh} ({dept.name_en}): landing zone → checks → warehouse core",
        schedule=timedelta(minutes=15),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["citydata", "ingest", department],
        doc_md=__doc__,
    )
    def ingest() -> None:
        @task
        def list_waiting() -> list[str]:
            from citydata import tasks

            return tasks.list_waiting(department)

        @task(outlets=outlets, map_index_template="{{ task.op_kwargs['path'] }}")
        def ingest_file(path: str) -> dict:
            from citydata import tasks

            record = tasks.ingest_path(department, path)
            if record["status"] == "rejected":
                # Visible in the UI as a failed task; the file is already in rejected/.
                raise AirflowFailException(f"{path} rejected: {record['reason']}")
            return record

        ingest_file.expand(path=list_waiting())

    ingest()


for _name in REGISTRY.departments:
    build(_name)
