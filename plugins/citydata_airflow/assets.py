"""What every DAG file shares: the assets that connect the DAGs and the default task arguments.

``core.<department>.<resource>`` is updated by ingest_<department> and replay_quarantine and
consumed by kpi_rates; ``landing.<department>`` carries the landing-zone watcher. Declarations
only (no heavy imports): DAG files import this at parse time.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset, AssetWatcher

from citydata.config import settings
from citydata.ingest import watch
from citydata_airflow.triggers import LandingZoneTrigger

DEFAULT_ARGS = {"owner": "citydata", "retries": 2, "retry_delay": timedelta(seconds=20)}


def core_asset(department: str, resource: str) -> Asset:
    """The warehouse core table of one resource."""
    return Asset(name=f"core.{department}.{resource}", uri=f"citydata://warehouse/core/{department}/{resource}")


def landing_asset(department: str) -> Asset:
    """The department's landing folder; its watcher emits one event per new stable file."""
    cfg = settings()
    trigger = LandingZoneTrigger(department=department, landing_dir=str(cfg.landing_dir),
                                 state_path=str(watch.state_path(cfg.home, department)),
                                 poll_seconds=watch.poll_seconds())
    return Asset(name=f"landing.{department}", uri=f"citydata://landing/{department}",
                 watchers=[AssetWatcher(name=f"landing_{department}", trigger=trigger)])
