"""Fixtures of the reliability tests: each fault test records its outcome for `make reliability-report`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts.reliability_report import record_outcome


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Iterator[dict]:
    """The outcome row of one fault; the test fills it and sets ok=True at its end."""
    row = {"name": request.node.name, "injected": "", "outcome": "test did not finish", "rows_lost": None, "ok": False}
    yield row
    record_outcome("faults", request.node.name, row)
