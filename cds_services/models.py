"""CDS Hooks 2.0 wire models (API schemas; the database tables are in :mod:`cds_services.tables`).

Requests are parsed leniently (unknown members kept, published examples are not strictly valid FHIR);
responses are built strictly (unknown members forbidden, lengths and enumerations checked).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

JsonObject = dict[str, Any]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def wire(self) -> JsonObject:
        """JSON-ready dict without absent members."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


# --- requests -----------------------------------------------------------------------------------------


class FhirAuthorization(_Lenient):
    """The bearer token the CDS client grants for calls to its ``fhirServer``."""

    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    @model_validator(mode="after")
    def _bearer_only(self) -> FhirAuthorization:
        if self.token_type.lower() != "bearer":
            raise ValueError("fhirAuthorization.token_type must be 'Bearer'")
        return self

    def __repr__(self) -> str:  # never print the token
        return f"FhirAuthorization(token_type={self.token_type!r}, scope={self.scope!r})"

    __str__ = __repr__


class HookRequest(_Lenient):
    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)  # noqa: N815
    fhirServer: str | None = None  # noqa: N815
    fhirAuthorization: FhirAuthorization | None = None  # noqa: N815
    context: JsonObject
    prefetch: dict[str, Any] | None = None
    extension: JsonObject | None = None

    @model_validator(mode="after")
    def _server_with_authorization(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer is required when fhirAuthorization is present")
        if self.fhirServer is not None and not self.fhirServer.startswith(("http://", "https://")):
            raise ValueError("fhirServer must be an absolute http(s) URL")
        return self


class AcceptedSuggestion(_Lenient):
    id: str = Field(min_length=1)


class Coding(_Strict):
    code: str = Field(min_length=1)
    system: str | None = None
    display: str | None = None


class LenientCoding(_Lenient):
    code: str | None = None
    system: str | None = None
    display: str | None = None


class OverrideReasonFeedback(_Lenient):
    reason: LenientCoding | None = None
    userComment: str | None = None  # noqa: N815


class FeedbackItem(_Lenient):
    card: str = Field(min_length=1)
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None  # noqa: N815
    overrideReason: OverrideReasonFeedback | None = None  # noqa: N815
    outcomeTimestamp: datetime  # noqa: N815

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackItem:
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason is only allowed with outcome 'overridden'")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is only allowed with outcome 'accepted'")
        return self


class FeedbackRequest(_Lenient):
    feedback: list[FeedbackItem] = Field(min_length=1)


# --- responses ----------------------------------------------------------------------------------------


class Source(_Strict):
    label: str = Field(min_length=1)
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(_Strict):
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resource: JsonObject | None = None
    resourceId: str | None = None  # noqa: N815

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type in ("create", "update") and self.resource is None:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs a resourceId")
        return self


SystemAction = Action


class Suggestion(_Strict):
    label: str = Field(min_length=1)
    uuid: str | None = None
    isRecommended: bool | None = None  # noqa: N815
    actions: list[Action] | None = None


class Link(_Strict):
    label: str = Field(min_length=1)
    url: str = Field(min_length=1)
    type: Literal["absolute", "smart"]
    appContext: str | None = None  # noqa: N815
    autolaunchable: bool | None = None

    @model_validator(mode="after")
    def _absolute(self) -> Link:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("link url must be absolute")
        return self


OverrideReason = Coding


class Card(_Strict):
    uuid: str | None = None
    summary: str = Field(min_length=1, max_length=139)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None  # noqa: N815
    overrideReasons: list[OverrideReason] | None = None  # noqa: N815
    links: list[Link] | None = None

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required when suggestions are present")
        return self


class HookResponse(_Strict):
    cards: list[Card] = Field(default_factory=list)
    systemActions: list[SystemAction] = Field(default_factory=list)  # noqa: N815


class ServiceDescriptor(_Strict):
    hook: str
    title: str | None = None
    description: str
    id: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None  # noqa: N815


class DiscoveryResponse(_Strict):
    services: list[ServiceDescriptor]
