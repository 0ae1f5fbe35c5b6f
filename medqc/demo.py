"""``medqc demo``: serve MedQC on a free local port and show, over real HTTP, what it answers.

Stages (one progress bar each): load the Synthea bundles and the Chinese inpatient stays of
``medqc/demo_data`` (several diseases, in and out of the demo period); fire the CDS Hooks
``encounter-discharge`` hook for the atrial-fibrillation patient with a JWT signed by the development
EHR key (``medqc token`` signs with the same key) and render its cards; ``$qc-evaluate`` every demo
stay; ``$evaluate-measure`` (population) on every indicator they fall under, for the demo period. It
then shows that the AF indicators get one verdict in the card, in ``$qc-evaluate`` and in the
population report (one engine), and the rate of each indicator. Everything is stored, so ``make serve``
reopens it on the URLs printed (the demo tells the server that public base URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cds_services.client_token import ClientIssuer
from medqc import devkey
from medqc.bundles import as_transaction, read_resources
from medqc.loader import iter_files
from medqc.report_view import (
    VERDICT_LABEL,
    Verdict,
    individual_verdict,
    population_verdict,
    rate_of,
)
from medqc.settings import Settings, get_settings

DEMO_DATA_DIR = Path(__file__).parent / "demo_data"
DEMO_RECORD = DEMO_DATA_DIR / "af-inpatient.json"
AF_PATIENT, AF_ENCOUNTER = "demo-af-patient", "demo-af-encounter"
AF_MEASURES = ("af-thromboembolism-risk", "af-bleeding-risk", "af-rhythm-control")
AF_KEY_PREFIX = "房颤（AF）"
#: The demo period: the second half of 2026 (one AF stay of the demo data lies outside it).
PERIOD = ("2026-07-01", "2026-12-31")
#: The public base URL the demo gives the server: where ``make serve`` reopens it.
SERVE_URL = "http://127.0.0.1:8080"
HTTP_TIMEOUT_S = 300.0

SEVERITY_STYLE = {
    "critical": ("red", "不符合（核心指标）"),
    "warning": ("yellow", "不符合"),
    "info": ("blue", "待复核"),
}
#: The card detail's English phrases, as the quality department reads them.
CARD_TERMS = (
    ("*Facts checked*:", "**核查的事实**："),
    ("✅ met", "✅ 符合"),
    ("❌ not met", "❌ 不符合"),
    ("❓ unknown", "❓ 未知"),
    ("no evidence found in the record", "病历中未找到相关记录"),
)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running_server(settings: Settings, port: int | None = None) -> AsyncIterator[str]:
    """Serve MedQC with ``settings`` on loopback for the block; yields the URL it listens on. The port is
    ``port``, else the one of ``settings.base_url``."""
    from medqc.app import create_app

    port = port or int(settings.base_url.rsplit(":", 1)[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def quiet_third_party_logs() -> None:
    """bm25s sets its own logger to DEBUG when imported (and logs every index build): import it now and
    set it back, so that the demo's terminal shows only the demo."""
    with contextlib.suppress(ImportError):
        import bm25s  # noqa: F401
    logging.getLogger("bm25s").setLevel(logging.WARNING)


def demo_settings(base: Settings, issuer: ClientIssuer, key_path: Path) -> Settings:
    """The demo's settings: public base URL that of ``make serve`` (unless configured), and the
    development EHR trusted (unless issuers are configured)."""
    update: dict[str, Any] = {}
    if "base_url" not in base.model_fields_set:
        update["base_url"] = SERVE_URL
    if base.cds_auth == "on" and base.cds_issuers.strip() in {"", "{}"}:
        update["cds_issuers"] = devkey.issuers_value(issuer, key_path)
    return base.model_copy(update=update)


@dataclass(slots=True)
class Demo:
    console: Console
    http: httpx.AsyncClient
    url: str  # where the demo's server listens
    settings: Settings
    issuer: ClientIssuer | None

    @contextmanager
    def stage(self, label: str, total: int) -> Iterator[Any]:
        """A transient progress bar for one stage; yields ``advance()``."""
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        ) as progress:
            task = progress.add_task(label, total=total)
            yield lambda: progress.advance(task)

    async def get(self, path: str, **params: str) -> dict[str, Any]:
        response = await self.http.get(f"{self.url}{path}", params=params)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        response = await self.http.post(f"{self.url}{path}", json=body, headers=headers or {})
        response.raise_for_status()
        return response.json()


