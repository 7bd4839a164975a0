"""Give the OpenLineage provider what a running task read and wrote (names from citydata.lineage).

Our tasks are ``@task`` functions, for which the provider has no extractor. It does turn OpenLineage
``Dataset`` objects found in a task's inlets/outlets into the event's inputs/outputs (manually
annotated lineage). Which landing file, batch and tables a task touched is known only while it
runs, so the task adds them to its own inlets/outlets before it returns or fails; Airflow's asset
handling skips lineage objects that are not Assets, so schedules are unaffected. Imported inside
tasks only (OpenLineage is not needed to parse the DAGs).
"""

from __future__ import annotations

import logging

import attr
from airflow.sdk import get_current_context
from openlineage.client.event_v2 import Dataset
from openlineage.client.facet_v2 import DatasetFacet

from citydata.lineage import Lineage, LineageDataset

FACET = "citydata"
log = logging.getLogger(__name__)


@attr.define
class CitydataFacet(DatasetFacet):
    """What this task did to the dataset, in the audit log's words: follow batch_id to audit.ingest_log."""

    batch_id: int | None = attr.field(default=None)
    status: str | None = attr.field(default=None)
    rows_read: int | None = attr.field(default=None)
    rows_loaded: int | None = attr.field(default=None)
    rows_quarantined: int | None = attr.field(default=None)
    rows_duplicate: int | None = attr.field(default=None)
    rows_stale: int | None = attr.field(default=None)
    rows_published: int | None = attr.field(default=None)

    @staticmethod
    def _get_schema() -> str:
        return "https://citydata.invalid/lineage/CitydataFacet.json"  # no public schema: see docs/lineage.md


def to_openlineage(ds: LineageDataset) -> Dataset:
    known = {k: v for k, v in ds.facet.items() if k in attr.fields_dict(CitydataFacet)}
    facets = {FACET: CitydataFacet(**known)} if known else {}
    return Dataset(namespace=ds.namespace, name=ds.name, facets=facets)


def _assets(objects: list | None) -> list:
    return [o for o in objects or [] if not isinstance(o, Dataset)]


def attach(lineage: Lineage) -> None:
    """Add the datasets to the current task's inlets/outlets (the provider reads them at the end).

    Lineage never fails a delivery: a problem here is logged as a warning and the task goes on.
    """
    try:
        task = get_current_context()["task"]
        # Replace, not add to, what an earlier try in this process attached (the Assets stay).
        task.inlets = [*_assets(task.inlets), *map(to_openlineage, lineage.inputs)]
        task.outlets = [*_assets(task.outlets), *map(to_openlineage, lineage.outputs)]
    except Exception as exc:  # noqa: BLE001 - lineage is best effort, the data is what matters
        log.warning("lineage not recorded for this task: %s", exc)
