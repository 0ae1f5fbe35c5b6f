"""``GET /``: a small landing page that says what runs here and where to go next."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from medqc.settings import Settings

router = APIRouter(tags=["ops"])
_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html", "j2"])
)


@router.get("/", summary="What runs here, with links", response_class=HTMLResponse)
async def landing(request: Request) -> HTMLResponse:
    settings: Settings | None = getattr(request.app.state, "settings", None)
    base = str(request.base_url).rstrip("/")
    page = _ENV.get_template("landing.html.j2").render(
        version=version("medqc"),
        base=base,
        database=(settings.database_url.split("@")[-1] if settings else ""),
        cds_auth=settings.cds_auth if settings else "on",
        model=bool(settings and settings.llm_base_url),
    )
    return HTMLResponse(page)
