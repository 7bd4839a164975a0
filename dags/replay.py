"""replay_quarantine: re-validate open quarantined rows and load the ones that now pass.

Trigger it (manually, or from the UI with params) after a department corrected its rows
(`citydata quarantine import`) or after a registry/suite fix. Params: ``department``
(empty = every department) and ``resource`` (empty = every resource of the department).
Each replayed row moves into core exactly once (see citydata.ingest.replay). Declarations only.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, task
from citydata_airflow.assets import DEFAULT_ARGS, core_asset

from citydata.registry import load_registry

REGISTRY = load_registry()
DEPARTMENTS = sorted(REGISTRY.departments)


@dag(
    dag_id="replay_quarantine",
    description="Re-validate quarantined rows after corrections or a suite fix; load the ones that pass",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        "department": Param(None, type=["null", "string"], enum=[None, *DEPARTMENTS],
                            description="department to replay (empty: all)"),
        "resource": Param(None, type=["null", "string"], description="one resource of the department (empty: all)"),
    },
    tags=["citydata", "quality", "replay"],
    doc_md=__doc__,
)
def replay_quarantine() -> None:
    @task
    def departments(params: dict | None = None) -> list[str]:
        params = params or {}
        if params.get("resource") and not params.get("department"):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException("param resource needs param department")
        return [params["department"]] if params.get("department") else DEPARTMENTS

    @task(outlets=[core_asset(r.department, r.name) for r in REGISTRY.resources],
          map_index_template="{{ task.op_kwargs['department'] }}")
    def replay(department: str, params: dict | None = None) -> list[dict]:
        from citydata.ingest.replay import replay as run_replay

        resource = (params or {}).get("resource") or None
        return [r.as_dict() for r in run_replay(department, resource)]

    replay.expand(department=departments())


replay_quarantine()
