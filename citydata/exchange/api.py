"""The sharing API (FastAPI): catalogue, masked rows, requests and objections; every call audited.

Auth is a bearer token per consumer (citydata consumer add). No or bad token → 401;
不予共享 → 403 always; 有条件共享 → 403 unless the consumer has an approved request;
无条件共享 → any consumer. An ASGI middleware writes one audit.access_log row per call under
/share/ once the response is finished (streamed rows counted), refused calls included.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from citydata.asgi import bind, serve_forever
from citydata.bootstrap import ensure_schema
from citydata.config import settings
from citydata.errors import CitydataError
from citydata.exchange import access, access_log, catalog, mail, objections, rows
from citydata.exchange.common import NotFound, Refused, find_resource
from citydata.exchange.tokens import consumer_for
from citydata.registry import Registry, load_registry
from citydata.warehouse.db import engine, transaction

MESSAGES = {
    "unauthorized": ("缺少或无效的访问令牌（Authorization: Bearer …）", "missing or invalid bearer token"),
    "not_shared": ("该数据资源为不予共享", "this resource is not shared (不予共享)"),
    "needs_approval": ("有条件共享资源：请先提交共享申请并获批准（POST /share/v1/requests）",
                       "conditionally shared: file a request and wait for its approval (POST /share/v1/requests)"),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class RequestIn(BaseModel):
    resource: str
    purpose: str
    legal_basis: str | None = None
    fields: list[str] | None = None


class ObjectionIn(BaseModel):
    resource: str
    row_key: dict[str, Any] = Field(description="primary-key fields of the disputed row, as the API returned them")
    field: str
    reason: str


def _lang(request: Request) -> int:
    want = (request.query_params.get("lang") or request.headers.get("accept-language") or "zh").lower()
    return 1 if want.startswith("en") else 0


def _iso(v: object) -> object:
    return v.isoformat() if isinstance(v, dt.datetime) else v


def _public(d: dict) -> dict:
    return {k: _iso(v) for k, v in d.items()}


class AccessLogMiddleware:
    """One audit.access_log row per call under /share/ (status, consumer, resource, cursor, rows, client)."""

    def __init__(self, app: Any, url: str) -> None:
        self.app, self.url = app, url

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/share/"):
            await self.app(scope, receive, send)
            return
        import anyio

        info: dict[str, Any] = {"consumer": None, "resource": None, "cursor": None, "rows": [0], "detail": None}
        scope["citydata.access"] = info
        state = {"status": 500, "logged": False}
        t0 = dt.datetime.now(dt.UTC)

        async def log() -> None:
            if state["logged"]:
                return
            state["logged"] = True
            client = scope.get("client")
            cursor = info["cursor"]
            if cursor is None and scope.get("query_string"):
                from urllib.parse import parse_qs

                cursor = (parse_qs(scope["query_string"].decode("latin-1")).get("after") or [None])[0]
            await anyio.to_thread.run_sync(partial(
                access_log.write, self.url, consumer=info["consumer"], method=scope["method"], path=scope["path"],
                resource=info["resource"], cursor=cursor, rows_returned=info["rows"][0], status=state["status"],
                client_addr=client[0] if client else None, detail=info["detail"], t_request=t0))

        async def send_(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await log()  # committed before the client sees the end of the response
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            await log()


def _info(request: Request) -> dict:
    return request.scope.setdefault("citydata.access", {"consumer": None, "resource": None, "cursor": None,
                                                        "rows": [0], "detail": None})


def _authenticator(url: str) -> Callable[[Request], str]:
    """The consumer named by the request's bearer token, or 401; noted for the access log."""
    def auth(request: Request) -> str:
        header = request.headers.get("authorization") or ""
        scheme, _, token = header.partition(" ")
        with engine(url).connect() as conn:
            consumer = consumer_for(conn, token.strip()) if scheme.lower() == "bearer" else None
        if consumer is None:
            raise ApiError(401, "unauthorized")
        _info(request)["consumer"] = consumer
        return consumer
    return auth


def create_app(url: str | None = None, registry: Registry | None = None) -> FastAPI:
    """The app; the warehouse URL and registry are read once here (settings() by default)."""
    url = url or settings().warehouse_url
    registry = registry or load_registry()
    ensure_schema(registry, url)
    rows.warm()
    app = FastAPI(title="citydata sharing API (共享交换)", version="1",
                  description="Masked rows of the county sharing layer for consuming departments. See docs/exchange.md.")
    app.add_middleware(AccessLogMiddleware, url=url)
    auth = _authenticator(url)
    _error_handlers(app)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    _data_routes(app, url, registry, auth)
    _request_routes(app, url, registry, auth)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        _info(request)["detail"] = exc.code
        message = exc.message or MESSAGES.get(exc.code, (exc.code, exc.code))[_lang(request)]
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.code, "message": message}, status_code=exc.status, headers=headers)

    @app.exception_handler(CitydataError)
    def _citydata_error(request: Request, exc: CitydataError) -> JSONResponse:
        status, code = ((404, "not_found") if isinstance(exc, NotFound) else
                        (400, "bad_cursor") if isinstance(exc, rows.BadCursor) else
                        (422, "refused") if isinstance(exc, Refused) else (500, "error"))
        _info(request)["detail"] = code
        return JSONResponse({"error": code, "message": str(exc)}, status_code=status)


