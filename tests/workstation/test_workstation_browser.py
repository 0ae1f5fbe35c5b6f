"""The workstation in a real browser (Playwright driving Debian's chromium, headless): login through a
SMART-style card link, the worklist and its filters, the evidence highlighted in its note, an override
that changes the stored MeasureReport (with its Task, Provenance and CDS feedback), and the sign-off of a
discharge summary draft. Screenshots go to tests/workstation/screenshots/ (kept as test artefacts)."""

from __future__ import annotations

import base64
import os
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.workstation.conftest import TOKEN, Site
from tests.workstation.data import AF_ENCOUNTER, BLEEDING_QUOTE

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("MEDQC_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).parent / "screenshots"
DOCS_SHOT = Path(__file__).resolve().parents[2] / "docs" / "workstation.png"
THROMBO = f"qc-{AF_ENCOUNTER}-af-thromboembolism-risk"
BLEEDING = f"qc-{AF_ENCOUNTER}-af-bleeding-risk"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login(page: Page, site: Site, target: str = "/review") -> None:
    page.goto(site.base + target)
    page.fill("#token", TOKEN)
    page.click("#login button[type=submit]")
    page.wait_for_load_state()


def test_login_from_a_card_link_keeps_the_smart_launch(page: Page, site: Site) -> None:
    link = f"/review/Encounter/{AF_ENCOUNTER}?launch=xyz123&iss=https%3A%2F%2Fehr.example%2Ffhir"
    page.goto(site.base + link)
    assert "/review/login" in page.url  # a browser without a session is sent to the login page
    page.fill("#token", "not-the-token")
    page.click("#login button[type=submit]")
    expect(page.locator(".error")).to_contain_text("令牌无效")
    shot(page, "01-login-refused")
    page.fill("#token", TOKEN)
    page.click("#login button[type=submit]")
    page.wait_for_url(re.compile(rf"/review/Encounter/{AF_ENCOUNTER}"))
    expect(page.locator("#patient h1")).to_contain_text("张建国")
    expect(page.locator("header .who")).to_contain_text("https://ehr.example/fhir")
    cookie = next(c for c in page.context.cookies() if c["name"] == "medqc_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert TOKEN not in cookie["value"]
    shot(page, "02-encounter-after-login")
    page.click("header .who button")  # logout
    page.wait_for_url(re.compile(r"/review/login"))
    page.goto(site.base + "/review")
    assert "/review/login" in page.url


def test_worklist_counts_and_filters(page: Page, site: Site) -> None:
    login(page, site)
    rows = page.locator("#worklist tr[data-encounter]")
    expect(rows).to_have_count(3)
    expect(page.locator("#counts [data-count=encounters] b")).to_have_text("3")
    assert int(page.locator("#counts [data-count=not-met] b").inner_text()) >= 1
    expect(page.locator("#worklist")).to_contain_text("AF-0002")
    expect(page.locator("#worklist")).to_contain_text("李秀英")
    shot(page, "03-worklist")
    page.select_option("select[name=department]", "老年医学科")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("王志强")
    page.select_option("select[name=department]", "")
    page.select_option("select[name=indicator]", "af-bleeding-risk")
    page.select_option("select[name=status]", "not-met")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(1)  # only the stay whose notes lack the HAS-BLED score
    expect(rows.first).to_have_attribute("data-encounter", "ws3-af-encounter")
    page.fill("input[name=start]", "2026-11-01")
    page.select_option("select[name=status]", "all")
    page.click("form.filters button[type=submit]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-encounter", AF_ENCOUNTER)


def test_encounter_view_highlights_the_evidence_in_its_note(page: Page, site: Site) -> None:
    login(page, site, f"/review/Encounter/{AF_ENCOUNTER}")
    expect(page.locator("#patient")).to_contain_text("AF-0001")
    expect(page.locator("#patient")).to_contain_text("2026-11-18")
    verdicts = page.locator("section.report").evaluate_all("els => els.map(e => e.dataset.verdict)")
    order = {"not-met": 0, "needs-review": 1, "met": 2, "not-applicable": 3}
    assert [order[v] for v in verdicts] == sorted(order[v] for v in verdicts)  # failing first
    report = page.locator(f"section#{BLEEDING}")
    expect(report.locator(".rule")).to_contain_text("或")
    assert "default(" not in report.locator(".rule b").first.inner_text()
    expect(report.locator("td.yes").first).to_have_text(re.compile("^是"))
    mark = report.locator("details.evidence summary mark", has_text=BLEEDING_QUOTE)
    expect(mark).to_have_count(1)
    details = mark.locator("xpath=ancestor::details")
    expect(details.locator("p.context")).to_be_hidden()
    mark.click()  # expand the context
    expect(details.locator("p.context")).to_be_visible()
    expect(details.locator("p.context")).to_contain_text("出血风险中等")
    shot(page, "04-evidence")
    details.locator("a").click()
    page.wait_for_url(re.compile(r"/review/note/DocumentReference/"))
    expect(page.locator("mark#quote")).to_contain_text(BLEEDING_QUOTE)
    shot(page, "05-note")


def test_override_changes_the_stored_result(page: Page, site: Site) -> None:
    before = site.fhir.get(f"/MeasureReport/{THROMBO}").json()
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in before["group"][0]["population"]}
    assert counts["numerator"] == 0  # not met: no CHA2DS2-VASc documented
    login(page, site, f"/review/Encounter/{AF_ENCOUNTER}")
    form = page.locator(f"section#{THROMBO} form.decision")
    form.locator("select[name=outcome]").select_option("overridden")
    form.locator("select[name=verdict]").select_option("met")
    form.locator("select[name=reason]").select_option("documented-elsewhere")
    form.locator("input[name=comment]").fill("评分记录在门诊病历")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    section = page.locator(f"section#{THROMBO}")
    expect(section).to_have_attribute("data-verdict", "met")
    expect(section.locator("[data-review=overridden]")).to_have_count(1)
    shot(page, "06-override")

    after = site.fhir.get(f"/MeasureReport/{THROMBO}").json()
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in after["group"][0]["population"]}
    assert counts["numerator"] == 1
    assert int(after["meta"]["versionId"]) == int(before["meta"]["versionId"]) + 1
    review = next(e for e in after["extension"] if e["url"].endswith("/qc-review"))
    parts = {p["url"]: p for p in review["extension"]}
    assert parts["outcome"]["valueCode"] == "overridden"
    assert parts["verdictBefore"]["valueCode"] == "not-met"
    task_ref = parts["decision"]["valueReference"]["reference"]
    task = site.fhir.get(f"/{task_ref}").json()
    assert task["status"] == "completed"
    assert task["statusReason"]["coding"][0]["code"] == "documented-elsewhere"
    assert task["note"][0]["text"] == "评分记录在门诊病历"
    provenance = site.fhir.get("/Provenance", params={"target": task_ref}).json()
    assert provenance["total"] == 1
    with sqlite3.connect(site.database) as db:  # fed to the CDS feedback store
        rows = db.execute(
            "SELECT outcome, override_reason FROM cds_feedback WHERE indicator_key LIKE '%血栓栓塞风险评估率'"
        ).fetchall()
    assert [r[0] for r in rows] == ["overridden"]
    assert "documented-elsewhere" in rows[0][1]

    page.goto(site.base + "/review?status=overridden")  # visible and counted in later views
    expect(page.locator("#counts [data-count=overridden] b")).to_have_text("1")
    expect(page.locator("#worklist tr[data-encounter]")).to_have_count(1)
    page.goto(site.base + "/review/rates")
    expect(page.locator("#override-rates tr[data-indicator=af-thromboembolism-risk]")).to_contain_text(
        "33.3%"
    )
    expect(page.locator("div.chart svg").first).to_be_visible()
    expect(page.locator("#step-latency tr[data-step='qc-evaluate/rules'] td").nth(2)).to_have_text("3")
    shot(page, "07-rates")


