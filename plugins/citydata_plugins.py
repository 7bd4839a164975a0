"""The one file Airflow's plugin loader scans (see .airflowignore): registers citydata's plugins."""

from citydata_airflow import quiet
from citydata_airflow.dashboard.plugin import CitydataDashboardPlugin

quiet.install()  # Airflow's own deprecations (SQLAlchemy noload) out of every log

__all__ = ["CitydataDashboardPlugin"]
