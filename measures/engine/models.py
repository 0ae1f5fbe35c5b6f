"""Typed results of the CQL worker (pydantic at the Node boundary)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PopulationCode = Literal[
    "initial-population",
    "numerator",
    "numerator-exclusion",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "measure-population",
    "measure-population-exclusion",
    "measure-observation",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class TranslationIssue(_Model):
    """A translator message with its source location (1-based line and column)."""

    message: str
    severity: Literal["error", "warning", "info"] = "error"
    error_type: str | None = Field(default=None, alias="errorType")
    library: str | None = None
    version: str | None = None
    line: int | None = None
    column: int | None = None
    end_line: int | None = Field(default=None, alias="endLine")
    end_column: int | None = Field(default=None, alias="endColumn")

    @property
    def location(self) -> str | None:
        """``line:column`` or ``None``."""
        return None if self.line is None else f"{self.line}:{self.column or 0}"


class TranslatedLibrary(_Model):
    """One CQL library translated to ELM JSON (``elm`` is ``None`` when translation failed outright)."""

    name: str | None
    version: str | None
    elm: dict[str, Any] | None
    errors: list[TranslationIssue] = Field(default_factory=list)

    @property
    def fatal(self) -> list[TranslationIssue]:
        return [e for e in self.errors if e.severity == "error"]


class ReportValue(_Model):
    """A CQL value as a report can state it: a resource reference, a coding, or text."""

    reference: str | None = None
    system: str | None = None
    code: str | None = None
    display: str | None = None
    text: str | None = None

    @property
    def key(self) -> str:
        """Identity of the value (what strata and supplemental-data counts group by)."""
        if self.reference is not None:
            return f"ref:{self.reference}"
        if self.code is not None:
            return f"code:{self.system or ''}|{self.code}"
        return f"text:{self.text or ''}"


class PopulationResult(_Model):
    population_id: str | None = Field(default=None, alias="populationId")
    population_type: PopulationCode = Field(alias="populationType")
    criteria_expression: str | None = Field(default=None, alias="criteriaExpression")
    criteria_reference_id: str | None = Field(default=None, alias="criteriaReferenceId")
    result: bool
    observations: list[float | None] | None = None


class StratumResult(_Model):
    """One stratifier's result for a patient or episode. ``index`` is the stratifier's position in
    ``Measure.group.stratifier``; ``values`` (patient level) the stratifier expression's non-boolean
    value, ``components`` the value of each component's expression."""

    index: int | None = None
    strata_id: str | None = Field(default=None, alias="strataId")
    strata_code: str | None = Field(default=None, alias="strataCode")
    result: bool
    applies_result: bool | None = Field(default=None, alias="appliesResult")
    values: list[ReportValue] | None = None
    components: list[list[ReportValue]] | None = None


class EpisodeResult(_Model):
    episode_id: str = Field(alias="episodeId")
    population_results: list[PopulationResult] = Field(default_factory=list, alias="populationResults")
    stratifier_results: list[StratumResult] = Field(default_factory=list, alias="stratifierResults")


class GroupResult(_Model):
    group_index: int = Field(alias="groupIndex")
    group_id: str = Field(alias="groupId")
    population_results: list[PopulationResult] = Field(default_factory=list, alias="populationResults")
    episode_results: list[EpisodeResult] = Field(default_factory=list, alias="episodeResults")
    stratifier_results: list[StratumResult] = Field(default_factory=list, alias="stratifierResults")


class PatientResult(_Model):
    """fqm-execution's result for one patient: per group populations, episodes and strata."""

    patient_id: str = Field(alias="patientId")
    groups: list[GroupResult] = Field(default_factory=list)
    evaluated_resource: list[str] = Field(default_factory=list, alias="evaluatedResource")
    supplemental_data: list[list[ReportValue]] = Field(default_factory=list, alias="supplementalData")
