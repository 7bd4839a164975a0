"""The parking department's system as a real HTTP server (`citydata mock-api`): FastAPI + uvicorn.

Endpoints (JSON; times ISO-8601 with +08:00):
  GET  /api/v1/health                        no auth
  GET  /api/v1/lots|sessions|occupancy       Bearer token; ?updated_since=ISO&limit=N&cursor=C
       → {"data": [...], "next_cursor": str|null, "count": n}
  GET/POST /api/v1/admin/faults              read / change faults at run time (Bearer token)
  POST /api/v1/admin/tick                    advance the simulation now (tests)
Records are ordered by update time (sessions/lots: updated_at, occupancy: snapshot_time)
then ID, and the cursor is that key (keyset pagination): a record updated while a client
pages moves behind the cursor and is served again later, never skipped.

Data keeps arriving: a background task steps the simulation every `tick` seconds: cars
enter (by hour of day), cars whose stay is over exit (exit_time, fee, status out, new
updated_at), and every `snapshot_seconds` each lot gets an occupancy snapshot.

Faults (probabilities per data request, or queued with `next`): error (HTTP 500/502/503),
slow (sleep `slow_seconds` before answering), malformed (200 with a cut-off JSON body),
ratelimit (429 with Retry-After). A real token-bucket rate limit (`rate_limit` requests
per second, `burst`) also answers 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from citydata.domain.time import LOCAL_TZ
from citydata.mock import generators, model

UTC = dt.UTC
FAULT_KINDS = ("error", "slow", "malformed", "ratelimit")


@dataclass
class Faults:
    error: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    ratelimit: float = 0.0
    slow_seconds: float = 3.0
    retry_after: float = 1.0
    next: deque = field(default_factory=deque)  # forced faults for the next requests, in order
    seed: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(f"faults:{self.seed}")

    def draw(self) -> str | None:
        if self.next:
            return self.next.popleft()
        for kind in FAULT_KINDS:
            p = getattr(self, kind)
            if p and self._rng.random() < p:
                return kind
        return None

    def update(self, body: dict) -> None:
        for k in (*FAULT_KINDS, "slow_seconds", "retry_after"):
            if k in body:
                setattr(self, k, float(body[k]))
        for kind in body.get("next", []):
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
            self.next.append(kind)

    def as_dict(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("next", "seed")}
        return {**d, "next": list(self.next)}


def parse_fault_specs(specs: list[str]) -> Faults:
    """CLI form: ['error=0.1', 'slow=0.05', 'slow_seconds=5'] (a bare kind means probability 0.1)."""
    faults = Faults()
    values: dict = {}
    for spec in specs:
        key, _, value = spec.partition("=")
        key = key.strip().replace("-", "_")
        if key not in (*FAULT_KINDS, "slow_seconds", "retry_after"):
            raise ValueError(f"unknown fault {key!r}; known: {', '.join((*FAULT_KINDS, 'slow_seconds', 'retry_after'))}")
        values[key] = float(value) if value else 0.1
    faults.update(values)
    return faults


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.at = float(burst), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 when allowed, else seconds until a token is available."""
        if self.rate <= 0:
            return 0.0
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class ParkingSystem:
    """In-memory state of the county's parking platform, advanced by step()."""

    def __init__(self, seed: int = 0, now: dt.datetime | None = None, *, backfill_hours: float = 3.0,
                 sessions_per_hour: float = 400.0, snapshot_seconds: float = 300.0) -> None:
        now = (now or dt.datetime.now(UTC)).astimezone(UTC)
        self.seed = seed
        self.rng = random.Random(f"{seed}:parking-api")
        self.lock = threading.Lock()
        self.lots = [generators.lot(seed, i) for i in range(generators.ACTIVE_LOTS)]
        self.lot_rows = {r["lot_id"]: r for r in generators.lots_rows(len(self.lots), seed, now)}
        self.sessions: dict[str, dict] = {}
        self.planned_exit: dict[str, dt.datetime] = {}
        self.occupancy: dict[tuple[str, dt.datetime], dict] = {}
        self.sessions_per_hour = sessions_per_hour
        self.snapshot_seconds = snapshot_seconds
        self.seen_ids: set[str] = set()
        self.counter = 0
        self.last_stamp = now
        self.clock = now - dt.timedelta(hours=backfill_hours)
        self.last_snapshot = generators.floor_time(self.clock, 5)
        self._advance(now, backfill=True)

    def _stamp(self, t: dt.datetime) -> dt.datetime:
        """Update times only move forward, so keyset cursors never skip a change."""
        self.last_stamp = max(t, self.last_stamp + dt.timedelta(microseconds=1))
        return self.last_stamp

    def _enter(self, t: dt.datetime, now: dt.datetime, backfill: bool) -> None:
        lt = generators.pick_lot(self.seed, self.rng)
        dur = generators.session_duration(lt, self.rng)
        rec = generators.session_record(lt, t, dur, t, generators.plate(self.rng), self.counter, self.seen_ids)
        self.counter += 1
        rec["updated_at"] = t if backfill else self._stamp(now)
        self.sessions[rec["session_id"]] = rec
        self.planned_exit[rec["session_id"]] = t + dur

    def _advance(self, now: dt.datetime, backfill: bool = False) -> None:
        # Entries between the last step and now, by hour of day (Poisson-ish per minute).
        t = self.clock
        while t < now:
            step_end = min(now, t + dt.timedelta(minutes=1))
            expected = self.sessions_per_hour * model.entry_weight(t) / 60 * (step_end - t).total_seconds() / 60
            n = int(expected) + (self.rng.random() < expected - int(expected))
            for _ in range(n):
                self._enter(t + (step_end - t) * self.rng.random(), now, backfill)
            t = step_end
        # Exits that are due.
        for sid, planned in list(self.planned_exit.items()):
            if planned <= now:
                rec = self.sessions[sid]
                lt = next(x for x in self.lots if x.lot_id == rec["lot_id"])
                rec.update(exit_time=planned, fee_yuan=generators.parking_fee(lt, rec["entry_time"], planned),
                           status="out", updated_at=planned if backfill else self._stamp(now))
                del self.planned_exit[sid]
        # Occupancy snapshots (every 5 min of history while backfilling, then every snapshot_seconds).
        every = dt.timedelta(seconds=300 if backfill else self.snapshot_seconds)
        nxt = self.last_snapshot + every
        while nxt <= now:
            for lt in self.lots:
                self.occupancy[(lt.lot_id, nxt)] = {"lot_id": lt.lot_id, "snapshot_time": nxt,
                                                     "occupied": generators.occupied(lt, nxt, self.rng),
                                                     "capacity": lt.capacity}
            self.last_snapshot = nxt
            nxt += every
        self.clock = now
        if backfill:
            self.last_stamp = max([now, *[r["updated_at"] for r in self.sessions.values()]])

    def step(self, now: dt.datetime | None = None) -> None:
        with self.lock:
            self._advance((now or dt.datetime.now(UTC)).astimezone(UTC))

    def records(self, kind: str) -> list[tuple[dt.datetime, str, dict]]:
        """(update time, id, record) for one endpoint, unsorted."""
        if kind == "sessions":
            return [(r["updated_at"], r["session_id"], r) for r in self.sessions.values()]
        if kind == "occupancy":
            return [(r["snapshot_time"], r["lot_id"], r) for r in self.occupancy.values()]
        return [(r["updated_at"], r["lot_id"], r) for r in self.lot_rows.values()]

    def page(self, kind: str, updated_since: dt.datetime | None, cursor: tuple[dt.datetime, str] | None,
             limit: int) -> tuple[list[dict], tuple[dt.datetime, str] | None]:
        with self.lock:
            items = [x for x in self.records(kind) if updated_since is None or x[0] >= updated_since]
            if cursor:
                items = [x for x in items if (x[0], x[1]) > cursor]
            items.sort(key=lambda x: (x[0], x[1]))
            chosen = items[:limit]
            data = [generators.render([dict(r)], "json")[0] for _, _, r in chosen]
        nxt = (chosen[-1][0], chosen[-1][1]) if len(items) > limit else None
        return data, nxt


