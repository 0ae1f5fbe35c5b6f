"""The workstation over HTTP without a browser: 401 for API clients and a login redirect for browsers,
the session cookie, CSRF and scope checks on decisions, refused decisions as 4xx, an accepted verdict,
a draft asked for from the page, notes, and no patient data in the logs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from medqc.auth import Principal
from medqc.workstation.session import COOKIE, Sessions
from tests.workstation.conftest import TOKEN, Site
from tests.workstation.data import bundles

HTML = {"Accept": "text/html"}
ENCOUNTER = "ws3-af-encounter"
REPORT = f"qc-{ENCOUNTER}-af-bleeding-risk"


def session_for(site: Site, principal: Principal) -> str:
    """A cookie as the login page would issue it (the demo's key comes from the static token)."""
    sessions = Sessions(None, key=b"medqc-session|" + TOKEN.encode(), ttl_s=600, secure=False)
    return sessions.issue(principal, expires=None, launch=None, iss=None)


@pytest.fixture
def browser_client(site: Site) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.base, headers=HTML, timeout=120) as client:
        response = client.post(
            "/review/login", data={"token": TOKEN, "next": f"/review/Encounter/{ENCOUNTER}"}
        )
        assert response.status_code == 303
        yield client


def csrf_of(client: httpx.Client, path: str) -> str:
    page = client.get(path).text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_api_clients_get_401_and_browsers_the_login_page(site: Site) -> None:
    api = httpx.get(f"{site.base}/review", headers={"Accept": "application/json"})
    assert api.status_code == 401
    assert api.json()["resourceType"] == "OperationOutcome"
    assert httpx.get(f"{site.base}/review/Encounter/{ENCOUNTER}").status_code == 401  # Accept: */*
    browser = httpx.get(f"{site.base}/review/Encounter/{ENCOUNTER}?launch=L7", headers=HTML)
    assert browser.status_code == 303
    location = urlparse(browser.headers["location"])
    assert location.path == "/review/login"
    assert parse_qs(location.query)["next"] == [f"/review/Encounter/{ENCOUNTER}?launch=L7"]
    login = httpx.get(site.base + browser.headers["location"], headers=HTML)
    assert login.status_code == 200
    assert 'name="launch" value="L7"' in login.text
    bearer = httpx.get(f"{site.base}/review", headers={**HTML, "Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200  # API credentials still open the pages


def test_login_sets_a_hardened_cookie_without_the_token(site: Site) -> None:
    refused = httpx.post(f"{site.base}/review/login", data={"token": "wrong", "next": "/review"})
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    response = httpx.post(f"{site.base}/review/login", data={"token": TOKEN, "next": "https://evil.example/"})
    assert response.status_code == 303
    assert response.headers["location"] == "/review"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/review"):
        assert attribute in cookie
    assert TOKEN not in cookie
    logout = httpx.post(f"{site.base}/review/logout")  # works without a (valid) session
    assert logout.status_code == 303
    assert "Max-Age=0" in logout.headers["set-cookie"]
    forged = httpx.get(f"{site.base}/review", cookies={COOKIE: cookie.split(";")[0].split("=", 1)[1] + "x"})
    assert forged.status_code == 401


def test_decisions_need_the_csrf_token_and_write_scopes(site: Site, browser_client: httpx.Client) -> None:
    path = f"/review/Encounter/{ENCOUNTER}/decision"
    no_csrf = browser_client.post(path, data={"report": REPORT, "outcome": "accepted"})
    assert no_csrf.status_code == 403
    reader = Principal(subject="auditor", scopes=frozenset({"user/*.read"}))
    with httpx.Client(base_url=site.base, cookies={COOKIE: session_for(site, reader)}) as client:
        page = client.get(f"/review/Encounter/{ENCOUNTER}", headers=HTML)
        assert page.status_code == 200  # may read
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        refused = client.post(path, data={"report": REPORT, "outcome": "accepted", "csrf": csrf})
        assert refused.status_code == 403  # may not decide
        assert refused.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"outcome": "maybe"}, 400),
        ({"outcome": "overridden", "verdict": "met"}, 400),  # no reason
        ({"outcome": "overridden", "verdict": "not-met", "reason": "not-applicable"}, 400),  # no change
        ({"outcome": "overridden", "verdict": "great", "reason": "not-applicable"}, 400),
        ({"outcome": "accepted", "report": "qc-demo-af-encounter-af-bleeding-risk"}, 400),  # other stay
        ({"outcome": "accepted", "report": "qc-no-such-report"}, 404),
        ({"outcome": "accepted", "comment": "x" * 2001}, 400),
    ],
)
def test_refused_decisions_are_4xx_pages(
    browser_client: httpx.Client, fields: dict[str, str], status: int
) -> None:
    csrf = csrf_of(browser_client, f"/review/Encounter/{ENCOUNTER}")
    data = {"report": REPORT, "csrf": csrf, **fields}
    response = browser_client.post(f"/review/Encounter/{ENCOUNTER}/decision", data=data)
    assert response.status_code == status
    assert "无法完成" in response.text  # an HTML error page for the browser