async def run_demo(data: Path) -> int:
    console = Console(highlight=False)
    quiet_third_party_logs()
    base = get_settings()
    key_path = Path(base.cds_dev_key)
    issuer = devkey.load_or_create(key_path)
    settings = demo_settings(base, issuer, key_path)
    if settings.cds_auth == "off":
        console.print("[bold red]警告：CDS Hooks 认证已关闭（MEDQC_CDS_AUTH=off），仅限本地开发。[/]")
    files = [*iter_files([data])] if data.exists() else []
    demo_files = sorted(DEMO_DATA_DIR.glob("*.json"))
    with Progress(
        TextColumn("[bold]启动 MedQC 服务（迁移数据库、载入指标目录）…"), console=console, transient=True
    ) as p:
        p.add_task("start")
        server = running_server(settings, free_port())
        url = await server.__aenter__()
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
            demo = Demo(console, http, url, settings, issuer if settings.cds_auth == "on" else None)
            console.print(
                f"[bold]MedQC 演示[/]  服务 {url}（公开地址 {settings.base_url}）  "
                f"数据库 {settings.database_url.split('@')[-1]}"
            )
            await _load(demo, files, demo_files)
            cards = await _discharge_hook(demo)
            individual = await _qc_evaluate(demo, [_encounter_id(p) for p in demo_files])
            rates = await _rates(demo, sorted({m for reports in individual.values() for m in reports}))
            _one_engine(demo, cards, individual.get(AF_ENCOUNTER, {}), rates)
            _rate_table(demo, rates)
    finally:
        await server.__aexit__(None, None, None)
    _epilogue(console, settings, key_path, issuer)
    return 0


def _encounter_id(path: Path) -> str:
    bundle = read_resources(path)[0]
    return next(
        str(e["resource"]["id"]) for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )


async def _load(demo: Demo, synthea: list[Path], stays: list[Path]) -> None:
    resources = 0
    with demo.stage("载入病历", len(synthea) + len(stays)) as advance:
        for path in [*synthea, *stays]:
            response = await demo.post("/fhir", as_transaction(read_resources(path)))
            resources += len(response.get("entry", []))
            advance()
    demo.console.print(
        f"✓ 载入 {len(synthea)} 份 Synthea 病历与 {len(stays)} 份中文住院病历（{resources} 个 FHIR 资源）"
    )


async def _discharge_hook(demo: Demo) -> dict[str, Verdict]:
    """Fire encounter-discharge for the AF stay; render its cards; the verdict per indicator key."""
    service = f"{demo.settings.base_url}/cds-services/medqc-discharge-qc"
    body = {
        "hook": "encounter-discharge",
        "hookInstance": str(uuid.uuid4()),
        "context": {
            "userId": "Practitioner/demo-doctor",
            "patientId": AF_PATIENT,
            "encounterId": AF_ENCOUNTER,
        },
    }
    headers = demo.issuer.headers(service) if demo.issuer else {}
    with demo.stage("CDS Hooks encounter-discharge", 1) as advance:
        answer = await demo.post("/cds-services/medqc-discharge-qc", body, headers)
        advance()
    cards = answer.get("cards", [])
    demo.console.print(
        f"\n[bold]出院质控提醒[/]（CDS Hooks encounter-discharge，患者 张建国，房颤住院）："
        f"{len(cards)} 张卡片"
    )
    verdicts: dict[str, Verdict] = {}
    for card in cards:
        topic = (card.get("source") or {}).get("topic") or {}
        if topic.get("system") != "urn:cmqcic:indicator":
            continue  # documentation cards (drafts, CDI, ICD) are not indicator verdicts
        color, label = SEVERITY_STYLE.get(card.get("indicator", ""), ("white", card.get("indicator", "")))
        verdicts[str(topic.get("code"))] = "needs-review" if card.get("indicator") == "info" else "not-met"
        if not str(topic.get("code")).startswith(AF_KEY_PREFIX):
            demo.console.print(f"  [{color}]■[/] {label}：{topic.get('display', '')}")
            continue  # the AF indicators' cards in full; the others (hypertension…) in one line
        demo.console.print(
            Panel(
                Group(Markdown(card_facts(card.get("detail", "")))),
                title=f"[bold]{label}：{topic.get('display', '')}[/]",
                title_align="left",
                border_style=color,
                width=min(demo.console.width, 110),
            )
        )
    return verdicts


def card_facts(detail: str) -> str:
    """The facts part of a card's Markdown detail, in Chinese; a fact that is not met lists only the
    quotes that speak to it (notes merely searched are not evidence).

    >>> card_facts("**T** (`k`): not met\\n\\n*Facts checked*:\\n- q: **❌ not met**\\n  - evidence: D/1")
    '**核查的事实**：\\n- q: **❌ 不符合**\\n  - 病历中未找到相关记录'
    """
    lines = detail.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("*Facts checked*")), len(lines))
    out: list[str] = []
    quotes = 0
    for line in lines[start:]:
        if line.startswith("- "):
            if out and out[-1].startswith("- ") and not quotes:
                out.append("  - no evidence found in the record")
            quotes = 0
        elif line.startswith("  - evidence:"):
            continue
        elif line.startswith("  - "):
            quotes += 1
        out.append(line)
    if out and out[-1].startswith("- ") and not quotes:
        out.append("  - no evidence found in the record")
    text = "\n".join(out)
    for english, chinese in CARD_TERMS:
        text = text.replace(english, chinese)
    return text


