"""Login, logout and the SMART launch entry of the workstation.

``POST /review/login`` checks the credentials with the API's own authenticator: a token typed into the
form (the demo's static token, or an access token) or an ``Authorization: Bearer`` header (an OIDC
access token a sign-in proxy forwards). The session cookie never contains the token.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from joserfc import jws
from joserfc.errors import JoseError

from medqc.auth import AuthError, allows
from medqc.workstation.session import LOGIN_PATH, PREFIX, launch_params, safe_next
from medqc.workstation.web import RESPONSES, PageRoute, form, page, sessions_of

router = APIRouter(
    prefix=PREFIX,
    tags=["workstation"],
    route_class=PageRoute,
    default_response_class=HTMLResponse,
    responses=RESPONSES,
)


def _expiry(token: str) -> int | None:
    """The ``exp`` of an access token that is a JWT (already verified by the authenticator)."""
    try:
        payload = json.loads(jws.extract_compact(token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return int(exp) if isinstance(exp, int | float) else None


@router.get("/login", summary="The workstation's login page", response_model=None)
async def login_page(
    request: Request, next: str = PREFIX, launch: str | None = None, iss: str | None = None
) -> Response:
    target = safe_next(next)
    if sessions_of(request).authenticator is None:
        return RedirectResponse(target, status_code=303)  # authentication is off
    from_next = launch_params(target)
    return page(
        request,
        "ws_login.html.j2",
        next=target,
        launch=launch or from_next[0],
        iss=iss or from_next[1],
        error=None,
    )


@router.post(
    "/login", summary="Sign in with the API's credentials; sets the session cookie", response_model=None
)
async def login(request: Request) -> Response:
    sessions = sessions_of(request)
    fields = await form(request, check_csrf=False)
    target = safe_next(fields.get("next"))
    launch = fields.get("launch") or launch_params(target)[0]
    iss = fields.get("iss") or launch_params(target)[1]
    if sessions.authenticator is None:
        return RedirectResponse(target, status_code=303)
    token = (fields.get("token") or "").strip()
    if not token:
        scheme, _, bearer = request.headers.get("authorization", "").strip().partition(" ")
        token = bearer.strip() if scheme.lower() == "bearer" else ""

    def refused(text: str, status: int) -> Response:
        return page(
            request, "ws_login.html.j2", status=status, next=target, launch=launch, iss=iss, error=text
        )

    if not token:
        return refused("请输入访问令牌 (a token is required)", 401)
    try:
        principal = await sessions.authenticator.authenticate(token)
    except AuthError:
        return refused("令牌无效 (the token is not valid)", 401)
    if not allows(principal.scopes, "MeasureReport", "read"):
        return refused("该令牌的权限不包含 MeasureReport.read (insufficient scope)", 403)
    expires = _expiry(token)
    if expires is not None and expires <= time.time():
        return refused("令牌已过期 (the token has expired)", 401)
    cookie = sessions.issue(principal, expires=expires, launch=launch, iss=iss)
    response = RedirectResponse(target, status_code=303)
    response.headers.append("set-cookie", sessions.cookie_header(cookie, max_age=sessions.ttl_s))
    return response


@router.post(
    "/logout", summary="End the session (only clears the cookie: no CSRF check)", response_model=None
)
async def logout(request: Request) -> Response:
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.headers.append("set-cookie", sessions_of(request).clear_header())
    return response


@router.get(
    "/launch", summary="SMART launch: keeps launch and iss, then opens the worklist", response_model=None
)
async def smart_launch(request: Request, launch: str | None = None, iss: str | None = None) -> Response:
    sessions = sessions_of(request)
    session = sessions.session_of(request.scope)
    if sessions.authenticator is None or session is None:
        query = {"next": PREFIX, **({"launch": launch} if launch else {}), **({"iss": iss} if iss else {})}
        if sessions.authenticator is None:
            return RedirectResponse(PREFIX, status_code=303)
        return RedirectResponse(f"{LOGIN_PATH}?{urlencode(query)}", status_code=303)
    cookie = sessions.issue(session.principal, expires=session.expires, launch=launch, iss=iss)
    response = RedirectResponse(PREFIX, status_code=303)
    response.headers.append("set-cookie", sessions.cookie_header(cookie, max_age=sessions.ttl_s))
    return response
