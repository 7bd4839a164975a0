"""The one file Airflow's plugin loader scans (see .airflowignore): registers citydata's plugins."""

from citydata_airflow.dashboard.plugin import CitydataDashboardPlugin

__all__ = ["CitydataDashboardPlugin"]
