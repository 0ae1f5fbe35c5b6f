"""One error hierarchy for the FHIR facade: each error knows its HTTP status and its OperationOutcome."""

from __future__ import annotations

from typing import Any


class FhirError(Exception):
    """Root of FHIR errors. Subclasses set ``status`` and the OperationOutcome ``code``."""

    status: int = 400
    code: str = "invalid"

    def __init__(
        self,
        diagnostics: str,
        *,
        expression: list[str] | None = None,
        issues: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.expression = expression
        self.extra_issues = issues or []
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        issue: dict[str, Any] = {"severity": "error", "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = self.expression
        return operation_outcome([issue, *self.extra_issues])


class BadRequest(FhirError):
    status = 400
    code = "invalid"


class InvalidResource(FhirError):
    """The payload is JSON but not a valid FHIR resource (422 per the FHIR REST spec)."""

    status = 422
    code = "structure"
    #: pydantic's error types behind it (e.g. ``extra_forbidden``, ``missing``, ``string_type``)
    kinds: tuple[str, ...] = ()


class NotFound(FhirError):
    status = 404
    code = "not-found"


class Gone(FhirError):
    status = 410
    code = "deleted"


class MethodNotAllowed(FhirError):
    status = 405
    code = "not-supported"


class NotAcceptable(FhirError):
    """The client accepts only a format the server does not produce (XML)."""

    status = 406
    code = "not-supported"


class Conflict(FhirError):
    status = 409
    code = "conflict"


class PreconditionFailed(FhirError):
    status = 412
    code = "conflict"


class PayloadTooLarge(FhirError):
    status = 413
    code = "too-costly"


class UnsupportedMediaType(FhirError):
    status = 415
    code = "not-supported"


class BusinessRuleViolation(FhirError):
    status = 422
    code = "business-rule"


class Unauthorized(FhirError):
    """No or invalid credentials (answered with ``WWW-Authenticate: Bearer``)."""

    status = 401
    code = "login"


class Forbidden(FhirError):
    """Valid credentials whose scopes do not allow the interaction."""

    status = 403
    code = "forbidden"


class ServiceUnavailable(FhirError):
    """The database is unreachable or a statement ran past its timeout: worth retrying later."""

    status = 503
    code = "transient"


class ClientClosedRequest(FhirError):
    """The client went away before the answer was ready; the work was cancelled (nginx's 499)."""

    status = 499
    code = "timeout"


class UpstreamUnavailable(FhirError):
    """A FHIR server MedQC depends on did not answer."""

    status = 502
    code = "transient"


def operation_outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": issues}


def information_outcome(
    text: str, *, severity: str = "information", code: str = "informational"
) -> dict[str, Any]:
    return operation_outcome([{"severity": severity, "code": code, "diagnostics": text}])
