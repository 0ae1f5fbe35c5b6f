"""The request's ids as context variables: set by the app's middleware, read by whatever records a run
(logs, reports), so the FHIR core and the agents need not know the app."""

from __future__ import annotations

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
trace_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")
