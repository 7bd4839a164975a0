"""Airflow-side code of citydata that the triggerer and the DAG files import.

The plugins folder is on sys.path of every Airflow 3 process (airflow.settings.initialize), so
`citydata_airflow.triggers.LandingZoneTrigger` is importable by the triggerer and the dag-processor.
"""
