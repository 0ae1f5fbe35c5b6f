"""The knowledge corpus: indicator definitions, guideline passages and ICD-10 names, as :class:`Passage`.

Sources are read from the shared reference data (``../shared/data`` beside the repository, or
``MEDQC_SHARED_DATA``); when it is absent, indicator texts come from the built-in catalog specs and the
ICD-10 collection is left empty (the manifest says so).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

#: A space YAML folding left between two non-ASCII characters (Chinese text has no word spaces).
_CJK_GAP = re.compile(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])")

PassageKind = Literal["indicator", "guideline", "icd10"]

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDELINES_DIR = Path(__file__).resolve().parents[1] / "guidelines"
INDICATORS_FILE = Path("cmqcic") / "indicators.json"
ICD10_FILE = Path("icd") / "icd10_national_clinical_v2.csv"


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrievable unit of knowledge; ``key`` is the indicator key, guideline id or ICD-10 code."""

    kind: PassageKind
    key: str
    title: str
    text: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def content(self) -> str:
        """What is indexed and shown to the model: the title, then the text."""
        return f"{self.title}\n{self.text}" if self.text else self.title


def default_data_dir() -> Path:
    """``MEDQC_SHARED_DATA`` or ``../shared/data`` beside the repository (may not exist)."""
    env = os.environ.get("MEDQC_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def indicator_passages(data_dir: Path) -> list[Passage]:
    """The 98 CMQCIC indicator definitions (definition, numerator, denominator, other)."""
    path = data_dir / INDICATORS_FILE
    if not path.is_file():
        return _catalog_indicator_passages()
    raw: dict[str, dict[str, object]] = json.loads(path.read_text(encoding="utf-8"))
    out: list[Passage] = []
    for key, entry in raw.items():
        parts = [
            ("定义", entry.get("definition")),
            ("分子", entry.get("numerator")),
            ("分母", entry.get("denominator")),
            ("说明", entry.get("other")),
        ]
        text = "\n".join(f"{label}：{value}" for label, value in parts if isinstance(value, str) and value)
        out.append(Passage("indicator", key, key.replace("_", "："), text, "CMQCIC-Bench indicators.json"))
    return out


def _catalog_indicator_passages() -> list[Passage]:
    try:
        from measures.catalog import indicator_specs  # optional fallback source

        specs = indicator_specs()
    except (ImportError, ValueError):  # no catalog, or a spec that does not load: no indicator passages
        return []
    out: list[Passage] = []
    for spec in specs:
        t = spec.text
        parts = [("定义", t.definition), ("分子", t.numerator), ("分母", t.denominator), ("说明", t.other)]
        text = "\n".join(f"{label}：{value}" for label, value in parts if value)
        out.append(Passage("indicator", spec.key, spec.key.replace("_", "："), text, "measures/catalog"))
    return out


def guideline_passages(directory: Path = GUIDELINES_DIR) -> list[Passage]:
    """Guideline passages from ``knowledge_base/guidelines/*.yaml``, in file then list order."""
    out: list[Passage] = []
    seen: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("passages") or []:
            pid = str(item["id"])
            if pid in seen:
                raise ValueError(f"{path.name}: duplicate guideline passage id {pid!r}")
            seen.add(pid)
            topics = "、".join(str(t) for t in item.get("topics") or [])
            text = _CJK_GAP.sub("", " ".join(str(item["text"]).split()))
            if topics:
                text = f"{text}\n主题：{topics}"
            out.append(Passage("guideline", pid, str(item["title"]), text, str(item.get("source") or "")))
    return out


def icd10_passages(data_dir: Path) -> list[Passage]:
    """国家临床版2.0 ICD-10 diagnosis names, one passage per code (empty if the table is absent)."""
    return list(_icd10_rows(data_dir / ICD10_FILE))


def _icd10_rows(path: Path) -> Iterator[Passage]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row in reader:
            if len(row) >= 2 and row[0].strip():
                code, name = row[0].strip(), row[1].strip()
                yield Passage("icd10", code, f"{code} {name}", "", "国家临床版2.0 ICD-10")
