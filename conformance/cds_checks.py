"""CDS Hooks 2.0 conformance checks that run against any base URL (used by tests and from the command line).

Each check sends real HTTP requests and returns :class:`CheckResult` values; none of them imports the
service's own models, so they judge the wire, not the implementation. Checks that need a signed client
JWT use :class:`ClientKeys`: private keys (ES384 and/or RS384) whose public JWKS the server trusts for
``issuer``. Without keys the server is assumed to run with authentication off and the JWT checks are
skipped.

    python -m conformance.cds_checks --base-url http://127.0.0.1:8080 \\
        --jwk es384-private.json --iss https://ehr.example.org/ \\
        --examples ../shared/data/cds-hooks/hl7-spec --cors-origin https://sandbox.cds-hooks.org
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, KeyParameters, RSAKey

DISCHARGE_SERVICE = "medqc-discharge-qc"
PATIENT_VIEW_SERVICE = "medqc-patient-quality"
#: The hook each MedQC service serves.
MEDQC_SERVICES: dict[str, str] = {
    DISCHARGE_SERVICE: "encounter-discharge",
    PATIENT_VIEW_SERVICE: "patient-view",
}
#: Resource types the discharge service must prefetch (issue 6), each with the context token it must use.
DISCHARGE_PREFETCH_TYPES: dict[str, str] = {
    "Patient": "{{context.patientId}}",
    "Encounter": "{{context.encounterId}}",
    "Condition": "{{context.encounterId}}",
    "Observation": "{{context.encounterId}}",
    "Procedure": "{{context.encounterId}}",
    "MedicationRequest": "{{context.encounterId}}",
    "DocumentReference": "{{context.encounterId}}",
}
CARD_INDICATORS = frozenset({"info", "warning", "critical"})
SELECTION_BEHAVIORS = frozenset({"at-most-one", "any"})
ACTION_TYPES = frozenset({"create", "update", "delete"})
#: Client-authentication failures every conformant service answers with a bare 401.
JWT_ATTACKS: tuple[str, ...] = (
    "no Authorization",
    "not a Bearer token",
    "garbage token",
    "signed with a wrong key",
    "expired",
    "issued in the future",
    "wrong aud",
    "issuer not allowed",
    "HS256 (algorithm confusion)",
    "alg none",
    "jku not on the allow-list",
    "no jti",
)
_TOKEN = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'} {self.name}{': ' + self.detail if self.detail else ''}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: Mapping[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


# --- client keys and tokens ---------------------------------------------------------------------------


@dataclass
class ClientKeys:
    """The CDS client's signing keys; ``jwks()`` is the public key set to configure on the server."""

    issuer: str
    es384: ECKey | None = None
    rs384: RSAKey | None = None

    @classmethod
    def generate(cls, issuer: str, *, kid_prefix: str = "medqc-conformance") -> ClientKeys:
        es = ECKey.generate_key(
            "P-384", parameters={"kid": f"{kid_prefix}-es384", "alg": "ES384", "use": "sig"}
        )
        rs = RSAKey.generate_key(
            2048, parameters={"kid": f"{kid_prefix}-rs384", "alg": "RS384", "use": "sig"}
        )
        return cls(issuer=issuer, es384=es, rs384=rs)

    @classmethod
    def from_jwk_files(cls, issuer: str, paths: Iterable[Path]) -> ClientKeys:
        keys = cls(issuer=issuer)
        for path in paths:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("kty") == "EC":
                keys.es384 = ECKey.import_key(data)
            elif data.get("kty") == "RSA":
                keys.rs384 = RSAKey.import_key(data)
            else:
                raise ValueError(f"{path}: expected an EC (ES384) or RSA (RS384) private JWK")
        return keys

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.as_dict(private=False) for k in (self.es384, self.rs384) if k is not None]}

    def algorithms(self) -> list[str]:
        return [alg for alg, key in (("ES384", self.es384), ("RS384", self.rs384)) if key is not None]

    def key_for(self, alg: str) -> ECKey | RSAKey:
        key = self.es384 if alg == "ES384" else self.rs384 if alg == "RS384" else None
        if key is None:
            raise ValueError(f"no {alg} key")
        return key

    def claims(
        self, aud: str, *, exp_in: float = 300, iat_offset: float = 0, jti: str | None = None
    ) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "sub": "medqc-conformance",
            "aud": aud,
            "exp": int(now + exp_in),
            "iat": int(now + iat_offset),
            "jti": jti or str(uuid.uuid4()),
        }

    def token(
        self,
        aud: str,
        *,
        alg: str | None = None,
        key: ECKey | RSAKey | None = None,
        exp_in: float = 300,
        iat_offset: float = 0,
        jti: str | None = None,
        claims: Mapping[str, Any] | None = None,
        header: Mapping[str, Any] | None = None,
    ) -> str:
        alg = alg or self.algorithms()[0]
        own = self.key_for(alg)
        signing = key or own
        hdr = {"alg": alg, "typ": "JWT", "kid": own.kid, **(header or {})}
        body = {**self.claims(aud, exp_in=exp_in, iat_offset=iat_offset, jti=jti), **(claims or {})}
        return jwt.encode(hdr, body, signing, algorithms=[alg])

    def hs256_token(self, aud: str) -> str:
        """HMAC-signed with the public key as the secret: the classic algorithm-confusion attack."""
        own = self.key_for(self.algorithms()[0])
        secret = json.dumps(own.as_dict(private=False), sort_keys=True).encode()
        signing_input = (
            f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': own.kid})}.{_segment(self.claims(aud))}"
        )
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(signature)}"

    def unsigned_token(self, aud: str) -> str:
        """``alg: none`` with an empty signature."""
        own = self.key_for(self.algorithms()[0])
        return f"{_segment({'alg': 'none', 'typ': 'JWT', 'kid': own.kid})}.{_segment(self.claims(aud))}."

    def wrong_key_token(self, aud: str) -> str:
        """Signed with a fresh key that claims the kid of the trusted one."""
        alg = self.algorithms()[0]
        own = self.key_for(alg)
        params: KeyParameters = {"kid": str(own.kid), "alg": alg, "use": "sig"}
        impostor: ECKey | RSAKey = (
            ECKey.generate_key("P-384", parameters=params)
            if alg == "ES384"
            else RSAKey.generate_key(2048, parameters=params)
        )
        return self.token(aud, alg=alg, key=impostor)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- wire validation (independent of the server's models) ---------------------------------------------


def discovery_problems(document: Any) -> list[str]:
    """What breaks CDS Hooks 2.0 "Discovery" in a discovery document."""
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        return ["the discovery response must be an object with a 'services' array"]
    problems: list[str] = []
    ids: set[str] = set()
    for i, service in enumerate(document["services"]):
        where = f"services[{i}]"
        if not isinstance(service, dict):
            problems.append(f"{where} is not an object")
            continue
        for member in ("hook", "description", "id"):
            if not isinstance(service.get(member), str) or not service[member]:
                problems.append(f"{where}.{member} is REQUIRED (non-empty string)")
        if service.get("id") in ids:
            problems.append(f"{where}.id {service.get('id')!r} is not unique")
        ids.add(str(service.get("id")))
        prefetch = service.get("prefetch")
        if prefetch is not None:
            if not isinstance(prefetch, dict) or not all(isinstance(v, str) for v in prefetch.values()):
                problems.append(f"{where}.prefetch must map keys to query strings")
            else:
                for key, template in prefetch.items():
                    for token in _TOKEN.findall(template):
                        if not (token.startswith("context.") or token.startswith("user")):
                            problems.append(f"{where}.prefetch[{key!r}] has an unknown token {{{{{token}}}}}")
    return problems


def prefetch_problems(templates: Mapping[str, str], required: Mapping[str, str]) -> list[str]:
    """Which required resource types have no template, or one without the expected context token."""
    by_type: dict[str, list[str]] = {}
    for template in templates.values():
        by_type.setdefault(re.split(r"[/?]", template, maxsplit=1)[0], []).append(template)
    problems = []
    for resource_type, token in required.items():
        found = by_type.get(resource_type, [])
        if not found:
            problems.append(f"no prefetch template for {resource_type}")
        elif not any(token in t.replace(" ", "") for t in found):
            problems.append(f"the {resource_type} template does not use {token}: {found}")
    return problems


def card_problems(card: Any) -> list[str]:
    """What breaks CDS Hooks 2.0 "Card Attributes" in one card."""
    if not isinstance(card, dict):
        return ["a card must be an object"]
    problems: list[str] = []
    summary = card.get("summary")
    if not isinstance(summary, str) or not summary:
        problems.append("summary is REQUIRED")
    elif len(summary) >= 140:
        problems.append(f"summary has {len(summary)} characters (must be < 140)")
    if card.get("indicator") not in CARD_INDICATORS:
        problems.append(f"indicator {card.get('indicator')!r} is not info|warning|critical")
    source = card.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("label"), str) or not source["label"]:
        problems.append("source.label is REQUIRED")
    elif source.get("topic") is not None and not isinstance(source["topic"], dict):
        problems.append("source.topic must be a Coding")
    if "uuid" in card and not isinstance(card["uuid"], str):
        problems.append("uuid must be a string")
    suggestions = card.get("suggestions")
    if suggestions:
        if card.get("selectionBehavior") not in SELECTION_BEHAVIORS:
            problems.append("selectionBehavior is REQUIRED when suggestions are present")
        for j, suggestion in enumerate(suggestions):
            if not isinstance(suggestion, dict) or not suggestion.get("label"):
                problems.append(f"suggestions[{j}].label is REQUIRED")
                continue
            for k, action in enumerate(suggestion.get("actions") or []):
                problems += [f"suggestions[{j}].actions[{k}].{p}" for p in action_problems(action)]
    for j, link in enumerate(card.get("links") or []):
        if not isinstance(link, dict):
            problems.append(f"links[{j}] is not an object")
            continue
        if not link.get("label"):
            problems.append(f"links[{j}].label is REQUIRED")
        if link.get("type") not in ("absolute", "smart"):
            problems.append(f"links[{j}].type must be absolute|smart")
        if not str(link.get("url", "")).startswith(("http://", "https://")):
            problems.append(f"links[{j}].url must be an absolute URL")
    for j, reason in enumerate(card.get("overrideReasons") or []):
        if not isinstance(reason, dict) or not reason.get("code"):
            problems.append(f"overrideReasons[{j}] must be a Coding with a code")
    return problems


