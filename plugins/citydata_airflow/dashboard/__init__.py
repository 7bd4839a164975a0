"""plugins/citydata_airflow/dashboard."""
