"""Pull a department's HTTP API: Bearer token, keyset pages, `updated_since`, retries that honour Retry-After.

The API contract (the parking system's, served by citydata.mock.parking_api):
GET <url><path>?updated_since=<ISO>&limit=<n>[&cursor=<c>] →
{"data": [records…], "next_cursor": "…" | null}. Records are ordered by their update time,
so a record updated during a pull moves to a later page and is read again, never skipped.

Retried: connection errors, timeouts, 429 (waiting Retry-After), 5xx and unparseable JSON;
not retried: other 4xx (a bad token does not get better by asking again).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
from urllib.parse import urlsplit, urlunsplit

import httpx

from citydata.errors import CitydataError
from citydata.sources.base import Pulled, max_time, records_to_batch

log = logging.getLogger(__name__)


def redact(url: str) -> str:
    """The URL without user:password (safe for logs, audit and watermark keys)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class HttpSource:
    kind = "http"

    def __init__(self, base_url: str, path: str, *, token: str | None = None, columns: list[str] | None = None,
                 watermark_field: str = "updated_at", page_size: int = 500, timeout: float = 10.0,
                 max_retries: int = 5, backoff: float = 0.5, max_backoff: float = 30.0,
                 overlap_seconds: float = 0.0, max_rows: int = 500_000, label: str = "") -> None:
        self.url = base_url.rstrip("/") + "/" + path.lstrip("/")
        self.name = redact(self.url)
        self.token, self.columns, self.watermark_field = token, columns or [], watermark_field
        self.page_size, self.timeout, self.max_retries = page_size, timeout, max_retries
        self.backoff, self.max_backoff, self.overlap = backoff, max_backoff, dt.timedelta(seconds=overlap_seconds)
        self.max_rows, self.label = max_rows, label or self.name
        self._rng = random.Random()

    def _wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        return min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + self._rng.random() / 2)

    def get_page(self, client: httpx.Client, params: dict) -> tuple[dict, int]:
        """One page, retried; returns (body, attempts). Raises CitydataError naming the URL when it gives up."""
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                resp = client.get(self.url, params=params)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g}s"
            except httpx.TransportError as exc:
                last = f"cannot connect ({exc.__class__.__name__}: {exc})"
            else:
                if resp.status_code == 200:
                    try:
                        body = resp.json()
                        if not isinstance(body, dict) or not isinstance(body.get("data"), list) \
                                or not all(isinstance(r, dict) for r in body["data"]):
                            raise ValueError("expected an object with a 'data' list of objects")
                        return body, attempt + 1
                    except ValueError as exc:
                        last = f"malformed JSON ({str(exc)[:80]})"
                elif resp.status_code == 429 or resp.status_code >= 500:
                    last = f"HTTP {resp.status_code}"
                    retry_after = retry_after_seconds(resp.headers.get("Retry-After"))
                else:
                    detail = resp.text[:200].strip().replace("\n", " ")
                    raise CitydataError(f"{self.label}: GET {redact(self.url)} → HTTP {resp.status_code}: {detail}")
            if attempt < self.max_retries:
                pause = self._wait(attempt, retry_after)
                log.warning("%s: %s; retry %d/%d in %.1fs", self.label, last, attempt + 1, self.max_retries, pause)
                time.sleep(pause)
        raise CitydataError(f"{self.label}: GET {redact(self.url)} failed after {self.max_retries + 1} attempt(s): {last}")

    def pull(self, since: dt.datetime | None) -> Pulled:
        params: dict[str, object] = {"limit": self.page_size}
        if since is not None:
            params["updated_since"] = (since - self.overlap).astimezone(dt.UTC).isoformat()
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        batches, rows, pages, attempts = [], 0, 0, 0
        watermark = None
        with httpx.Client(timeout=self.timeout, headers=headers) as client:
            while True:
                body, tries = self.get_page(client, params)
                attempts += tries
                pages += 1
                data = body["data"]
                if data:
                    batches.append(records_to_batch(data, self.columns))
                    rows += len(data)
                    watermark = max_time((r.get(self.watermark_field) for r in data if isinstance(r, dict)), watermark)
                cursor = body.get("next_cursor")
                if not cursor or not data or rows >= self.max_rows:
                    break
                params["cursor"] = cursor
        return Pulled(batches=batches, rows=rows, watermark=watermark, pages=pages, attempts=attempts)
