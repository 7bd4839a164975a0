"""`[core] hostname_callable` for several Celery workers on one host (the native distributed check).

In containers every worker has its own hostname; natively they share the machine's, so task
instances could not tell which worker ran them. CITYDATA_HOSTNAME names the worker process.
"""

from __future__ import annotations

import os
import socket


def worker_hostname() -> str:
    return os.environ.get("CITYDATA_HOSTNAME") or socket.getfqdn()