def test_draft_review_edit_and_sign_off(page: Page, site: Site) -> None:
    login(page, site, f"/review/Encounter/{AF_ENCOUNTER}/draft")
    expect(page.locator("#status")).to_have_attribute("data-doc-status", "preliminary")
    text = page.locator("textarea#summary").input_value()
    assert "心房颤动" in text
    page.locator("textarea#summary").fill(text + "\n审核补充：2周后心内科门诊复诊。")
    page.click("button[value=save]")
    page.wait_for_load_state()
    expect(page.locator("#status")).to_contain_text("版本 2")
    shot(page, "08-draft-edited")
    page.click("button[value=sign]")
    page.wait_for_load_state()
    expect(page.locator("#status")).to_have_attribute("data-doc-status", "final")
    expect(page.locator("textarea")).to_have_count(0)
    shot(page, "09-draft-signed")
    stored = site.fhir.get(f"/DocumentReference/discharge-{AF_ENCOUNTER}").json()
    assert stored["docStatus"] == "final"
    assert stored["meta"]["versionId"] == "3"
    assert stored["authenticator"]["display"] == "static-token"
    body = base64.b64decode(stored["content"][0]["attachment"]["data"]).decode("utf-8")
    assert body.endswith("审核补充：2周后心内科门诊复诊。")
    signed = site.fhir.get(f"/Provenance/discharge-{AF_ENCOUNTER}-signed3").json()
    assert signed["target"][0]["reference"].endswith("/_history/3")
    redraft = site.fhir.post(
        f"/Encounter/{AF_ENCOUNTER}/$draft-discharge-summary", json={"resourceType": "Parameters"}
    )
    assert redraft.status_code == 409  # a signed summary is never redrafted


def test_screenshot_for_the_readme(page: Page, site: Site) -> None:
    login(page, site, f"/review/Encounter/{AF_ENCOUNTER}")
    page.locator(f"section#{BLEEDING} details.evidence summary").first.click()
    shot(page, "10-readme")
    if os.environ.get("MEDQC_UPDATE_DOCS_SCREENSHOT"):
        DOCS_SHOT.parent.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(
            path=str(DOCS_SHOT), full_page=True, clip={"x": 0, "y": 0, "width": 1360, "height": 1100}
        )
    assert (SHOTS / "10-readme.png").stat().st_size > 10_000