def test_accepting_a_verdict_stores_it_and_feeds_back(site: Site, browser_client: httpx.Client) -> None:
    before = site.fhir.get(f"/MeasureReport/{REPORT}").json()
    csrf = csrf_of(browser_client, f"/review/Encounter/{ENCOUNTER}")
    response = browser_client.post(
        f"/review/Encounter/{ENCOUNTER}/decision",
        data={"report": REPORT, "outcome": "accepted", "comment": "评分确未记录", "csrf": csrf},
    )
    assert response.status_code == 303
    after = site.fhir.get(f"/MeasureReport/{REPORT}").json()
    assert after["group"][0]["population"] == before["group"][0]["population"]
    review = next(e for e in after["extension"] if e["url"].endswith("/qc-review"))
    assert {p["url"]: p.get("valueCode") for p in review["extension"]}["outcome"] == "accepted"
    tasks = site.fhir.get("/Task", params={"encounter": f"Encounter/{ENCOUNTER}"}).json()
    assert tasks["total"] == 1
    assert tasks["entry"][0]["resource"]["businessStatus"]["coding"][0]["code"] == "accepted"
    with sqlite3.connect(site.database) as db:
        outcomes = db.execute(
            "SELECT f.outcome, c.service_id FROM cds_feedback f JOIN cds_cards c ON c.uuid = f.card_uuid "
            "WHERE c.encounter_id = ?",
            (ENCOUNTER,),
        ).fetchall()
    assert outcomes == [("accepted", "medqc-workstation")]
    stale = browser_client.post(
        f"/review/Encounter/{ENCOUNTER}/decision",
        data={"report": REPORT, "outcome": "accepted", "version": before["meta"]["versionId"], "csrf": csrf},
    )
    assert stale.status_code == 400  # decided on a version that is no longer current


def test_a_draft_is_asked_for_from_the_page(site: Site, browser_client: httpx.Client) -> None:
    page = browser_client.get(f"/review/Encounter/{ENCOUNTER}/draft")
    assert "生成草稿" in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = browser_client.post(f"/review/Encounter/{ENCOUNTER}/draft/generate", data={"csrf": csrf})
    assert response.status_code == 303
    stored = site.fhir.get(f"/DocumentReference/discharge-{ENCOUNTER}").json()
    assert stored["docStatus"] == "preliminary"
    listed = browser_client.get("/review/drafts").text
    assert "王志强" in listed
    stale = browser_client.post(
        f"/review/Encounter/{ENCOUNTER}/draft", data={"action": "sign", "version": "99", "csrf": csrf}
    )
    assert stale.status_code == 412  # If-Match: someone else's version


def test_notes_and_unknown_pages(browser_client: httpx.Client) -> None:
    note = browser_client.get("/review/note/DocumentReference/ws3-af-note-2?start=5&end=99999")
    assert note.status_code == 200
    assert "<mark" not in note.text  # offsets outside the note highlight nothing
    assert browser_client.get("/review/note/DocumentReference/nope").status_code == 404
    assert browser_client.get("/review/note/Patient/ws3-af-patient").status_code == 404
    assert browser_client.get("/review/Encounter/no-such-stay").status_code == 404
    assert browser_client.get("/review?start=yesterday").status_code == 400
    assert browser_client.get("/review?status=everything").status_code == 400


def test_no_patient_data_in_the_logs(site: Site) -> None:
    secrets = ["评分确未记录", "评分记录在门诊病历", "审核补充", TOKEN]
    for bundle in bundles():
        for entry in bundle["entry"]:
            resource = entry["resource"]
            if resource["resourceType"] == "Patient":
                secrets += [resource["name"][0]["text"], resource["identifier"][0]["value"]]
    logged = "\n".join(site.logs.lines)
    assert site.logs.lines  # the capture works
    leaked = [s for s in secrets if s in logged]
    assert not leaked