def action_problems(action: Any) -> list[str]:
    if not isinstance(action, dict):
        return ["is not an object"]
    problems = []
    if action.get("type") not in ACTION_TYPES:
        problems.append(f"type {action.get('type')!r} is not create|update|delete")
    if not action.get("description"):
        problems.append("description is REQUIRED")
    if action.get("type") in ("create", "update"):
        resource = action.get("resource")
        if not isinstance(resource, dict) or not resource.get("resourceType"):
            problems.append("resource is REQUIRED for create/update")
    if action.get("type") == "delete" and not action.get("resourceId"):
        problems.append("resourceId is REQUIRED for delete")
    return problems


def hook_response_problems(body: Any) -> list[str]:
    if not isinstance(body, dict) or not isinstance(body.get("cards"), list):
        return ["a hook response must be an object with a 'cards' array"]
    problems = [f"cards[{i}].{p}" for i, card in enumerate(body["cards"]) for p in card_problems(card)]
    for i, action in enumerate(body.get("systemActions") or []):
        problems += [f"systemActions[{i}].{p}" for p in action_problems(action)]
    uuids = [c.get("uuid") for c in body["cards"] if isinstance(c, dict) and c.get("uuid")]
    if len(uuids) != len(set(uuids)):
        problems.append("card uuids are not unique")
    return problems


