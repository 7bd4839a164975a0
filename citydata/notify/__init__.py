"""Emails for people: quality reports to department owners, digests, alerts to engineers.

Composition only (``email.message.EmailMessage`` objects, stored in quality.notifications);
no Airflow here. Sending happens in Airflow through the SMTP provider (plugins/citydata_airflow/sender.py),
or, without an SMTP connection, as .eml files in $CITYDATA_HOME/outbox/ (``outbox.write_eml``).
"""
