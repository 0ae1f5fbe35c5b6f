"""What MedQC's built-in structured indicators are made of: code systems, value sets, measures.

The JSON under ``resources/`` is generated from this module by ``tools/build_resources.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MEDQC_FACTS = "http://medqc.org/fhir/CodeSystem/medqc-facts"
ICD10_CN = "http://medqc.org/fhir/CodeSystem/icd-10-cn-clinical-2.0"  # 国家临床版2.0 ICD-10
ICD9CM3 = "http://hl7.org/fhir/sid/icd-9-cm"  # ICD-9-CM volume 3 (China clinical extension codes)
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

FACTS: list[tuple[str, str, str]] = [
    ("cha2ds2-vasc", "CHA2DS2-VASc 评分", "Thromboembolic risk score of atrial fibrillation (CHA2DS2-VASc)."),
    ("has-bled", "HAS-BLED 评分", "Bleeding risk score under anticoagulation (HAS-BLED)."),
    ("orbit-bleeding", "ORBIT 出血评分", "ORBIT bleeding risk score."),
    ("abc-bleeding", "ABC 出血评分", "ABC-bleeding risk score (age, biomarkers, clinical history)."),
    (
        "residual-stenosis",
        "术后即刻残余狭窄",
        "Residual diameter stenosis of the target lesion after PCI (%).",
    ),
    ("timi-flow-grade", "术后即刻TIMI血流分级", "TIMI flow grade (0-3) of the target vessel after PCI."),
    ("nihss", "NIHSS 评分", "National Institutes of Health Stroke Scale total score."),
    ("curb-65", "CURB-65 评分", "CURB-65 pneumonia severity score."),
    ("crb-65", "CRB-65 评分", "CRB-65 pneumonia severity score."),
    ("psi", "PSI 肺炎严重指数", "Pneumonia Severity Index (PORT score)."),
]

CODE_SYSTEM: dict[str, Any] = {
    "resourceType": "CodeSystem",
    "id": "medqc-facts",
    "url": MEDQC_FACTS,
    "version": "1.0.0",
    "name": "MedQCFacts",
    "title": "MedQC clinical facts",
    "status": "active",
    "publisher": "MedQC",
    "description": "Clinical facts used by MedQC quality indicators that no standard terminology codes.",
    "caseSensitive": True,
    "content": "complete",
    "count": len(FACTS),
    "concept": [{"code": c, "display": d, "definition": t} for c, d, t in FACTS],
}


@dataclass(frozen=True)
class ValueSetSpec:
    id: str
    name: str
    title: str
    description: str
    prefixes: dict[str, list[str]] = field(default_factory=dict)  # system -> code prefixes
    concepts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # system -> (code, display)


def _facts(*codes: str) -> dict[str, list[tuple[str, str]]]:
    display = {c: d for c, d, _ in FACTS}
    return {MEDQC_FACTS: [(c, display[c]) for c in codes]}


def _drugs(atc: list[tuple[str, str]], rxnorm: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    return {ATC: atc, RXNORM: rxnorm}


VALUE_SETS: list[ValueSetSpec] = [
    ValueSetSpec(
        "atrial-fibrillation",
        "AtrialFibrillation",
        "心房颤动",
        "Atrial fibrillation and flutter.",
        prefixes={ICD10_CN: ["I48"]},
        concepts={SNOMED: [("49436004", "Atrial fibrillation")]},
    ),
    ValueSetSpec(
        "valvular-af-conditions",
        "ValvularAFConditions",
        "瓣膜性房颤相关情况",
        "Moderate-severe mitral stenosis or a prosthetic heart valve: AF with these is valvular.",
        prefixes={ICD10_CN: ["I05.0", "I05.2", "I34.2", "Z95.2"]},
    ),
    ValueSetSpec(
        "af-thromboembolic-risk-scores",
        "AFThromboembolicRiskScores",
        "房颤血栓栓塞风险评分",
        "CHA2DS2-VASc.",
        concepts=_facts("cha2ds2-vasc"),
    ),
    ValueSetSpec(
        "af-bleeding-risk-scores",
        "AFBleedingRiskScores",
        "房颤出血风险评分",
        "HAS-BLED, ORBIT or ABC-bleeding.",
        concepts=_facts("has-bled", "orbit-bleeding", "abc-bleeding"),
    ),
    ValueSetSpec(
        "coronary-stent-implantation",
        "CoronaryStentImplantation",
        "冠状动脉支架置入",
        "Coronary stent insertion (ICD-9-CM-3 36.06, 36.07).",
        prefixes={ICD9CM3: ["36.06", "36.07"]},
    ),
    ValueSetSpec(
        "ptca",
        "PTCA",
        "经皮冠状动脉腔内血管成形术",
        "Percutaneous transluminal coronary angioplasty (ICD-9-CM-3 00.66).",
        prefixes={ICD9CM3: ["00.66"]},
    ),
    ValueSetSpec(
        "stemi",
        "STEMI",
        "ST段抬高型心肌梗死",
        "Acute transmural (ST-elevation) myocardial infarction, ICD-10 I21.0-I21.3.",
        prefixes={ICD10_CN: ["I21.0", "I21.1", "I21.2", "I21.3"]},
        concepts={SNOMED: [("401303003", "Acute ST segment elevation myocardial infarction")]},
    ),
    ValueSetSpec(
        "aspirin",
        "Aspirin",
        "阿司匹林",
        "Aspirin.",
        concepts=_drugs([("B01AC06", "acetylsalicylic acid")], [("1191", "aspirin")]),
    ),
    ValueSetSpec(
        "p2y12-inhibitors",
        "P2Y12Inhibitors",
        "P2Y12受体拮抗剂",
        "Clopidogrel, ticagrelor, prasugrel.",
        concepts=_drugs(
            [("B01AC04", "clopidogrel"), ("B01AC24", "ticagrelor"), ("B01AC22", "prasugrel")],
            [("32968", "clopidogrel"), ("1116632", "ticagrelor"), ("613391", "prasugrel")],
        ),
    ),
    ValueSetSpec(
        "beta-blockers",
        "BetaBlockers",
        "β受体阻滞剂",
        "Beta-adrenergic blocking agents.",
        concepts=_drugs(
            [
                ("C07AB02", "metoprolol"),
                ("C07AB07", "bisoprolol"),
                ("C07AG02", "carvedilol"),
                ("C07AA05", "propranolol"),
                ("C07AB03", "atenolol"),
            ],
            [("6918", "metoprolol"), ("19484", "bisoprolol"), ("20352", "carvedilol")],
        ),
    ),
    ValueSetSpec(
        "statins",
        "Statins",
        "他汀类药物",
        "HMG CoA reductase inhibitors.",
        concepts=_drugs(
            [
                ("C10AA01", "simvastatin"),
                ("C10AA02", "lovastatin"),
                ("C10AA03", "pravastatin"),
                ("C10AA04", "fluvastatin"),
                ("C10AA05", "atorvastatin"),
                ("C10AA07", "rosuvastatin"),
                ("C10AA08", "pitavastatin"),
            ],
            [("83367", "atorvastatin"), ("301542", "rosuvastatin"), ("36567", "simvastatin")],
        ),
    ),
    ValueSetSpec(
        "cerebral-infarction",
        "CerebralInfarction",
        "脑梗死",
        "Cerebral infarction, ICD-10 I63.",
        prefixes={ICD10_CN: ["I63"]},
        concepts={SNOMED: [("432504007", "Cerebral infarction")]},
    ),
    ValueSetSpec(
        "nihss-total-score",
        "NIHSSTotalScore",
        "NIHSS 总分",
        "NIH Stroke Scale total score.",
        concepts={LOINC: [("72089-6", "Total score [NIHSS]")], **_facts("nihss")},
    ),
    ValueSetSpec(
        "community-acquired-pneumonia",
        "CommunityAcquiredPneumonia",
        "社区获得性肺炎",
        "Pneumonia, ICD-10 J12-J18 (community acquired unless coded otherwise).",
        prefixes={ICD10_CN: ["J12", "J13", "J14", "J15", "J16", "J17", "J18"]},
        concepts={SNOMED: [("385093006", "Community acquired pneumonia")]},
    ),
    ValueSetSpec(
        "cap-severity-scores",
        "CAPSeverityScores",
        "肺炎严重程度评分",
        "CURB-65, CRB-65 or PSI.",
        concepts=_facts("curb-65", "crb-65", "psi"),
    ),
]

STANDARD = (
    ("initial-population", "Initial Population"),
    ("denominator", "Denominator"),
    ("denominator-exclusion", "Denominator Exclusions"),
    ("numerator", "Numerator"),
)


@dataclass(frozen=True)
class GroupSpec:
    id: str
    populations: tuple[tuple[str, str], ...] = STANDARD
    title: str | None = None
    stratifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class MeasureSpec:
    id: str
    library: str
    title: str
    description: str
    groups: tuple[GroupSpec, ...] = (GroupSpec("main"),)


def _stemi_group(key: str, suffix: str, title: str) -> GroupSpec:
    return GroupSpec(
        key,
        (
            ("initial-population", "Initial Population"),
            ("denominator", "Denominator"),
            ("denominator-exclusion", "Denominator Exclusions"),
            ("denominator-exception", f"Denominator Exception {suffix}"),
            ("numerator", f"Numerator {suffix}"),
        ),
        title=title,
    )


MEASURES: list[MeasureSpec] = [
    MeasureSpec(
        "medqc-nvaf-stroke-risk",
        "MedQCNVAFStrokeRisk",
        "非瓣膜性房颤患者血栓栓塞风险评估率",
        "Inpatient stays with non-valvular atrial fibrillation in which a CHA2DS2-VASc score was recorded.",
    ),
    MeasureSpec(
        "medqc-af-bleeding-risk",
        "MedQCAFBleedingRisk",
        "房颤患者出血风险评估率",
        "Inpatient stays with atrial fibrillation in which HAS-BLED, ORBIT or ABC-bleeding was recorded.",
    ),
    MeasureSpec(
        "medqc-pci-angiographic-success",
        "MedQCPCIAngiographicSuccess",
        "冠脉介入治疗术后即刻冠状动脉造影成功率",
        "PCI stays with immediate angiographic success: (stent and residual stenosis < 20% or balloon-only "
        "PTCA and residual stenosis < 50%) and TIMI grade 3 flow.",
    ),
    MeasureSpec(
        "medqc-stemi-discharge-medications",
        "MedQCSTEMIDischargeMedications",
        "STEMI 患者出院药物使用率",
        "STEMI stays discharged alive with aspirin, a P2Y12 inhibitor, a beta blocker and a statin "
        "(one group per drug class; a documented allergy is a denominator exception).",
        groups=(
            _stemi_group("aspirin", "Aspirin", "出院阿司匹林使用率"),
            _stemi_group("p2y12", "P2Y12", "出院P2Y12受体拮抗剂使用率"),
            _stemi_group("beta-blocker", "Beta Blocker", "出院β受体阻滞剂使用率"),
            _stemi_group("statin", "Statin", "出院他汀类药物使用率"),
        ),
    ),
    MeasureSpec(
        "medqc-stroke-nihss",
        "MedQCStrokeNIHSS",
        "脑梗死患者 NIHSS 评估率",
        "Adult cerebral infarction stays in which an NIHSS total score was recorded.",
    ),
    MeasureSpec(
        "medqc-cap-severity",
        "MedQCCAPSeverity",
        "社区获得性肺炎严重程度评估率",
        "Adult community-acquired pneumonia stays with CURB-65, CRB-65 or PSI recorded; "
        "stratified by age 65+.",
        groups=(GroupSpec("main", stratifiers=(("age-65-and-over", "Stratification Age 65 And Over"),)),),
    ),
]
