"""Notify fixtures: a real SMTP server on a held port, wired as Airflow's smtp_default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import Inbox


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    box = Inbox()
    box.start()
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f"smtp://127.0.0.1:{box.port}?disable_tls=true&disable_ssl=true&timeout=5&retry_limit=0"
        "&from_email=citydata%40bigdata.example.cn",
    )
    yield box
    box.stop()