# --- prefetch from FHIR bundles (what an EHR would send) --------------------------------------------------

#: Resource type → key of the discharge service's prefetch, for the encounter-scoped searches.
DISCHARGE_SEARCH_KEYS: dict[str, str] = {
    "Condition": "conditions",
    "Observation": "observations",
    "Procedure": "procedures",
    "MedicationRequest": "medicationRequests",
    "DocumentReference": "documentReferences",
}


def bundle_resources(bundle: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The resources of a (Synthea) Bundle as a FHIR server would serve them: each with an ``id`` and
    ``urn:uuid:`` references rewritten to ``Type/id``."""
    resources: list[dict[str, Any]] = []
    local: dict[str, str] = {}
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            continue
        full_url = str(entry.get("fullUrl") or "")
        rid = resource.get("id") or (
            full_url.removeprefix("urn:uuid:") if full_url.startswith("urn:") else None
        )
        resource = {**resource, "id": rid} if rid else dict(resource)
        if full_url.startswith("urn:uuid:") and rid:
            local[full_url] = f"{resource['resourceType']}/{rid}"
        resources.append(resource)

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (local.get(v, v) if k == "reference" and isinstance(v, str) else rewrite(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [rewrite(v) for v in value]
        return value

    return [rewrite(r) for r in resources]


def encounter_of(resource: Mapping[str, Any]) -> str | None:
    """The id of the encounter a clinical resource belongs to (``encounter`` or ``context.encounter``)."""
    ref = resource.get("encounter") or (resource.get("context") or {}).get("encounter")
    ref = ref[0] if isinstance(ref, list) and ref else ref
    value = ref.get("reference") if isinstance(ref, dict) else None
    return str(value).rsplit("/", 1)[-1] if value else None


def searchset(resources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"resource": dict(r)} for r in resources],
    }


def discharge_prefetch(resources: Sequence[Mapping[str, Any]], encounter_id: str) -> dict[str, Any]:
    """The complete prefetch of the discharge service for one encounter of ``resources``."""
    encounter = next(
        r for r in resources if r.get("resourceType") == "Encounter" and r.get("id") == encounter_id
    )
    patient_ref = str((encounter.get("subject") or {}).get("reference", ""))
    patient = next(
        r for r in resources if r.get("resourceType") == "Patient" and patient_ref.endswith(f"/{r.get('id')}")
    )
    prefetch: dict[str, Any] = {"patient": dict(patient), "encounter": dict(encounter)}
    for resource_type, key in DISCHARGE_SEARCH_KEYS.items():
        prefetch[key] = searchset(
            [
                r
                for r in resources
                if r.get("resourceType") == resource_type and encounter_of(r) == encounter_id
            ]
        )
    return prefetch


def discharge_context(prefetch: Mapping[str, Any], user: str = "Practitioner/conformance") -> dict[str, str]:
    return {
        "userId": user,
        "patientId": str(prefetch["patient"]["id"]),
        "encounterId": str(prefetch["encounter"]["id"]),
    }


def latest_encounters(resources: Sequence[Mapping[str, Any]], n: int) -> list[str]:
    """The ids of the ``n`` most recent encounters of ``resources``."""
    encounters = [r for r in resources if r.get("resourceType") == "Encounter" and r.get("id")]
    encounters.sort(key=lambda e: str((e.get("period") or {}).get("start", "")), reverse=True)
    return [str(e["id"]) for e in encounters[:n]]


# --- the checks ---------------------------------------------------------------------------------------


def _result(name: str, problems: Sequence[str]) -> CheckResult:
    return CheckResult(name, not problems, "; ".join(problems))


def _status(response: httpx.Response, expected: int | Iterable[int]) -> list[str]:
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if response.status_code in allowed:
        return []
    return [f"HTTP {response.status_code} (expected {sorted(allowed)}): {response.text[:300]}"]


def _bare_401(response: httpx.Response) -> list[str]:
    problems = _status(response, 401)
    if not problems and response.content.strip():
        problems.append(f"the 401 carries a body ({response.text[:100]!r}); it must be bare")
    return problems


def hook_request(
    hook: str, context: Mapping[str, Any], *, prefetch: Mapping[str, Any] | None = None, **members: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": dict(context)}
    if prefetch is not None:
        body["prefetch"] = dict(prefetch)
    body.update(members)
    return body


@dataclass
class CdsConformance:
    """Conformance checks of the CDS service at ``base_url`` (the URL clients use, also the JWT ``aud``)."""

    base_url: str
    keys: ClientKeys | None = None
    timeout_s: float = 30.0
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.client = httpx.Client(timeout=self.timeout_s)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> CdsConformance:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- requests --

    def url(self, *parts: str) -> str:
        return "/".join([self.base_url, "cds-services", *parts])

    def auth(self, aud: str, **token_options: Any) -> dict[str, str]:
        return bearer(self.keys.token(aud, **token_options)) if self.keys is not None else {}

    def discovery(self, headers: Mapping[str, str] | None = None) -> httpx.Response:
        url = self.url()
        return self.client.get(url, headers=dict(headers) if headers is not None else self.auth(url))

    def call(
        self, service_id: str, body: Any, *, headers: Mapping[str, str] | None = None, **token_options: Any
    ) -> httpx.Response:
        url = self.url(service_id)
        sent = dict(headers) if headers is not None else self.auth(url, **token_options)
        if isinstance(body, bytes | str):
            return self.client.post(url, content=body, headers={**sent, "Content-Type": "application/json"})
        return self.client.post(url, json=body, headers=sent)

    def feedback(self, service_id: str, entries: list[dict[str, Any]]) -> httpx.Response:
        url = self.url(service_id, "feedback")
        return self.client.post(url, json={"feedback": entries}, headers=self.auth(url))

    # -- discovery --

    def check_discovery(
        self, expected: Mapping[str, str] = MEDQC_SERVICES, prefetch: Mapping[str, str] | None = None
    ) -> CheckResult:
        """Discovery answers 200 with a valid document listing ``expected`` (id → hook)."""
        response = self.discovery()
        problems = _status(response, 200)
        if not problems:
            document = response.json()
            problems = discovery_problems(document)
            services = {s.get("id"): s for s in document.get("services", []) if isinstance(s, dict)}
            for service_id, hook in expected.items():
                service = services.get(service_id)
                if service is None:
                    problems.append(f"service {service_id!r} not listed")
                elif service.get("hook") != hook:
                    problems.append(f"service {service_id!r} serves {service.get('hook')!r}, not {hook!r}")
            discharge = services.get(DISCHARGE_SERVICE)
            if prefetch is not None and discharge is not None:
                problems += prefetch_problems(discharge.get("prefetch") or {}, prefetch)
        return _result("discovery document", problems)

    def check_discovery_requires_auth(self) -> CheckResult:
        return _result("discovery without a JWT → bare 401", _bare_401(self.discovery(headers={})))

    # -- client authentication --

    def jwt_attack(self, case: str, aud: str) -> dict[str, str]:
        """The Authorization header of one of :data:`JWT_ATTACKS` (a conformant service: bare 401)."""
        assert self.keys is not None
        keys = self.keys
        builders: dict[str, Callable[[], dict[str, str]]] = {
            "no Authorization": dict,
            "not a Bearer token": lambda: {"Authorization": "Basic dXNlcjpwYXNz"},
            "garbage token": lambda: bearer("not.a.jwt"),
            "signed with a wrong key": lambda: bearer(keys.wrong_key_token(aud)),
            "expired": lambda: bearer(keys.token(aud, exp_in=-3600, iat_offset=-3900)),
            "issued in the future": lambda: bearer(keys.token(aud, exp_in=7200, iat_offset=3600)),
            "wrong aud": lambda: bearer(keys.token(self.base_url + "/cds-services/not-this-service")),
            "issuer not allowed": lambda: bearer(
                keys.token(aud, claims={"iss": "https://attacker.example/"})
            ),
            "HS256 (algorithm confusion)": lambda: bearer(keys.hs256_token(aud)),
            "alg none": lambda: bearer(keys.unsigned_token(aud)),
            "jku not on the allow-list": lambda: bearer(
                keys.token(aud, header={"jku": "https://attacker.example/jwks.json"})
            ),
            "no jti": lambda: bearer(keys.token(aud, claims={"jti": None})),
        }
        return builders[case]()

    def check_jwt_rejected(self, case: str, service_id: str, body: Mapping[str, Any]) -> CheckResult:
        headers = self.jwt_attack(case, self.url(service_id))
        return _result(
            f"JWT {case} → bare 401", _bare_401(self.call(service_id, dict(body), headers=headers))
        )

    def check_jwt_accepted(self, alg: str, service_id: str, body: Mapping[str, Any]) -> CheckResult:
        response = self.call(service_id, dict(body), alg=alg)
        return _result(f"JWT {alg} accepted", _status(response, 200))

    def check_replayed_jti(self, service_id: str, body: Mapping[str, Any]) -> CheckResult:
        assert self.keys is not None
        token = self.keys.token(self.url(service_id))
        first = self.call(service_id, dict(body), headers=bearer(token))
        second = self.call(service_id, {**body, "hookInstance": str(uuid.uuid4())}, headers=bearer(token))
        problems = [f"first use: {p}" for p in _status(first, 200)] + [
            f"replay: {p}" for p in _bare_401(second)
        ]
        return _result("replayed jti → bare 401", problems)

    # -- request validation --

    def malformed_requests(self, service_id: str, valid: Mapping[str, Any]) -> dict[str, Any]:
        """Bodies a conformant service must refuse with 400 (``valid`` is a well-formed request)."""
        context = dict(valid["context"])
        without = {k: v for k, v in valid.items() if k != "hookInstance"}
        return {
            "empty body": b"",
            "not JSON": b"{not json",
            "JSON array": [valid],
            "missing hook": {k: v for k, v in valid.items() if k != "hook"},
            "missing hookInstance": without,
            "missing context": {k: v for k, v in valid.items() if k != "context"},
            "wrong hook for this service": {**valid, "hook": "order-sign"},
            **{
                f"context without {name}": {
                    **valid,
                    "context": {k: v for k, v in context.items() if k != name},
                }
                for name in context
                if name in ("userId", "patientId", "encounterId")
            },
            "fhirAuthorization without fhirServer": {
                **{k: v for k, v in valid.items() if k != "fhirServer"},
                "fhirAuthorization": {
                    "access_token": "x",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "scope": "patient/*.read",
                    "subject": "cds",
                },
            },
            "fhirServer not a URL": {**valid, "fhirServer": "not a url"},
        }

    def check_malformed(self, case: str, service_id: str, valid: Mapping[str, Any]) -> CheckResult:
        response = self.call(service_id, self.malformed_requests(service_id, valid)[case])
        problems = _status(response, 400)
        if not problems:
            try:
                message = response.json().get("message")
            except ValueError:
                message = None
            if not isinstance(message, str) or len(message) < 10:
                problems.append(f"400 without a clear message: {response.text[:200]}")
        return _result(f"malformed request ({case}) → 400", problems)

    def check_unknown_service(self, body: Mapping[str, Any]) -> CheckResult:
        response = self.call("no-such-service", dict(body))
        return _result("unknown service → 404", _status(response, 404))

    # -- feedback --

    def check_feedback_unknown_card(self, service_id: str) -> CheckResult:
        entry = {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": now_iso()}
        response = self.feedback(service_id, [entry])
        return _result("feedback for an unknown card uuid → 400", _status(response, 400))

    # -- CORS --

    def check_cors_preflight(self, origin: str, service_id: str = DISCHARGE_SERVICE) -> CheckResult:
        response = self.client.options(
            self.url(service_id),
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        problems = _status(response, (200, 204))
        allowed_origin = response.headers.get("access-control-allow-origin")
        if allowed_origin not in (origin, "*"):
            problems.append(f"Access-Control-Allow-Origin is {allowed_origin!r}")
        methods = response.headers.get("access-control-allow-methods", "").upper()
        if "POST" not in methods:
            problems.append(f"Access-Control-Allow-Methods lacks POST: {methods!r}")
        allowed_headers = response.headers.get("access-control-allow-headers", "").lower()
        if "authorization" not in allowed_headers and allowed_headers != "*":
            problems.append(f"Access-Control-Allow-Headers lacks authorization: {allowed_headers!r}")
        return _result(f"CORS preflight from {origin}", problems)

    # -- published examples --

    def check_spec_example(self, path: Path, services_by_hook: Mapping[str, str]) -> CheckResult:
        """A request example of the spec: sent to the service of its hook (else to the first one) → no 5xx;
        a hook the service does not serve → 400. A feedback example → no 5xx."""
        body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body, dict) and "feedback" in body:
            response = self.client.post(
                self.url(next(iter(services_by_hook.values())), "feedback"),
                json=body,
                headers=self.auth(self.url(next(iter(services_by_hook.values())), "feedback")),
            )
            problems = [] if response.status_code < 500 else _status(response, 400)
            return _result(f"spec example {path.name} (feedback) → no 5xx", problems)
        hook = body.get("hook") if isinstance(body, dict) else None
        service_id = services_by_hook.get(str(hook)) or next(iter(services_by_hook.values()))
        response = self.call(service_id, body)
        problems = (
            [] if response.status_code < 500 else [f"HTTP {response.status_code}: {response.text[:300]}"]
        )
        if hook not in services_by_hook and response.status_code != 400:
            problems.append(f"hook {hook!r} is not served, expected 400, got {response.status_code}")
        if response.status_code == 200:
            problems += hook_response_problems(response.json())
        return _result(f"spec example {path.name} → no 5xx", problems)

    # -- everything that needs no clinical data --

    def run_generic(
        self,
        *,
        context: Mapping[str, Any],
        examples: Path | None = None,
        cors_origin: str | None = None,
    ) -> list[CheckResult]:
        """Every check that works on any deployment: ``context`` is a discharge context (user, patient,
        encounter) the server may or may not know (the checks only need it to be well-formed)."""
        valid = hook_request("encounter-discharge", context, prefetch={})
        results = [self.check_discovery(prefetch=DISCHARGE_PREFETCH_TYPES)]
        if self.keys is not None:
            results.append(self.check_discovery_requires_auth())
            results += [self.check_jwt_rejected(c, DISCHARGE_SERVICE, valid) for c in JWT_ATTACKS]
        results += [
            self.check_malformed(c, DISCHARGE_SERVICE, valid) for c in self.malformed_requests("", valid)
        ]
        results.append(self.check_unknown_service(valid))
        results.append(self.check_feedback_unknown_card(DISCHARGE_SERVICE))
        if cors_origin:
            results.append(self.check_cors_preflight(cors_origin))
        if examples is not None:
            for path in example_files(examples):
                results.append(self.check_spec_example(path, hooks_served(MEDQC_SERVICES)))
        return results


def hooks_served(services: Mapping[str, str]) -> dict[str, str]:
    """hook → service id."""
    return {hook: service_id for service_id, hook in services.items()}


def example_files(folder: Path) -> list[Path]:
    """Request and feedback examples of the spec folder (objects with ``hook`` or ``feedback``)."""
    out = []
    for path in sorted(folder.glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(body, dict) and ("hook" in body or "feedback" in body):
            out.append(path)
    return out


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", required=True, help="the service's public base URL (JWT aud prefix)")
    parser.add_argument("--jwk", type=Path, action="append", default=[], help="private JWK (ES384/RS384)")
    parser.add_argument("--iss", default="https://ehr.example.org/", help="the issuer the server trusts")
    parser.add_argument("--examples", type=Path, help="folder of CDS Hooks spec JSON examples")
    parser.add_argument("--cors-origin", help="an origin the server allows")
    parser.add_argument("--patient", default="conformance-patient")
    parser.add_argument("--encounter", default="conformance-encounter")
    args = parser.parse_args(argv)
    keys = ClientKeys.from_jwk_files(args.iss, args.jwk) if args.jwk else None
    context = {"userId": "Practitioner/conformance", "patientId": args.patient, "encounterId": args.encounter}
    with CdsConformance(args.base_url, keys) as checks:
        results = checks.run_generic(context=context, examples=args.examples, cors_origin=args.cors_origin)
    for result in results:
        out(str(result))
    failed = sum(not r.ok for r in results)
    out(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
