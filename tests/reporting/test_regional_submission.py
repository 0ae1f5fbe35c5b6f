"""Two MedQC instances over real HTTP: the hospital rates a quarter and submits (``medqc report submit``)
to a second MedQC playing the regional platform, which requires the bearer token its token endpoint
issues to MedQC's signed client assertion (SMART Backend Services)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import ECKey
from typer.testing import CliRunner

from medqc.cli import app as cli
from medqc.services import build_services
from medqc.settings import Settings, get_settings
from tests.conftest import make_settings
from tests.reporting.token_server import TokenServer, token_server
from tests.support.live import live_server

PLATFORM_TOKEN = "platform-issued-token"
CLIENT_ID = "medqc-hospital-1"
REPORTER = "Organization/hospital-1"
PERIOD = "2026-01-01/2026-03-31"
BLEEDING = "af-bleeding-risk"
RHYTHM = "af-rhythm-control"  # no note says whether rhythm control was tried: those verdicts need review
MEASURES = (BLEEDING, RHYTHM)
CARDIOLOGY, GERIATRICS = "心内科", "老年科"

#: (encounter id, discharge day, department, note, ICD-10): AF stays in the quarter and one after it.
STAYS = [
    (
        "af-q1-1",
        "2026-01-10",
        CARDIOLOGY,
        "入院诊断：持续性心房颤动。入院后完成HAS-BLED评分2分，出血风险中等。",
    ),
    ("af-q1-2", "2026-02-15", CARDIOLOGY, "诊断：阵发性房颤。予利伐沙班抗凝，出院带药。"),
    ("af-q1-3", "2026-03-28", GERIATRICS, "诊断：心房颤动。ORBIT出血评分1分，低危。CHA2DS2-VASc评分3分。"),
    ("af-q2-1", "2026-05-02", CARDIOLOGY, "诊断：心房颤动。HAS-BLED评分3分。"),
]


def _key_files(tmp: Path) -> tuple[Path, dict[str, Any]]:
    key = ECKey.generate_key("P-384", parameters={"kid": "hospital-key-1"}, private=True)
    path = tmp / "client-key.json"
    path.write_text(json.dumps(key.as_dict(private=True)))
    return path, {"keys": [key.as_dict(private=False)]}


def _stay(encounter_id: str, day: str, department: str, note: str) -> list[dict[str, Any]]:
    patient = f"p-{encounter_id}"
    return [
        {"resourceType": "Patient", "id": patient, "name": [{"text": f"患者{encounter_id}"}]},
        {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "serviceType": {"text": department},
            "subject": {"reference": f"Patient/{patient}"},
            "period": {"start": f"{day}T08:00:00+08:00", "end": f"{day}T16:00:00+08:00"},
        },
        {
            "resourceType": "Condition",
            "id": f"dx-{encounter_id}",
            "subject": {"reference": f"Patient/{patient}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I48.x00"}]},
        },
        {
            "resourceType": "DocumentReference",
            "id": f"note-{encounter_id}",
            "status": "current",
            "subject": {"reference": f"Patient/{patient}"},
            "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain; charset=utf-8",
                        "data": base64.b64encode(note.encode()).decode(),
                    }
                }
            ],
        },
    ]


def _transaction(stays: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for stay in stays
            for r in _stay(*stay)
        ],
    }


class Setup:
    def __init__(self, hospital: str, platform: str, tokens: TokenServer, key: Path) -> None:
        self.hospital = hospital
        self.platform = platform
        self.fhir = f"{platform}/fhir"
        self.tokens = tokens
        self.key = key
        self.runner = CliRunner()

    def run(self, *args: str, **env: str) -> tuple[int, str]:
        """``medqc report …`` in this process, with the hospital's settings (plus ``env``)."""
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                mp.setenv(name, value)
            get_settings.cache_clear()
            try:
                result = self.runner.invoke(cli, ["report", *args])
            finally:
                get_settings.cache_clear()
        return result.exit_code, result.output

    def submit(self, *extra: str, **env: str) -> tuple[int, str]:
        measures = [a for m in MEASURES for a in ("--measure", m)]
        return self.run("submit", "--period", PERIOD, "--to", self.fhir, *measures, *extra, **env)

    def ledger(self) -> list[dict[str, Any]]:
        code, out = self.run("ledger", "--json")
        assert code == 0, out
        return list(json.loads(out))

    def platform_reports(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.fhir}/MeasureReport",
            params={"_count": "100"},
            headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"},
            timeout=30,
        )
        assert response.status_code == 200
        return [e["resource"] for e in response.json().get("entry") or []]


