"""The small error set of the CDS Hooks paths: 400, 401, 404, 412, 503 (no OperationOutcome: not FHIR)."""

from __future__ import annotations


class CdsError(Exception):
    """Root of CDS Hooks errors; the router turns each into a JSON response with ``status``."""

    status: int = 400
    error: str = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, str] | None:
        return {"error": self.error, "message": self.message}


class CdsBadRequestError(CdsError):
    status = 400
    error = "bad_request"


class CdsUnauthorizedError(CdsError):
    """Authentication failed. The reason is for the server log only: the response is a bare 401."""

    status = 401
    error = "unauthorized"

    def body(self) -> None:
        return None


class CdsServiceNotFoundError(CdsError):
    status = 404
    error = "not_found"


class CdsPreconditionFailedError(CdsError):
    """Data the service needs could not be obtained (CDS Hooks: 412)."""

    status = 412
    error = "precondition_failed"


class CdsNotConfiguredError(CdsError):
    status = 503
    error = "not_configured"
