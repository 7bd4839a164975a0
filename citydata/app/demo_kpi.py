"""The last step of `citydata demo`: indicators through the kpi_rates DAG, the table, a monthly report."""

from __future__ import annotations

import time
from collections.abc import Callable


def kpi_step(step: Callable[[str], None]) -> list[str]:
    """Run kpi_rates through Airflow, print today's indicator table and write this month's report.

    Returns the DAG ids that failed (the table is then computed in-process, so it still prints).
    """
    from citydata.app.airflow_env import dags_test
    from citydata.kpi.present import kpi_table
    from citydata.kpi.read import read_kpis
    from citydata.reports.kpi_report import write_kpi_report

    failed = []
    step("running kpi_rates through Airflow (indicators into the kpi tables)")
    started = time.monotonic()
    code = dags_test("kpi_rates", quiet=True)
    print(f"    kpi_rates: {'ok' if code == 0 else f'failed (exit {code})'} in {time.monotonic() - started:.1f}s")
    if code != 0:
        failed.append("kpi_rates")
    step("indicators against the county's targets (80% / 80% / 50%)")
    rows = read_kpis("day")
    print(kpi_table(rows))
    path = write_kpi_report(rows[0]["period"][:7])
    print(f"\nmonthly report: {path}")
    return failed