def _data_routes(app: FastAPI, url: str, registry: Registry, auth: Callable[[Request], str]) -> None:
    """The catalogue and the masked rows."""
    @app.get("/share/v1/catalog")
    def get_catalog(request: Request, format: str = "json") -> JSONResponse:  # noqa: A002
        consumer = auth(request)
        if format not in ("json", "jsonld"):
            raise Refused(f"unknown catalogue format {format!r}: json or jsonld")
        with engine(url).connect() as conn:
            entries = catalog.entries(conn, registry, consumer)
        if format == "jsonld":
            base = str(request.base_url).rstrip("/")
            return JSONResponse(catalog.jsonld(entries, base), media_type="application/ld+json")
        return JSONResponse({"resources": entries})

    @app.get("/share/v1/resources/{code}/rows")
    def get_rows(code: str, request: Request, after: str | None = None, limit: int | None = None,
                 format: str | None = None) -> StreamingResponse:  # noqa: A002
        consumer = auth(request)
        log = _info(request)
        log["cursor"], log["resource"] = after, code
        resource = find_resource(registry, code)
        log["resource"] = resource.code
        fmt, lim = rows.parse_format(format), rows.parse_limit(limit)
        cursor = rows.Cursor.decode(after, resource.code)
        conn = engine(url).connect()
        try:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.begin()
            allowed, fields = access.may_read(conn, resource, consumer)
            if not allowed:
                raise ApiError(403, "not_shared" if resource.sharing_type == "不予共享" else "needs_approval")
            page = rows.plan(conn, resource, cursor, lim)
            disputed = objections.disputed_keys(conn, resource)
            columns = rows.out_fields(resource, fields)
        except BaseException:
            conn.close()
            raise
        counter = log["rows"]

        def body():  # noqa: ANN202
            try:
                yield from rows.render(fmt, resource.code, page, columns, rows.batches(conn, page, columns, disputed),
                                       counter)
            finally:
                conn.close()

        nxt = page.next.encode(resource.code)
        headers = {"X-Next-Cursor": nxt, "X-Row-Count": str(page.count), "X-Has-More": str(page.full).lower()}
        if fmt != "json":
            headers["Content-Disposition"] = f'attachment; filename="{resource.code}.{fmt}"'
        return StreamingResponse(body(), media_type=rows.FORMATS[fmt], headers=headers)


def _request_routes(app: FastAPI, url: str, registry: Registry, auth: Callable[[Request], str]) -> None:
    """Access requests (供需对接) and objections (异议处理), filed and listed by the consumer."""
    @app.post("/share/v1/requests", status_code=201)
    def post_request(body: RequestIn, request: Request) -> dict:
        consumer = auth(request)
        _info(request)["resource"] = body.resource
        with transaction(url) as conn:
            req = access.request_access(conn, registry, consumer, body.resource, body.purpose,
                                        legal_basis=body.legal_basis, fields=body.fields, source="api")
        mail.deliver_now(url)
        return {"id": req["request_id"], **_public(req)}

    @app.get("/share/v1/requests")
    def list_requests(request: Request) -> dict:
        consumer = auth(request)
        with engine(url).connect() as conn:
            return {"requests": [{"id": r["request_id"], **_public(r)}
                                 for r in access.list_requests(conn, consumer=consumer)]}

    @app.get("/share/v1/requests/{request_id}")
    def get_request(request_id: int, request: Request) -> dict:
        consumer = auth(request)
        with engine(url).connect() as conn:
            req = access.get_request(conn, request_id)
        if req["consumer"] != consumer:
            raise NotFound(f"unknown access request {request_id}")
        return {"id": req["request_id"], **_public(req)}

    @app.post("/share/v1/objections", status_code=201)
    def post_objection(body: ObjectionIn, request: Request) -> dict:
        consumer = auth(request)
        _info(request)["resource"] = body.resource
        with transaction(url) as conn:
            obj = objections.raise_objection(conn, registry, consumer, body.resource, body.row_key, body.field,
                                             body.reason)
        mail.deliver_now(url)
        return {"id": obj["objection_id"], **_public(obj)}

    @app.get("/share/v1/objections")
    def list_objections(request: Request) -> dict:
        consumer = auth(request)
        with engine(url).connect() as conn:
            return {"objections": [{"id": o["objection_id"], **_public(o)}
                                   for o in objections.list_objections(conn, consumer=consumer)]}


def serve(host: str = "127.0.0.1", port: int = 8091) -> int:
    """`citydata share-api`: serve until interrupted (--port 0: the printed port is the one chosen)."""
    sock = bind(host, port)
    print(f"sharing API on http://{host}:{sock.getsockname()[1]}/share/v1 (catalog, resources, requests, "
          "objections)", flush=True)
    serve_forever(create_app(), sock)
    return 0
