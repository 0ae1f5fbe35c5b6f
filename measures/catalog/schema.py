"""The fact/rule spec of an indicator (CF-IR): pydantic models for ``measures/catalog/specs/<slug>.yaml``.

See ``measures/catalog/README.md`` for the format with a worked example.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from measures.catalog import rules

FactType = rules.FactType

#: Short names accepted for ``structured[].system``; a full URL is accepted as is.
CODE_SYSTEMS: dict[str, str] = {
    "loinc": "http://loinc.org",
    "snomed": "http://snomed.info/sct",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
    "icd10cn": "http://medqc.org/fhir/CodeSystem/icd-10-cn-clinical-2.0",
    "icd9cm3": "http://hl7.org/fhir/sid/icd-9-cm",
    "icd9cm3cn": "http://medqc.org/fhir/CodeSystem/icd-9-cm-3-cn-2.0",
    "atc": "http://www.whocc.no/atc",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "medqcfacts": "http://medqc.org/fhir/CodeSystem/medqc-facts",
}

ResourceType = Literal[
    "Procedure",
    "Observation",
    "MedicationRequest",
    "MedicationAdministration",
    "Condition",
    "DiagnosticReport",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StructuredMapping(_Strict):
    """Where coded data answers a fact: resources of ``resource`` type carrying one of ``codes``.

    A code ending in ``*`` is a prefix (ATC classes, ICD chapters). For boolean facts a matching resource
    in a non-negated status makes the fact true (``status`` not-done/entered-in-error/refuted makes it
    false when no positive one exists). For number/datetime/category facts ``value`` is a FHIRPath
    expression evaluated on the matching resource (default ``valueQuantity.value`` for numbers).
    """

    resource: ResourceType
    system: str
    codes: list[str] = Field(min_length=1)
    value: str | None = Field(default=None, description="FHIRPath on the matching resource")
    category: str | None = Field(default=None, description="e.g. 'discharge' for MedicationRequest.category")

    @property
    def system_url(self) -> str:
        return CODE_SYSTEMS.get(self.system, self.system)


class FactSpec(_Strict):
    id: str = Field(pattern=r"^[a-z_][a-z0-9_]*$")
    question: str
    type: FactType = "boolean"
    unit: str | None = None
    values: list[str] | None = Field(default=None, description="allowed values of a category fact")
    evidence: str = Field(description="what counts as evidence, for people and LLM prompts")
    structured: list[StructuredMapping] = Field(default_factory=list)
    lexicon: str | None = Field(
        default=None, description="lexicon entry 'entry' (the disease's lexicon file) or 'file#entry'"
    )
    absent: bool | None = Field(
        default=None,
        description="value when the notes never mention the fact (e.g. false: an assessment that is not "
        "documented was not done); None keeps it unknown",
    )

    @model_validator(mode="after")
    def _typed(self) -> FactSpec:
        if self.type == "category" and not self.values:
            raise ValueError(f"category fact {self.id!r} needs values")
        if self.type == "number" and not self.unit:
            raise ValueError(f"number fact {self.id!r} needs a unit")
        return self


class DenominatorCriteria(_Strict):
    """Whether an encounter *may* belong to the denominator (used when the caller does not assert it)."""

    icd10: list[str] = Field(default_factory=list, description="ICD-10 code prefixes of the diagnosis")
    snomed: list[str] = Field(default_factory=list, description="SNOMED CT codes of the diagnosis (exact)")
    terms: list[str] = Field(default_factory=list, description="diagnosis terms found in the notes")
    rule: str | None = Field(default=None, description="optional extra rule over facts (e.g. nihss <= 3)")


class IndicatorText(_Strict):
    definition: str
    numerator: str
    denominator: str
    formula: str | None = None
    other: str | None = None


class IndicatorSpec(_Strict):
    key: str = Field(description="the indicators.json key, exactly")
    id: str = Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$", description="Measure.id")
    core: bool = False
    title: str
    text: IndicatorText
    denominator: DenominatorCriteria
    facts: list[FactSpec] = Field(default_factory=list)
    rule: str
    improvement: Literal["increase", "decrease"] = Field(
        default="increase", description="which way the rate should move (decrease: an adverse event)"
    )
    notes: str | None = Field(default=None, description="reviewer notes, deviations from the benchmark rule")
    disease: str = Field(default="", description="filled in by the loader: the disease slug")
    version: str = Field(default="", description="filled in by the loader: the disease file version")
    shared_facts: list[FactSpec] = Field(default_factory=list, exclude=True)

    @property
    def all_facts(self) -> list[FactSpec]:
        """The indicator's facts followed by the disease-level facts its rules use."""
        own = {f.id for f in self.facts}
        used = rules.references(rules.parse(self.rule))
        if self.denominator.rule:
            used |= rules.references(rules.parse(self.denominator.rule))
        return [*self.facts, *(f for f in self.shared_facts if f.id in used and f.id not in own)]

    @property
    def canonical(self) -> str:
        return f"http://medqc.org/fhir/Measure/{self.id}"

    def rule_errors(self) -> list[str]:
        facts = self.all_facts
        types = {f.id: f.type for f in facts}
        allowed = {f.id: list(f.values) for f in facts if f.values}
        errors: list[str] = []
        for label, text in (("rule", self.rule), ("denominator.rule", self.denominator.rule)):
            if not text:
                continue
            try:
                node = rules.parse(text)
            except rules.RuleSyntaxError as exc:
                errors.append(f"{self.id} {label}: {exc}")
                continue
            errors.extend(f"{self.id} {label}: {e}" for e in rules.check(node, types, allowed))
        return errors


class DiseaseSpec(_Strict):
    """One file of the catalog: a disease (病种) and its indicators."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    disease: str = Field(description="the key prefix before '_' in indicators.json")
    version: str
    lexicon: str | None = Field(default=None, description="default lexicon file (slug) for this disease")
    facts: list[FactSpec] = Field(default_factory=list, description="facts shared by several indicators")
    indicators: list[IndicatorSpec] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _inherit(cls, data: object) -> object:
        """Give every indicator its disease slug, version and the shared facts."""
        if not isinstance(data, dict) or not isinstance(data.get("indicators"), list):
            return data
        lexicon = str(data.get("lexicon") or data.get("slug") or "")

        def qualify(facts: object) -> object:
            if not isinstance(facts, list):
                return facts
            return [
                {**f, "lexicon": f"{lexicon}#{f['lexicon']}"}
                if isinstance(f, dict) and f.get("lexicon") and "#" not in str(f["lexicon"])
                else f
                for f in facts
            ]

        shared = qualify(data.get("facts") or [])
        base = {
            "disease": data.get("slug", ""),
            "version": str(data.get("version", "")),
            "shared_facts": shared,
        }
        indicators = [
            {**base, **ind, "facts": qualify(ind.get("facts") or [])} if isinstance(ind, dict) else ind
            for ind in data["indicators"]
        ]
        return {**data, "facts": shared, "indicators": indicators}

    @model_validator(mode="after")
    def _consistent(self) -> DiseaseSpec:
        ids = [f.id for f in self.facts]
        if len(ids) != len(set(ids)):
            raise ValueError(f"{self.slug}: duplicate shared fact ids")
        errors: list[str] = []
        for ind in self.indicators:
            if not ind.key.startswith(self.disease + "_"):
                errors.append(f"{ind.id}: key does not start with {self.disease!r}_")
            own = [f.id for f in ind.facts]
            if len(own) != len(set(own)):
                errors.append(f"{ind.id}: duplicate fact ids")
            errors.extend(ind.rule_errors())
        if errors:
            raise ValueError("; ".join(errors))
        return self
