"""Authentication for the dashboard: the api-server's own JWT check, reused as a FastAPI dependency.

Airflow mounts plugin apps without protecting them, so every route of the dashboard depends
on ``require_reader``. It accepts exactly what the Airflow UI and REST API accept: a
``Authorization: Bearer <jwt>`` header or the UI's ``_token`` cookie, validated by the
configured auth manager (``airflow.api_fastapi.core_api.security.get_user`` →
``auth_manager.get_user_from_token``: signature, expiry, audience, revocation). Reading the
dashboard needs the same right as opening the Airflow website (``AccessView.WEBSITE``), which
every role down to Viewer has.

Airflow's API answers 403 for a malformed token; here every authentication failure is a 401,
so a client only has to handle one status to know it must log in.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

bearer_scheme = HTTPBearer(auto_error=False)


class NotAuthenticated(HTTPException):
    """401 with the auth manager's login URL, so the page can offer a link to it."""

    def __init__(self, detail: str, login_url: str | None) -> None:
        super().__init__(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})
        self.login_url = login_url


def login_url(request: Request) -> str | None:
    """The auth manager's login page, coming back to the requested URL after login."""
    try:
        from airflow.api_fastapi.app import get_auth_manager

        return get_auth_manager().get_url_login(next_url=str(request.url))
    except Exception:  # noqa: BLE001 — no auth manager (not inside the api-server): no link
        return None


async def require_reader(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Any:
    """The authenticated Airflow user allowed to view the website, or 401/403."""
    # Imported on first request, inside the api-server: importing the plugin elsewhere
    # (scheduler, workers) stays cheap and needs no API-server state.
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import get_user

    try:
        user = await get_user(request, None, bearer)
    except HTTPException as exc:
        raise NotAuthenticated(str(exc.detail), login_url(request)) from None
    if not get_auth_manager().is_authorized_view(access_view=AccessView.WEBSITE, user=user):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="Forbidden")
    return user
