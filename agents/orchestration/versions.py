"""What a run used: versions of the knowledge base, the prompts, the note templates and the code.

Each version is a content digest of the files it covers (a changed lexicon entry is a new knowledge-base
version even when nobody bumped a number), prefixed by a readable label. Computed once per process.

A deployment pins the versions it approved (``MEDQC_PIN_KB``, ``MEDQC_PIN_PROMPTS``,
``MEDQC_PIN_TEMPLATES``, typically after ``medqc replay`` showed what a new lexicon or prompt changes):
a process whose files differ refuses to start, so a rollback is deploying the pinned release again and
nothing unapproved judges in between.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import agents
import knowledge_base
import measures

KB_ROOT = Path(knowledge_base.__file__).parent
#: the knowledge the judgement reads: lexicons, dictionaries, CDI and ICD data, the indicator specs
KB_PARTS = (
    KB_ROOT / "lexicons",
    KB_ROOT / "dictionaries",
    KB_ROOT / "cdi",
    KB_ROOT / "icd",
    KB_ROOT / "guidelines",
    Path(measures.__file__).parent / "catalog" / "specs",
)
PROMPT_DIR = Path(agents.__file__).parent / "llm" / "prompts"
TEMPLATE_DIR = KB_ROOT / "templates"
CODE_PACKAGES = ("medqc", "fhir_ops", "cds_services", "measures", "agents", "knowledge_base")
SKIPPED = frozenset({"node_modules", "__pycache__"})
DATA_SUFFIXES = {".yaml", ".yml", ".json", ".txt", ".md", ".j2", ".csv", ".tsv"}


def tree_digest(roots: tuple[Path, ...], suffixes: set[str]) -> str:
    """sha256 over the relative paths and contents of the files under ``roots`` with ``suffixes``."""
    h = hashlib.sha256()
    for root in roots:
        if not root.is_dir():
            continue
        files = (
            p
            for p in root.rglob("*")
            if p.suffix in suffixes and SKIPPED.isdisjoint(p.relative_to(root).parts) and p.is_file()
        )
        for path in sorted(files):
            h.update(f"{root.name}/{path.relative_to(root)}\0".encode())
            h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Versions:
    kb: str
    prompts: str
    templates: str
    code: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _package_version() -> str:
    try:
        return version("medqc")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree without install
        return "0"


@cache
def current_versions() -> Versions:
    """The versions of this process (the files are read once)."""
    root = Path(agents.__file__).parent.parent
    code_roots = tuple(root / p for p in CODE_PACKAGES)
    return Versions(
        kb=f"kb+{tree_digest(KB_PARTS, DATA_SUFFIXES)}",
        prompts=f"prompts+{tree_digest((PROMPT_DIR,), DATA_SUFFIXES)}",
        templates=f"templates+{tree_digest((TEMPLATE_DIR,), DATA_SUFFIXES)}",
        code=f"{_package_version()}+{tree_digest(code_roots, {'.py', '.cql', '.js', '.mjs'})}",
    )


class VersionPinMismatch(RuntimeError):
    """The process's knowledge base, prompts or templates are not the versions the configuration pins."""


def pin_mismatch(pins: dict[str, str | None], current: Versions) -> str | None:
    """What breaks the pins, naming every pinned part (``kb``, ``prompts``, ``templates``) whose current
    version differs; None when they hold. A pin may be the whole version (``kb+1a2b…``) or its digest."""
    have = current.as_dict()
    wrong = [
        f"MEDQC_PIN_{part.upper()}={pin} but this build has {have[part]}"
        for part, pin in pins.items()
        if pin and pin not in (have[part], have[part].partition("+")[2])
    ]
    if not wrong:
        return None
    return "; ".join(wrong) + ": deploy the pinned release or change the pin (`medqc versions` prints them)"


def check_pins(pins: dict[str, str | None], current: Versions) -> None:
    """Raise :class:`VersionPinMismatch` when the pins do not hold (see :func:`pin_mismatch`)."""
    if (problem := pin_mismatch(pins, current)) is not None:
        raise VersionPinMismatch(problem)
