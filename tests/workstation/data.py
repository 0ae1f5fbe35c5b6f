"""Encounters for the workstation tests: the demo AF stay and variants of it in other departments and
months, with notes edited so their verdicts differ."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parents[2] / "medqc" / "demo_data" / "af-inpatient.json"
AF_ENCOUNTER = "demo-af-encounter"
BLEEDING_QUOTE = "HAS-BLED评分2分"


def _variant(
    bundle: dict[str, Any],
    suffix: str,
    *,
    department: str,
    start: str,
    end: str,
    name: str,
    mrn: str,
    edit: tuple[str, str],
) -> dict[str, Any]:
    text = json.dumps(bundle, ensure_ascii=False).replace("demo-af-", f"ws{suffix}-af-")
    out: dict[str, Any] = json.loads(text)
    for entry in out["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Encounter":
            resource["serviceType"] = {"text": department}
            resource["period"] = {"start": start, "end": end}
        if resource["resourceType"] == "Patient":
            resource["name"] = [{"text": name}]
            resource["identifier"][0]["value"] = mrn
        if resource["resourceType"] == "DocumentReference" and resource["id"].endswith("note-2"):
            attachment = resource["content"][0]["attachment"]
            note = base64.b64decode(attachment["data"]).decode("utf-8").replace(*edit)
            attachment["data"] = base64.b64encode(note.encode("utf-8")).decode("ascii")
    return out


def bundles() -> list[dict[str, Any]]:
    """Three stays: the demo (心内科, November), one with a CHA2DS2-VASc score (心内科, October), one
    without the HAS-BLED score (老年医学科, October)."""
    demo = json.loads(DEMO.read_text(encoding="utf-8"))
    cardiology = copy.deepcopy(demo)
    for entry in cardiology["entry"]:
        if entry["resource"]["resourceType"] == "Encounter":
            entry["resource"]["serviceType"] = {"text": "心内科"}
    return [
        cardiology,
        _variant(
            demo,
            "2",
            department="心内科",
            start="2026-10-03T09:00:00+08:00",
            end="2026-10-09T10:00:00+08:00",
            name="李秀英",
            mrn="AF-0002",
            edit=("HAS-BLED评分2分", "CHA2DS2-VASc评分3分，HAS-BLED评分2分"),
        ),
        _variant(
            demo,
            "3",
            department="老年医学科",
            start="2026-10-12T09:00:00+08:00",
            end="2026-10-20T10:00:00+08:00",
            name="王志强",
            mrn="AF-0003",
            edit=("HAS-BLED评分2分，出血风险中等，", ""),
        ),
    ]


def encounter_ids() -> list[str]:
    return [AF_ENCOUNTER, "ws2-af-encounter", "ws3-af-encounter"]
