"""Monthly progress report (by the 28th) and quarterly bulletin: offline zh-CN HTML."""

from citydata.reports.kpi_report import write_report

__all__ = ["write_report"]