def encode_cursor(key: tuple[dt.datetime, str]) -> str:
    return f"{key[0].astimezone(UTC).isoformat()}|{key[1]}"


def decode_cursor(value: str) -> tuple[dt.datetime, str]:
    t, _, ident = value.partition("|")
    return dt.datetime.fromisoformat(t).astimezone(UTC), ident


def create_app(system: ParkingSystem, *, token: str | None, faults: Faults | None = None,
               rate_limit: float = 20.0, burst: int = 40, tick_seconds: float = 2.0) -> FastAPI:
    """The FastAPI app around one ParkingSystem; the simulation ticks while the app runs."""
    faults = faults or Faults()
    stats = {"requests": 0, "faults": {k: 0 for k in FAULT_KINDS}, "rate_limited": 0}
    app = FastAPI(title="沂南县智慧停车平台 (mock)", lifespan=_ticking(system, tick_seconds))
    app.state.system, app.state.faults, app.state.stats = system, faults, stats
    unauthorized = _bearer_check(token)

    @app.get("/api/v1/health")
    def health() -> dict:
        return {"status": "ok", "sessions": len(system.sessions), "snapshots": len(system.occupancy)}

    _admin_routes(app, system, faults, stats, unauthorized)
    _data_routes(app, system, faults, TokenBucket(rate_limit, burst), stats, unauthorized)
    return app


