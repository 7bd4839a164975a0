"""Warnings from inside Airflow, not from this project, silenced in every Airflow process.

Airflow's UI deadlines route calls SQLAlchemy's ``noload()``, deprecated in SQLAlchemy 2.1:
one DeprecationWarning per request in the api-server's log. Airflow adds "default" filters for
its own modules when it loads its configuration, so an environment filter (PYTHONWARNINGS)
loses; this runs later, when the plugin loader imports ``citydata_plugins``.
"""

from __future__ import annotations

import warnings

NOLOAD = r"The :func:`_orm\.noload` option is deprecated"


def install() -> None:
    warnings.filterwarnings("ignore", message=NOLOAD, category=DeprecationWarning)
