"""Settings from the environment (the public contract, docs/architecture.md); defaults give the embedded setup."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    home: Path
    landing_dir: Path
    warehouse_url: str
    registry_path: Path
    expectations_dir: Path | None

    @property
    def zone_root(self) -> Path:
        """archive/ and rejected/ sit beside landing/ under the same root."""
        return self.landing_dir.parent

    @property
    def archive_dir(self) -> Path:
        return self.zone_root / "archive"

    @property
    def rejected_dir(self) -> Path:
        return self.zone_root / "rejected"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def airflow_home(self) -> Path:
        return Path(os.environ.get("AIRFLOW_HOME") or self.home / "airflow")


def settings() -> Settings:
    """Read settings now (not at import), so tests and tasks can change the environment."""
    home = Path(os.environ.get("CITYDATA_HOME") or REPO_ROOT / ".citydata").resolve()
    landing = Path(os.environ.get("CITYDATA_LANDING_DIR") or home / "landing").resolve()
    url = os.environ.get("CITYDATA_WAREHOUSE_URL") or f"sqlite:///{home / 'warehouse.db'}"
    registry = Path(os.environ.get("CITYDATA_REGISTRY") or REPO_ROOT / "include" / "departments.yaml")
    exp = os.environ.get("CITYDATA_EXPECTATIONS_DIR")
    return Settings(
        home=home,
        landing_dir=landing,
        warehouse_url=url,
        registry_path=registry.resolve(),
        expectations_dir=Path(exp).resolve() if exp else None,
    )
