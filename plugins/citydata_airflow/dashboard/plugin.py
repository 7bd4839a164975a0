"""Registers the indicator dashboard (数据汇聚指标) with Airflow: a FastAPI app and a UI nav entry."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from citydata_airflow.dashboard.app import PREFIX, app


class CitydataDashboardPlugin(AirflowPlugin):
    name = "citydata_dashboard"
    fastapi_apps = [{"app": app, "url_prefix": PREFIX, "name": "citydata_dashboard"}]
    external_views = [
        {
            "name": "数据汇聚指标",
            "href": f"{PREFIX}/",
            "url_route": "citydata",
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{PREFIX}/icon.svg",
        }
    ]
