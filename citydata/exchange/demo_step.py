"""The `citydata demo` step that ends the tour: one consuming department reads a shared resource
through the sharing API (a real uvicorn server on a free port), masked."""

from __future__ import annotations

from collections.abc import Callable

DEMO_CONSUMER = "public_security"
DEMO_RESOURCE = "371321-TC-0001"  # parking sessions: 有条件共享, pre-approved for 公安 by the registry


def exchange_step(step: Callable[[str], None], consumer: str = DEMO_CONSUMER, code: str = DEMO_RESOURCE) -> int:
    """Start the API, issue a token, read the first page and print a few masked rows; returns rows read."""
    import httpx

    from citydata.asgi import serve_in_thread
    from citydata.config import settings
    from citydata.exchange.api import create_app
    from citydata.exchange.tokens import add_consumer
    from citydata.warehouse.db import transaction

    url = settings().warehouse_url
    server = serve_in_thread(create_app(url))
    try:
        with transaction(url) as conn:
            token = add_consumer(conn, consumer, rotate=True)["token"]
        step(f"a consuming department reads shared data through the sharing API ({server.url})")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            r = client.get(f"/share/v1/resources/{code}/rows", params={"limit": 1000})
            r.raise_for_status()
            page = r.json()
            total, after = page["count"], page["next"]
            while page["has_more"]:
                page = client.get(f"/share/v1/resources/{code}/rows", params={"limit": 1000, "after": after}).json()
                total, after = total + page["count"], page["next"]
            first = r.json()["rows"][:3]
        print(f"    consumer {consumer}: GET /share/v1/resources/{code}/rows → {total} row(s), masked; first rows:")
        for row in first:
            print("     ", {k: v for k, v in row.items() if not k.startswith("_")})
        print(f"    every call is in audit.access_log: citydata access-log --consumer {consumer}")
        return total
    finally:
        server.stop()
