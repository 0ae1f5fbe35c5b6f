"""Labelled synthetic inpatient records (``tests/data/records/{dev,sealed}/*.txt``) as FHIR resources.

A record file is written in the layout of real records (``字段：内容`` lines). The coder's answer
(主要诊断编码, 其他诊断编码) and the CDI labels (``CDI标注``) are split off: the agents only ever see
the note, as a DocumentReference of the Encounter, with the stay dates on the Encounter.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LABEL_FIELDS = ("主要诊断编码", "其他诊断编码", "CDI标注")
_LINE = re.compile(r"^(?P<k>[^：:\n]{2,8})[：:](?P<v>.*)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    id: str
    department: str
    note: str
    admitted: str
    discharged: str
    primary: str
    secondary: frozenset[str]
    cdi: frozenset[str]

    def resources(self) -> list[dict[str, Any]]:
        pid, eid = f"pat-{self.id}", f"enc-{self.id}"
        data = base64.b64encode(self.note.encode("utf-8")).decode("ascii")
        return [
            {"resourceType": "Patient", "id": pid},
            {
                "resourceType": "Encounter",
                "id": eid,
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "serviceType": {"text": self.department},
                "subject": {"reference": f"Patient/{pid}"},
                "period": {"start": self.admitted, "end": self.discharged},
            },
            {
                "resourceType": "DocumentReference",
                "id": f"note-{self.id}",
                "status": "current",
                "type": {"text": "住院病案"},
                "subject": {"reference": f"Patient/{pid}"},
                "context": {"encounter": [{"reference": f"Encounter/{eid}"}]},
                "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": data}}],
            },
        ]


def parse_record(text: str, name: str) -> LabelledRecord:
    fields = {m.group("k"): m.group("v").strip() for m in _LINE.finditer(text)}
    missing = [f for f in ("入院日期", "出院日期", "主要诊断编码") if not fields.get(f)]
    if missing:
        raise ValueError(f"{name}: missing {', '.join(missing)}")
    note = "\n".join(line for line in text.splitlines() if not line.startswith(LABEL_FIELDS)).strip() + "\n"

    def codes(key: str) -> frozenset[str]:
        return frozenset(c.strip() for c in fields.get(key, "").split(";") if c.strip())

    return LabelledRecord(
        id=fields.get("病案标识") or name,
        department=fields.get("科室", ""),
        note=note,
        admitted=fields["入院日期"],
        discharged=fields["出院日期"],
        primary=fields["主要诊断编码"],
        secondary=codes("其他诊断编码"),
        cdi=codes("CDI标注"),
    )


def load_records(folder: Path) -> list[LabelledRecord]:
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no record files (*.txt) in {folder}")
    return [parse_record(f.read_text(encoding="utf-8"), f.stem) for f in files]