def _seeded(settings: Settings) -> Settings:
    """Migrate and seed the database before the server starts (seeding translates every Library once, which
    can outlast the live server's start-up deadline on a busy machine; the server then finds it done)."""

    async def run() -> None:
        services = await build_services(settings)
        await services.close()

    asyncio.run(run())
    return settings


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("regional")
    key_path, public_jwks = _key_files(tmp)
    hospital_settings = _seeded(make_settings("sqlite", tmp / "hospital"))
    platform_settings = _seeded(make_settings("sqlite", tmp / "platform", fhir_access_token=PLATFORM_TOKEN))
    tokens = TokenServer(client_id=CLIENT_ID, client_jwks=public_jwks, access_token=PLATFORM_TOKEN)
    with (
        live_server(hospital_settings) as hospital,
        live_server(platform_settings) as platform,
        token_server(tokens),
        pytest.MonkeyPatch.context() as mp,
    ):
        response = httpx.post(f"{hospital}/fhir", json=_transaction(STAYS), timeout=120)
        assert response.status_code == 200, response.text
        mp.setenv("MEDQC_DATABASE_URL", hospital_settings.database_url)
        mp.setenv("MEDQC_LOG_LEVEL", "WARNING")
        mp.setenv("MEDQC_REPORT_REPORTER", REPORTER)
        mp.setenv("MEDQC_REPORT_TOKEN_URL", tokens.url)
        mp.setenv("MEDQC_REPORT_CLIENT_ID", CLIENT_ID)
        mp.setenv("MEDQC_REPORT_CLIENT_KEY", str(key_path))
        yield Setup(hospital, platform, tokens, key_path)


def _counts(group: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: p["count"] for p in group["population"]}


def _hospital_counts(setup: Setup, measure_id: str) -> dict[str, dict[str, int]]:
    response = httpx.get(
        f"{setup.hospital}/fhir/Measure/{measure_id}/$evaluate-measure",
        params={"periodStart": "2026-01-01", "periodEnd": "2026-03-31", "reportType": "population"},
        timeout=300,
    )
    assert response.status_code == 200, response.text
    return {g["id"]: _counts(g) for g in response.json()["group"]}


def test_platform_requires_its_token(setup: Setup) -> None:
    assert httpx.get(f"{setup.fhir}/Measure", timeout=30).status_code == 401
    assert (
        httpx.get(f"{setup.fhir}/Measure", headers={"Authorization": "Bearer x"}, timeout=30).status_code
        == 401
    )


def _stratum_counts(group: dict[str, Any], stratifier_id: str) -> dict[str, dict[str, int]]:
    stratifier = next(s for s in group["stratifier"] if s["id"] == stratifier_id)
    return {
        (s["value"].get("coding") or [{}])[0].get("code") or s["value"]["text"]: _counts(s)
        for s in stratifier["stratum"]
    }


def test_hospital_submits_a_quarter(setup: Setup) -> None:
    code, out = setup.submit("--approve")
    assert code == 0, out
    assert setup.tokens.issued >= 1
    stored = {r["measure"].split("|")[0].rsplit("/", 1)[-1]: r for r in setup.platform_reports()}
    assert set(stored) == set(MEASURES)
    for measure_id in MEASURES:
        report = stored[measure_id]
        assert report["type"] == "summary"
        assert report["reporter"] == {"reference": REPORTER}
        assert report["meta"]["profile"] == [
            "http://hl7.org/fhir/uv/deqm/StructureDefinition/deqm-summarymeasurereport"
        ]
        assert report["improvementNotation"]["coding"][0]["code"] == "increase"
        assert report["period"]["start"].startswith("2026-01-01")
        assert report["identifier"][0]["value"].startswith(
            f"{REPORTER}|http://medqc.org/fhir/Measure/{measure_id}|"
        )
        assert {g["id"]: _counts(g) for g in report["group"]} == _hospital_counts(setup, measure_id)
        for group in report["group"]:
            outcome = _stratum_counts(group, "qc-outcome")
            assert sum(o["denominator"] for o in outcome.values()) == _counts(group)["denominator"]
            assert sum(o["numerator"] for o in outcome.values()) == _counts(group)["numerator"]
    bleeding = stored[BLEEDING]["group"][0]
    assert _counts(bleeding)["denominator"] == 3  # the three AF stays of the quarter, not the one after
    assert {d: c["denominator"] for d, c in _stratum_counts(bleeding, "department").items()} == {
        CARDIOLOGY: 2,
        GERIATRICS: 1,
    }


