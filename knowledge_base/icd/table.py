"""The 国家临床版2.0 diagnosis table (code, Chinese name), read at runtime from the shared reference data.

The table (35,862 rows) is not copied into the repository: it is read from ``../shared/data/icd`` beside
the repository (or ``MEDQC_SHARED_DATA``), as the knowledge-base corpus does; tests carry a small subset.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from knowledge_base.icd.normalise import normalise_name
from knowledge_base.retrieval.corpus import ICD10_FILE, default_data_dir

ICD_SYSTEM = "http://medqc.org/CodeSystem/icd10-cn-clinical-2.0"
ICD_TABLE_VERSION = "国家临床版2.0"


@dataclass(frozen=True, slots=True)
class IcdEntry:
    code: str
    name: str

    @property
    def category(self) -> str:
        """The three-character category (``I21.401`` → ``I21``)."""
        return self.code[:3]

    @property
    def extension(self) -> bool:
        """A national extension code (``I20.800x007``) rather than a base code."""
        return "x" in self.code.split("+")[0][4:]


@dataclass(slots=True, eq=False)  # hashed by identity: one index per loaded table
class IcdTable:
    entries: list[IcdEntry]
    source: str
    by_code: dict[str, IcdEntry] = field(default_factory=dict)
    by_name: dict[str, list[IcdEntry]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for entry in self.entries:
            self.by_code.setdefault(entry.code, entry)
            self.by_name.setdefault(normalise_name(entry.name), []).append(entry)
        for same in self.by_name.values():
            same.sort(key=preference)

    def __len__(self) -> int:
        return len(self.entries)


def preference(entry: IcdEntry) -> tuple[bool, bool, int, str]:
    """Among entries with one name: base codes before extensions, then without dagger/asterisk, shortest."""
    return (entry.extension, "+" in entry.code, len(entry.code), entry.code)


def read_rows(path: Path) -> list[IcdEntry]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or len(header) < 2:
            raise ValueError(f"{path}: not an ICD table (code,name)")
        return [IcdEntry(row[0].strip(), row[1].strip()) for row in reader if len(row) >= 2 and row[0]]


def table_from(entries: Iterable[IcdEntry], source: str) -> IcdTable:
    return IcdTable(list(entries), source)


def default_table_path() -> Path:
    return default_data_dir() / ICD10_FILE


@lru_cache(maxsize=4)
def load_table(path: Path | None = None) -> IcdTable:
    """The table at ``path`` (default: the shared 国家临床版2.0 file), read once per process."""
    path = path or default_table_path()
    if not path.exists():
        raise FileNotFoundError(f"ICD-10 table not found at {path} (../shared/data beside the repository)")
    return table_from(read_rows(path), path.name)