async def _qc_evaluate(demo: Demo, encounters: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """``$qc-evaluate`` on every demo stay: encounter → Measure id → individual MeasureReport. A stay
    the operation refuses is reported and skipped."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    failures: list[str] = []
    with demo.stage("$qc-evaluate 逐份病历质控", len(encounters)) as advance:
        for encounter in encounters:
            response = await demo.http.post(
                f"{demo.url}/fhir/Encounter/{encounter}/$qc-evaluate", json={"resourceType": "Parameters"}
            )
            advance()
            if response.status_code != httpx.codes.OK:
                issue = (response.json().get("issue") or [{}])[0]
                failures.append(f"✗ {encounter}: HTTP {response.status_code} {issue.get('diagnostics', '')}")
                continue
            out[encounter] = {
                str(e["resource"]["measure"]).split("/")[-1].split("|")[0]: e["resource"]
                for e in response.json().get("entry", [])
                if individual_verdict(e["resource"]) != "not-applicable"
            }
    judged = sum(len(v) for v in out.values())
    demo.console.print(f"✓ $qc-evaluate：{len(out)} 份住院病历，{judged} 项指标判定")
    for failure in failures:
        demo.console.print(f"  [red]{failure[:160]}[/]")
    return out


@dataclass(frozen=True, slots=True)
class IndicatorRate:
    measure: dict[str, Any]
    report: dict[str, Any]


async def _rates(demo: Demo, measure_ids: list[str]) -> list[IndicatorRate]:
    """``$evaluate-measure`` (subject-list: the counts and who is in them) for the demo period."""
    out: list[IndicatorRate] = []
    with demo.stage("$evaluate-measure 统计指标率", len(measure_ids)) as advance:
        for measure_id in measure_ids:
            measure = await demo.get(f"/fhir/Measure/{measure_id}")
            report = await demo.get(
                f"/fhir/Measure/{measure_id}/$evaluate-measure",
                periodStart=PERIOD[0],
                periodEnd=PERIOD[1],
                reportType="subject-list",
            )
            out.append(IndicatorRate(measure, report))
            advance()
    return out


def _one_engine(
    demo: Demo,
    cards: dict[str, Verdict],
    reports: dict[str, dict[str, Any]],
    rates: list[IndicatorRate],
) -> None:
    table = Table(title="同一引擎，同一结论：房颤患者张建国（demo-af-encounter）", title_justify="left")
    for column in ("指标", "CDS 卡片", "$qc-evaluate", "$evaluate-measure（人群）"):
        table.add_column(column)
    by_id = {str(r.measure["id"]): r for r in rates}
    agree = True
    for measure_id in AF_MEASURES:
        rated = by_id.get(measure_id)
        if rated is None or measure_id not in reports:
            continue
        key = next(
            i["value"] for i in rated.measure.get("identifier", []) if i["system"] == "urn:cmqcic:indicator"
        )
        in_report = individual_verdict(reports[measure_id])
        in_card = cards.get(key, "met")
        in_population = population_verdict(rated.report, AF_ENCOUNTER)
        # the population report counts met / not met; review is its stratifier (shown in the rates)
        same = in_card == in_report and in_report in (in_population, "needs-review")
        agree = agree and same
        table.add_row(
            str(rated.measure.get("title")),
            VERDICT_LABEL[in_card],
            VERDICT_LABEL[in_report],
            VERDICT_LABEL[in_population],
        )
    demo.console.print()
    demo.console.print(table)
    demo.console.print("✓ 三处结论一致" if agree else "[bold red]✗ 结论不一致[/]")


def _rate_table(demo: Demo, rates: list[IndicatorRate]) -> None:
    table = Table(title=f"指标率（出院日期 {PERIOD[0]} 至 {PERIOD[1]}）", title_justify="left")
    for column, justify in (("指标", "left"), ("分子/分母", "right"), ("率", "right"), ("待复核", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    shown = 0
    for rated in sorted(rates, key=lambda r: str(r.measure.get("id"))):
        rate = rate_of(rated.report)
        if not rate.denominator:
            continue
        shown += 1
        table.add_row(
            str(rated.measure.get("title")),
            f"{rate.numerator}/{rate.denominator}",
            rate.percent(),
            str(rate.needs_review) if rate.needs_review else "",
        )
    demo.console.print()
    demo.console.print(table)
    demo.console.print(f"  {shown} 项指标分母非空（其余指标在演示人群中无病例）")


def _epilogue(console: Console, settings: Settings, key_path: Path, issuer: ClientIssuer) -> None:
    base = settings.base_url.rstrip("/")
    console.print(
        f"\n[bold]演示已结束，服务已停止。[/]运行 [bold]make serve[/] 重新打开以上全部内容"
        f"（数据库 {settings.database_url.split('///')[-1]}）：\n"
        f"  {base}/                                  首页\n"
        f"  {base}/review/Encounter/{AF_ENCOUNTER}   质控工作站：房颤病历\n"
        f"  {base}/fhir/metadata                     FHIR CapabilityStatement\n"
        f'  curl -H "Authorization: Bearer $(.venv/bin/medqc token)" {base}/cds-services\n'
        f"开发用 EHR 密钥 {key_path}（medqc token 用它签名）；make serve 已信任它，即：\n"
        f"  MEDQC_CDS_ISSUERS='{devkey.issuers_value(issuer, key_path)}'",
        soft_wrap=True,
    )
