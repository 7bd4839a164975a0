"""citydata indicator dashboard (数据汇聚指标) for the Airflow UI.

The plugin class is dashboard_plugin.CitydataDashboardPlugin.
"""
