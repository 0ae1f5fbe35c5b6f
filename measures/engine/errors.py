"""Engine errors: each names the CQL library, version, expression and source location it concerns."""

from __future__ import annotations

from typing import Any

from measures.engine.models import TranslationIssue


class CqlError(Exception):
    """Root of CQL engine errors."""

    def __init__(
        self,
        message: str,
        *,
        library: str | None = None,
        version: str | None = None,
        expression: str | None = None,
        location: str | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message
        self.code = code  # machine-readable cause from the worker (e.g. ``unknown-measure``)
        self.library = library
        self.version = version
        self.expression = expression
        self.location = location
        super().__init__(self.describe())

    def describe(self) -> str:
        where = [
            f"library {self.library}" + (f" version '{self.version}'" if self.version else "")
            if self.library
            else "",
            f'expression "{self.expression}"' if self.expression else "",
            f"at {self.location}" if self.location else "",
        ]
        context = ", ".join(w for w in where if w)
        return f"{self.message} ({context})" if context else self.message


class CqlWorkerError(CqlError):
    """The Node worker died, timed out or spoke out of protocol."""


class CqlTimeoutError(CqlWorkerError):
    """A request ran past its deadline (its process was stopped; other processes are unaffected)."""


class CqlBusyError(CqlWorkerError):
    """Every worker process stayed busy for the whole deadline."""


class CqlTranslationError(CqlError):
    """CQL did not translate; ``issues`` carries every error with line/column."""

    def __init__(self, issues: list[TranslationIssue], *, library: str | None, version: str | None) -> None:
        self.issues = issues
        first = issues[0] if issues else None
        super().__init__(
            first.message if first else "translation failed",
            library=(first.library if first and first.library else library),
            version=(first.version if first and first.version else version),
            location=first.location if first else None,
        )

    def outcome_issues(self) -> list[dict[str, Any]]:
        """OperationOutcome issues, one per translator error, with ``line:column`` locations."""
        out: list[dict[str, Any]] = []
        for issue in self.issues:
            library = issue.library or self.library or "?"
            version = issue.version or self.version
            where = f"{library} {version}" if version else library
            if issue.line is not None:
                where += f" line {issue.line}, column {issue.column}"
            entry: dict[str, Any] = {
                "severity": "error" if issue.severity == "error" else "warning",
                "code": "invalid",
                "diagnostics": f"{where}: {issue.message}",
            }
            if issue.line is not None:
                entry["location"] = [f"line {issue.line}, column {issue.column}"]
            out.append(entry)
        return out


class CqlCalculationError(CqlError):
    """fqm-execution / cql-execution failed while evaluating a measure."""
