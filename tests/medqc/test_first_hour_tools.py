"""The tools of a user's first hour: ``medqc token``, rate charts, report reading, the landing page."""

from __future__ import annotations

import doctest
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import medqc.charts
import medqc.commands.evaluate_cmd
import medqc.demo
import medqc.report_view
from cds_services.auth import CdsAuthenticator, parse_issuers
from cds_services.errors import CdsUnauthorizedError
from medqc import devkey
from medqc.app import create_app
from medqc.charts import MonthRate, RateSeries, svg, write_chart
from medqc.cli import app as cli
from medqc.report_view import Rate, individual_verdict, population_verdict, rate_of
from medqc.settings import Settings, get_settings

BASE = "http://127.0.0.1:8091"


@pytest.mark.parametrize(
    "module",
    [medqc.report_view, medqc.charts, medqc.demo, medqc.commands.evaluate_cmd],
    ids=lambda m: m.__name__,
)
def test_doctests(module: Any) -> None:
    assert doctest.testmod(module).failed == 0


@pytest.fixture
def dev_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    key = tmp_path / "dev-ehr-key.json"
    monkeypatch.setenv("MEDQC_CDS_DEV_KEY", str(key))
    monkeypatch.setenv("MEDQC_BASE_URL", BASE)
    get_settings.cache_clear()
    yield key
    get_settings.cache_clear()


def test_token_without_a_key_says_how_to_make_one(dev_key: Path) -> None:
    result = CliRunner().invoke(cli, ["token"])
    assert result.exit_code == 2
    assert "make demo" in result.output
    assert not dev_key.exists()


async def test_token_is_accepted_once_by_the_issuers_it_prints(dev_key: Path) -> None:
    runner = CliRunner()
    issuers = runner.invoke(cli, ["token", "--init", "--issuers"])
    assert issuers.exit_code == 0, issuers.output
    assert dev_key.stat().st_mode & 0o077 == 0  # the private key is not readable by others
    auth = CdsAuthenticator(parse_issuers(issuers.output.strip()))
    token = runner.invoke(cli, ["token", "--service", "medqc-discharge-qc"]).output.strip()
    service = f"{BASE}/cds-services/medqc-discharge-qc"
    client = await auth.authenticate(f"Bearer {token}", audiences=[service])
    assert client.issuer == devkey.DEV_ISSUER
    with pytest.raises(CdsUnauthorizedError):  # one call per token
        await auth.authenticate(f"Bearer {token}", audiences=[service])
    discovery = runner.invoke(cli, ["token"]).output.strip()
    with pytest.raises(CdsUnauthorizedError):  # a discovery token is not good for the service
        await auth.authenticate(f"Bearer {discovery}", audiences=[service])
    await auth.authenticate(f"Bearer {discovery}", audiences=[f"{BASE}/cds-services"])


def test_a_damaged_key_file_is_a_clear_error(dev_key: Path) -> None:
    dev_key.write_text(json.dumps({"key": {"kty": "EC"}}))
    result = CliRunner().invoke(cli, ["token"])
    assert result.exit_code == 2


# --- reading reports ----------------------------------------------------------------------------------


def _pop(code: str, count: int, ref: str | None = None) -> dict[str, Any]:
    pop: dict[str, Any] = {"code": {"coding": [{"code": code}]}, "count": count}
    if ref:
        pop["subjectResults"] = {"reference": f"#{ref}"}
    return pop


def _stratum(value: str, den: int, num: int) -> dict[str, Any]:
    return {"value": {"text": value}, "population": [_pop("denominator", den), _pop("numerator", num)]}


def test_rate_and_needs_review_from_a_summary_report() -> None:
    report = {
        "group": [
            {
                "population": [_pop("initial-population", 5), _pop("denominator", 5), _pop("numerator", 3)],
                "stratifier": [
                    {"id": "needs-review", "stratum": [_stratum("true", 2, 1), _stratum("false", 3, 2)]}
                ],
            }
        ]
    }
    rate = rate_of(report)
    assert (rate.numerator, rate.denominator, rate.needs_review, rate.needs_review_met) == (3, 5, 2, 1)
    assert rate.split() == (2, 1, 2)
    assert rate.percent() == "60.0%"


def test_one_encounter_in_a_subject_list_and_an_individual_report() -> None:
    listed = {
        "contained": [
            {
                "resourceType": "List",
                "id": "den",
                "entry": [{"item": {"reference": "Encounter/a"}}, {"item": {"reference": "Encounter/b"}}],
            },
            {"resourceType": "List", "id": "num", "entry": [{"item": {"reference": "Encounter/a"}}]},
        ],
        "group": [{"population": [_pop("denominator", 2, "den"), _pop("numerator", 1, "num")]}],
    }
    assert [population_verdict(listed, e) for e in ("a", "b", "c")] == ["met", "not-met", "not-applicable"]
    review = {"url": "http://medqc.org/fhir/StructureDefinition/qc-needs-review", "valueBoolean": True}
    group = {"population": [_pop("denominator", 1), _pop("numerator", 0)]}
    assert individual_verdict({"group": [group]}) == "not-met"
    assert individual_verdict({"group": [{**group, "extension": [review]}]}) == "needs-review"
    assert individual_verdict({"group": [{"population": [_pop("denominator", 0)]}]}) == "not-applicable"


# --- charts -------------------------------------------------------------------------------------------

SERIES = RateSeries(
    title="非瓣膜性心房颤动患者血栓栓塞风险评估率",
    measure_id="af-thromboembolism-risk",
    period="2026-07-01/2026-09-30",
    total=Rate(3, 5, 1, 0),
    months=[
        MonthRate("2026-07", Rate(0, 0)),
        MonthRate("2026-08", Rate(1, 2)),
        MonthRate("2026-09", Rate(2, 3, 1, 0)),
    ],
)


def test_svg_chart_shows_the_parts_of_each_month_and_the_rate() -> None:
    image = svg(SERIES)
    assert image.startswith("<svg")
    assert image.rstrip().endswith("</svg>")
    for text in (SERIES.title, "符合", "不符合", "待复核"):
        assert text in image
    assert image.count(f'fill="{medqc.charts.MET}"') == 2 + 1  # two months with met results + legend
    assert image.count(f'fill="{medqc.charts.REVIEW}"') == 1 + 1  # September's review + legend
    assert "50.0%" in image  # the rate of each month that has cases
    assert "66.7%" in image


def test_chart_format_is_checked(tmp_path: Path) -> None:
    write_chart(SERIES, tmp_path / "r.svg")
    assert (tmp_path / "r.svg").read_text(encoding="utf-8").startswith("<svg")
    with pytest.raises(ValueError, match=r"\.svg or \.png"):
        write_chart(SERIES, tmp_path / "r.jpg")


def test_png_chart(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    write_chart(SERIES, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_html_report_is_one_page_with_the_chart() -> None:
    page = medqc.charts.html_report(SERIES)
    for text in ("<svg", "2026-09", "60.0%"):
        assert text in page


# --- landing page -------------------------------------------------------------------------------------


async def test_landing_page_links_what_runs(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite'}", log_level="WARNING")
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://medqc.test"
    ) as http:
        response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    for link in ("/fhir/metadata", "/cds-services", "/review", "/docs"):
        assert f'href="http://medqc.test{link}' in response.text
