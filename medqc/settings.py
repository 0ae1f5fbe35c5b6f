"""Runtime configuration: every knob is an environment variable prefixed ``MEDQC_``."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """MedQC settings (see the README's configuration table)."""

    model_config = SettingsConfigDict(env_prefix="MEDQC_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/medqc.sqlite"
    base_url: str = "http://127.0.0.1:8080"
    fhir_upstream: str | None = None
    fhir_upstream_token: str | None = None
    fhir_access_token: str | None = Field(
        default=None, description="When set, /fhir requires 'Authorization: Bearer <this token>'"
    )
    # Authentication of /fhir and /review (README "Reliability"): a JWKS means OAuth2/OIDC bearer JWTs
    auth_jwks_url: str | None = Field(default=None, description="the identity provider's JWKS")
    auth_issuer: str | None = Field(default=None, description="the required iss of access tokens")
    auth_audience: str | None = Field(default=None, description="the required aud of access tokens")
    session_secret: str | None = Field(
        default=None, description="signs the workstation's session cookies (the same on every replica)"
    )
    session_ttl_s: int = Field(default=8 * 3600, gt=0, description="how long a workstation login lasts")
    db_statement_timeout_s: float = Field(default=30.0, description="PostgreSQL statement_timeout")
    upstream_deadline_s: float = Field(default=20.0, description="one upstream read/search, all pages")
    upstream_max_pages: int = Field(default=50, description="next links one upstream search follows")
    log_level: str = "INFO"
    max_body_bytes: int = Field(default=50 * 1024 * 1024, description="413 above this request size")
    hook_inline_diseases: int = Field(
        default=2,
        ge=0,
        description="diseases the discharge hook judges before answering (coded diagnoses first); the "
        "other indicators are pending and judged in the background; 0 = judge all before answering",
    )
    hook_inline_note_chars: int = Field(
        default=4000,
        ge=0,
        description="characters of notes the discharge hook reads before answering, latest notes first; "
        "what the unread notes could change is pending and judged on every note in the background; "
        "0 = read every note before answering",
    )
    note_max_bytes: int = Field(
        default=2 * 1024 * 1024,
        gt=0,
        description="largest note text (UTF-8 bytes) the verifiers read; larger is a 400 (NoteTooLarge)",
    )
    page_size_default: int = 50
    page_size_max: int = 1000
    seed_catalog: bool = True

    # CDS Hooks
    cds_auth: Literal["on", "off"] = "on"
    cds_issuers: str = "{}"
    cds_cors_origins: str = "*"
    cds_smart_launch_url: str | None = None
    cds_audience_from_request: bool | None = Field(
        default=None,
        description="also accept a CDS JWT whose aud is the service URL as the client called it; default: "
        "only when MEDQC_BASE_URL is not set",
    )
    cds_dev_key: str = Field(
        default="var/dev-ehr-key.json",
        description="the development EHR's private key (made by `medqc demo`) that `medqc token` signs with",
    )

    # CQL engine
    elm_cache_dir: str = Field(default="var/elm-cache", description="content-addressed ELM cache")
    cql_timeout_s: float = Field(default=300.0, description="per-request timeout of the CQL worker")
    node: str | None = Field(default=None, description="the node binary (default: node on PATH)")
    cql_workers: int = Field(default=2, ge=1, description="CQL worker processes (one per running request)")

    # Bulk load (`medqc load`)
    load_workers: int = Field(
        default_factory=lambda: len(os.sched_getaffinity(0)),
        ge=0,
        description="processes that parse, validate and index files for `medqc load` (0: none, all in one)",
    )

    # Language model (optional)
    llm_base_url: str | None = None
    llm_model: str = "qwen2.5-coder-0.5b"
    llm_api_key: str | None = None
    llm_timeout_s: float = 60.0
    llm_max_concurrency: int = 2
    llm_max_retries: int = 3
    llm_hybrid_scope: Literal["unlexiconed", "unknown"] = Field(
        default="unlexiconed",
        description="facts the hybrid policy may ask the model: only those without a lexicon entry, or every "
        "fact structured data and the lexicon leave unknown (use with a model measured better than lexical)",
    )
    kb_dir: str = Field(default="var/kb", description="the persisted retrieval index")
    draft_mode: Literal["extractive", "abstractive"] = Field(
        default="extractive",
        description="discharge-summary drafts: verbatim quotes only, or sections rewritten by the language "
        "model (each sentence checked against its sources; extractive when no model is configured)",
    )
    draft_llm_deadline_s: float = Field(
        default=60.0, gt=0, description="whole deadline of the model rewriting one draft (then extractive)"
    )

    # Regional reporting (DEQM $submit-data to the regional quality-control platform)
    report_reporter: str = Field(
        default="Organization/medqc-hospital", description="MeasureReport.reporter (the hospital)"
    )
    report_token_url: str | None = Field(default=None, description="the platform's OAuth2 token endpoint")
    report_client_id: str | None = Field(default=None, description="MedQC's client id at the platform")
    report_client_key: str | None = Field(
        default=None, description="path to MedQC's private JWK (EC P-384 or RSA) signing the assertion"
    )
    report_scope: str = "system/Measure.read system/MeasureReport.write"
    report_access_token: str | None = Field(
        default=None, description="a fixed bearer token for platforms without a token endpoint"
    )
    report_timeout_s: float = Field(default=30.0, description="one HTTP request to the platform")
    report_deadline_s: float = Field(default=120.0, description="one submission, retries included")
    report_max_attempts: int = Field(default=4, description="attempts per submission (429, 5xx, network)")

    @property
    def cds_aud_from_request(self) -> bool:
        """Whether a CDS JWT may name the service URL as the client called it (see the field)."""
        if self.cds_audience_from_request is not None:
            return self.cds_audience_from_request
        return "base_url" not in self.model_fields_set

    # Versions a deployment approved (`medqc versions`); a process with other files refuses to start
    pin_kb: str | None = Field(default=None, description="required knowledge-base version (kb+<digest>)")
    pin_prompts: str | None = Field(default=None, description="required prompts version (prompts+<digest>)")
    pin_templates: str | None = Field(
        default=None, description="required draft-templates version (templates+<digest>)"
    )

    @property
    def version_pins(self) -> dict[str, str | None]:
        return {"kb": self.pin_kb, "prompts": self.pin_prompts, "templates": self.pin_templates}

    # Orchestration (Temporal) and audit
    temporal_address: str | None = Field(
        default=None, description="host:port of the Temporal frontend (unset: see temporal_dev_server)"
    )
    temporal_namespace: str = "default"
    temporal_task_queue: str = "medqc"
    temporal_dev_server: bool = Field(
        default=False,
        description="start and supervise a local dev server when temporal_address is unset (medqc serve: on)",
    )
    temporal_dev_db: str = Field(default="var/temporal.sqlite", description="the dev server's state file")
    temporal_dev_port: int = 7233
    temporal_dev_ui_port: int = 8233
    temporal_start_timeout_s: float = Field(
        default=1.0, description="deadline of starting a run's workflow (past it the run waits in the outbox)"
    )
    temporal_retry_s: float = Field(default=2.0, description="interval of the outbox pump's retries")
    temporal_worker: Literal["process", "inline", "off"] = Field(
        default="process",
        description="where the durable steps run: a `medqc worker` child process that medqc serve supervises "
        "(process; inline with an in-memory database), inside the serving process (inline), or only in "
        "workers deployed on their own with `medqc worker` (off)",
    )
    background_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="CPU niceness of the processes medqc serve starts for background work (the Temporal "
        "worker and dev server): on a shared host they yield the CPU to answers",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None, description="OTLP/HTTP traces endpoint for the run steps' spans (unset: no export)"
    )
    # Population runs on Ray (medqc population rate)
    ray_address: str | None = Field(
        default=None, description="Ray cluster address (unset: a local cluster with one CPU per worker)"
    )

    @property
    def fhir_base(self) -> str:
        return self.base_url.rstrip("/") + "/fhir"


@lru_cache
def get_settings() -> Settings:
    return Settings()