def test_without_sign_off_nothing_is_sent_and_review_is_flagged(setup: Setup) -> None:
    stored = next(r for r in setup.platform_reports() if f"/{RHYTHM}|" in r["measure"])
    review = _stratum_counts(stored["group"][0], "qc-outcome")["needs-review"]["denominator"]
    assert review > 0
    ledger_before = len(setup.ledger())
    code, out = setup.submit()  # no --approve, and no terminal to ask on
    assert code == 3, out
    assert f"NEEDS REVIEW: {RHYTHM}: {review} result(s)" in out
    assert f"NEEDS REVIEW: {BLEEDING}" not in out
    assert "not sent: a person must approve the submission (--approve)" in out
    assert len(setup.ledger()) == ledger_before


def test_submitting_again_changes_nothing_at_the_platform(setup: Setup) -> None:
    before = {r["id"]: r["meta"]["versionId"] for r in setup.platform_reports()}
    code, out = setup.submit("--approve")
    assert code == 0, out
    assert "unchanged" in out
    after = {r["id"]: r["meta"]["versionId"] for r in setup.platform_reports()}
    assert after == before
    entries = [e for e in setup.ledger() if e["measure"] == BLEEDING]
    assert [(e["outcome"], e["result"]) for e in entries] == [
        ("accepted", "unchanged"),
        ("accepted", "created"),
    ]
    assert entries[0]["digest"] == entries[1]["digest"]


NEW_STAY = ("af-q1-4", "2026-03-20", CARDIOLOGY, "诊断：心房颤动。HAS-BLED评分2分。")


def test_dry_run_shows_the_diff_and_sends_nothing(setup: Setup) -> None:
    numerator = _hospital_counts(setup, BLEEDING)["main"]["numerator"]
    response = httpx.post(f"{setup.hospital}/fhir", json=_transaction([NEW_STAY]), timeout=60)
    assert response.status_code == 200, response.text
    ledger_before = len(setup.ledger())
    versions = {r["id"]: r["meta"]["versionId"] for r in setup.platform_reports()}
    code, out = setup.submit("--dry-run")
    assert code == 0, out
    assert "-main denominator = 3" in out
    assert "+main denominator = 4" in out
    assert f"-main numerator = {numerator}" in out
    assert f"+main numerator = {numerator + 1}" in out
    assert "dry run" in out
    assert len(setup.ledger()) == ledger_before
    assert {r["id"]: r["meta"]["versionId"] for r in setup.platform_reports()} == versions


def test_resubmission_replaces_never_duplicates(setup: Setup) -> None:
    code, out = setup.submit("--approve")
    assert code == 0, out
    reports = [r for r in setup.platform_reports() if f"/{BLEEDING}|" in r["measure"]]
    assert len(reports) == 1
    assert reports[0]["meta"]["versionId"] == "2"
    assert _counts(reports[0]["group"][0]) == _hospital_counts(setup, BLEEDING)["main"]
    assert setup.ledger()[-1]["result"] == "created"


def test_bad_credentials_are_recorded_not_lost(setup: Setup, tmp_path: Path) -> None:
    other, _ = _key_files(tmp_path)  # a key the platform never registered
    code, out = setup.submit("--approve", MEDQC_REPORT_CLIENT_KEY=str(other))
    assert code == 1, out
    assert "invalid_client" in out
    entries = setup.ledger()[: len(MEASURES)]
    assert {e["outcome"] for e in entries} == {"rejected"}
    code, out = setup.submit("--approve", MEDQC_REPORT_TOKEN_URL="", MEDQC_REPORT_ACCESS_TOKEN="wrong")
    assert code == 1, out
    assert {(e["outcome"], e["http_status"]) for e in setup.ledger()[: len(MEASURES)]} == {("rejected", 401)}


