"""The quality department's workstation under ``/review``: login, worklist, encounter view with evidence,
decisions on verdicts, discharge summary drafts and indicator rates. Server-rendered (Jinja2), no JS."""

from fastapi import APIRouter

from medqc.workstation import drafts, encounter, login, rates, worklist
from medqc.workstation.session import Sessions

router = APIRouter()
for _module in (login, worklist, rates, drafts, encounter):
    router.include_router(_module.router)

__all__ = ["Sessions", "router"]
