"""citydata: departmental data aggregation for a county big-data center (Airflow-free core)."""

__version__ = "0.1.0"