def test_invalid_report_is_rejected_with_the_platforms_reason(setup: Setup) -> None:
    code, out = setup.submit("--approve", MEDQC_REPORT_REPORTER="Patient/not-an-organization")
    assert code == 1, out
    entry = setup.ledger()[0]
    assert (entry["outcome"], entry["http_status"]) == ("rejected", 422)
    assert "reporter must reference the reporting Organization" in out


def test_unreachable_platform_is_retried_then_recorded(setup: Setup) -> None:
    from medqc.demo import free_port

    down = f"http://127.0.0.1:{free_port()}/fhir"
    code, out = setup.run(
        "submit",
        "--period",
        PERIOD,
        "--to",
        down,
        "--measure",
        BLEEDING,
        "--approve",
        MEDQC_REPORT_MAX_ATTEMPTS="3",
    )
    assert code == 1, out
    entry = setup.ledger()[0]
    assert (entry["outcome"], entry["attempts"], entry["platform"]) == ("failed", 3, down)


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"type": "individual"}, 422, "Only summary MeasureReports are accepted"),
        ({"measure": "http://medqc.org/fhir/Measure/af-rhythm-control|1.2.0"}, 422, "not this Measure"),
        ({"reporter": None}, 422, "reporter"),
        ({"period": {"start": "2026-03-31", "end": "2026-01-01"}}, 422, "period.start is after period.end"),
        ({"status": "error"}, 422, "status must be complete or pending"),
        ({"group": "not a list"}, 422, "Invalid MeasureReport"),
    ],
)
def test_platform_refuses_invalid_reports_with_a_reason(
    setup: Setup, change: dict[str, Any], status: int, says: str
) -> None:
    stored = next(r for r in setup.platform_reports() if f"/{BLEEDING}|" in r["measure"])
    report = {k: v for k, v in {**stored, **change}.items() if v is not None and k != "meta"}
    response = httpx.post(
        f"{setup.fhir}/Measure/{BLEEDING}/$submit-data",
        json={"resourceType": "Parameters", "parameter": [{"name": "measureReport", "resource": report}]},
        headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert says in outcome["issue"][0]["diagnostics"]
    after = next(r for r in setup.platform_reports() if f"/{BLEEDING}|" in r["measure"])
    assert after["meta"]["versionId"] == stored["meta"]["versionId"]


def test_platform_needs_a_report_and_its_token(setup: Setup) -> None:
    url = f"{setup.fhir}/Measure/{BLEEDING}/$submit-data"
    empty = {"resourceType": "Parameters", "parameter": []}
    response = httpx.post(url, json=empty, headers={"Authorization": f"Bearer {PLATFORM_TOKEN}"}, timeout=30)
    assert response.status_code == 400
    assert "measureReport" in response.json()["issue"][0]["diagnostics"]
    assert httpx.post(url, json=empty, timeout=30).status_code == 401


def test_a_transaction_replaces_the_same_report(setup: Setup) -> None:
    """For platforms that take summary reports as resources: PUT MeasureReport/{stable id} in a transaction
    lands on the report $submit-data stored (same id), never beside it."""
    before = [r for r in setup.platform_reports() if f"/{BLEEDING}|" in r["measure"]]
    code, out = setup.run(
        "submit",
        "--period",
        PERIOD,
        "--to",
        setup.fhir,
        "--measure",
        BLEEDING,
        "--approve",
        "--via",
        "transaction",
    )
    assert code == 0, out
    after = [r for r in setup.platform_reports() if f"/{BLEEDING}|" in r["measure"]]
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert _counts(after[0]["group"][0]) == _hospital_counts(setup, BLEEDING)["main"]
    entry = setup.ledger()[0]
    assert (entry["outcome"], entry["result"], entry["http_status"]) == ("accepted", "updated", 200)