def _ticking(system: ParkingSystem, tick_seconds: float):  # noqa: ANN202 — a FastAPI lifespan
    """Advance the simulation every ``tick_seconds`` while the app runs (0: only on /admin/tick)."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        async def ticker() -> None:
            while True:
                await asyncio.sleep(tick_seconds)
                await asyncio.to_thread(system.step)

        task = asyncio.create_task(ticker()) if tick_seconds > 0 else None
        yield
        if task:
            task.cancel()

    return lifespan


def _bearer_check(token: str | None) -> Callable[[Request], Response | None]:
    """A check returning the 401 response for a request without the token (None: allowed)."""

    def unauthorized(request: Request) -> Response | None:
        if not token:
            return None
        if request.headers.get("authorization", "") != f"Bearer {token}":
            return JSONResponse({"error": "unauthorized", "message": "missing or wrong Bearer token"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return None

    return unauthorized


def _admin_routes(app: FastAPI, system: ParkingSystem, faults: Faults, stats: dict,
                  unauthorized: Callable[[Request], Response | None]) -> None:
    """Tests and the demo steer the mock: read/set the fault rates, advance the simulation."""

    @app.get("/api/v1/admin/faults")
    def get_faults(request: Request) -> Response:
        return unauthorized(request) or JSONResponse({**faults.as_dict(), "stats": stats})

    @app.post("/api/v1/admin/faults")
    async def set_faults(request: Request) -> Response:
        if denied := unauthorized(request):
            return denied
        try:
            faults.update(await request.json())
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": "bad_request", "message": str(exc)}, status_code=400)
        return JSONResponse(faults.as_dict())

    @app.post("/api/v1/admin/tick")
    def tick(request: Request) -> Response:
        if denied := unauthorized(request):
            return denied
        system.step()
        return JSONResponse({"sessions": len(system.sessions), "snapshots": len(system.occupancy)})


def _page_query(q: Mapping[str, str]) -> tuple[dt.datetime | None, tuple[dt.datetime, str] | None, int]:
    """updated_since (naive = Asia/Shanghai), cursor and limit (1..1000) of a data request."""
    since = dt.datetime.fromisoformat(q["updated_since"].replace("Z", "+00:00")) if q.get("updated_since") else None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=LOCAL_TZ)
    cursor = decode_cursor(q["cursor"]) if q.get("cursor") else None
    return since, cursor, max(1, min(1000, int(q.get("limit", 500))))


def _data_routes(app: FastAPI, system: ParkingSystem, faults: Faults, bucket: TokenBucket, stats: dict,
                 unauthorized: Callable[[Request], Response | None]) -> None:
    """GET /api/v1/{lots,sessions,occupancy}: pages by cursor, rate limited, with the injected faults."""

    async def serve(kind: str, request: Request) -> Response:
        stats["requests"] += 1
        if denied := unauthorized(request):
            return denied
        wait = bucket.take()
        if wait:
            stats["rate_limited"] += 1
            return JSONResponse({"error": "rate_limited", "message": "too many requests"}, status_code=429,
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        fault = faults.draw()
        if fault:
            stats["faults"][fault] += 1
        if fault == "error":
            code = random.choice((500, 502, 503))
            return JSONResponse({"error": "internal", "message": "upstream parking controller unavailable"},
                                status_code=code)
        if fault == "ratelimit":
            return JSONResponse({"error": "rate_limited", "message": "too many requests"}, status_code=429,
                                headers={"Retry-After": f"{faults.retry_after:g}"})
        if fault == "slow":
            await asyncio.sleep(faults.slow_seconds)
        try:
            since, cursor, limit = _page_query(request.query_params)
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": "bad_request", "message": f"bad query parameter: {exc}"}, status_code=400)
        data, nxt = await asyncio.to_thread(system.page, kind, since, cursor, limit)
        body = {"data": data, "next_cursor": encode_cursor(nxt) if nxt else None, "count": len(data)}
        if fault == "malformed":
            text = json.dumps(body, ensure_ascii=False)
            return Response(text[: max(1, len(text) // 2)], media_type="application/json")
        return JSONResponse(body)

    def endpoint_for(kind: str):  # noqa: ANN202
        async def endpoint(request: Request) -> Response:
            return await serve(kind, request)

        return endpoint

    for kind in ("lots", "sessions", "occupancy"):
        app.add_api_route(f"/api/v1/{kind}", endpoint_for(kind), methods=["GET"], name=kind)
