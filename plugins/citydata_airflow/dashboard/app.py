"""The dashboard's FastAPI app, mounted by the api-server under /citydata: read-only (GET) routes.

  /citydata/                 the page (HTML, inline SVG charts); ?period=day|month|quarter&date=YYYY-MM-DD&lang=zh-CN|en
                             (lang=zh, the page's first scheme, is still accepted: resolved here, at the edge)
  /citydata/api/kpi          exactly what `citydata kpi --json` prints for the same period and date
  /citydata/api/dashboard    everything the page shows, as JSON
  /citydata/api/freshness    time since rows last landed, per resource
  /citydata/api/runs         the latest ingest runs with quarantine counts and links to the DAG runs
  /citydata/ui-defaults      public, no data: stores zh-CN and Asia/Shanghai as this browser's Airflow UI defaults

Every route but the nav icon and ui-defaults requires an authenticated Airflow user (dashboard_auth).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from citydata.errors import CitydataError
from citydata.render.i18n import DEFAULT_LANG, http_lang
from citydata.reports import dashboard
from citydata_airflow.dashboard.auth import NotAuthenticated, require_reader
from citydata_airflow.dashboard.page import render_login_required, render_page
from citydata_airflow.ui_defaults import page as ui_defaults_page

PREFIX = "/citydata"

app = FastAPI(title="citydata indicator dashboard", docs_url=None, redoc_url=None, openapi_url=None)
# Every data route is on this router, so none can be added without the authentication check.
router = APIRouter(dependencies=[Depends(require_reader)])

ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#2563eb" '
        'stroke-width="2"><path d="M4 20V10M10 20V4M16 20v-7M22 20H2"/></svg>')

PeriodQ = Query("month", pattern="^(day|month|quarter)$")
DateQ = Query(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


def lang_param(lang: str = Query(DEFAULT_LANG, pattern="^(zh|en)")) -> str:
    """?lang=zh-CN|en; "zh" (and zh-*/en-*) accepted as aliases of the canonical codes."""
    return http_lang(lang)


LangQ = Depends(lang_param)


def ui_base(request: Request) -> str:
    """The Airflow UI root as seen by the browser (the mount point minus our prefix)."""
    root = request.scope.get("root_path", "")
    return root[: -len(PREFIX)] if root.endswith(PREFIX) else root


@app.exception_handler(NotAuthenticated)
async def _not_authenticated(request: Request, exc: NotAuthenticated) -> Response:
    headers = exc.headers or {}
    if request.url.path.rstrip("/") in ("", PREFIX) and "text/html" in request.headers.get("accept", ""):
        try:
            lang = http_lang(request.query_params.get("lang"))
        except CitydataError:
            lang = DEFAULT_LANG
        return HTMLResponse(render_login_required(exc.login_url, lang), status_code=401, headers=headers)
    return JSONResponse({"detail": exc.detail, "login_url": exc.login_url}, status_code=401, headers=headers)


@app.exception_handler(CitydataError)
async def _bad_request(_request: Request, exc: CitydataError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


@app.get("/icon.svg", include_in_schema=False)
def icon() -> Response:
    """The nav icon: public, carries no data (the UI's <img> request has no bearer token)."""
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@app.get("/ui-defaults", include_in_schema=False)
def ui_defaults(request: Request, force: bool = False) -> HTMLResponse:
    """Airflow UI in Chinese and Beijing time for this browser (citydata_airflow.ui_defaults); no data."""
    return HTMLResponse(ui_defaults_page(ui_base(request), force))


@router.get("/", response_class=HTMLResponse)
def page(request: Request, period: str = PeriodQ, date: str | None = DateQ, lang: str = LangQ) -> HTMLResponse:
    model = dashboard.dashboard_model(period, date, lang=lang, ui_base=ui_base(request))
    return HTMLResponse(render_page(model), headers={"Cache-Control": "no-store"})


@router.get("/api/kpi")
def kpi(period: str = PeriodQ, date: str | None = DateQ) -> list[dict]:
    return dashboard.kpi_rows(period, date)


@router.get("/api/dashboard")
def dashboard_json(request: Request, period: str = PeriodQ, date: str | None = DateQ, lang: str = LangQ) -> dict:
    model = dashboard.dashboard_model(period, date, lang=lang, ui_base=ui_base(request))
    model.pop("labels", None)
    return model


@router.get("/api/freshness")
def freshness(lang: str = LangQ) -> list[dict]:
    return dashboard.freshness(lang=lang)


@router.get("/api/runs")
def runs(request: Request, limit: int = Query(dashboard.RUNS_LIMIT, ge=1, le=500), lang: str = LangQ) -> list[dict]:
    return dashboard.latest_runs(limit=limit, ui_base=ui_base(request), lang=lang)


app.include_router(router)
