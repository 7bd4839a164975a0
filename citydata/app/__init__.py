"""The composition root: the `citydata` CLI, the demo, the Airflow environment and the audit listing.
The one package that may wire everything together (including the mock departments)."""
