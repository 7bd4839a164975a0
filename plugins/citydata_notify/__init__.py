"""Airflow side of the citydata emails: SMTP delivery through the SMTP provider, and alert callbacks.

Lives in plugins/ (on sys.path of every Airflow process, the triggerer included) so the
Deadline Alert callback is importable where it runs; composition is in citydata.notify.
"""
