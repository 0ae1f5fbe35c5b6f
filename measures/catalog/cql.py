"""Generate one CQL Library per disease from its YAML spec: the indicator logic in the standard's form.

Every indicator becomes four population definitions over the disease's qualifying inpatient encounters
(``"<id> Initial Population"``, ``Denominator``, ``Numerator``) plus ``"<id> Needs Review"`` (the
result rests on an unknown fact) and ``"<id> Rule Unknown"``. Facts are read from the encounter's fact
``Observation``s (code ``<scope>.<fact>`` in the qc-fact CodeSystem, written by the verifiers) and, for
facts with ``structured`` mappings, from the coded data first (retrieves over generated ValueSets, or a
code-prefix match for class codes such as ``C07*``).

The rule language maps onto CQL's own three-valued logic: unknown is ``null``, ``and``/``or``/``not``
are Kleene, ``default(x, v)`` is ``Coalesce(x, v)``, ``known(x)`` is ``x is not null``, and ``count()``
is an interval of integers (how many are true, how many could be) so that ``count(a, b, c) >= 2`` is
true, false or unknown exactly as :func:`measures.catalog.rules.evaluate` says (a differential test
holds the two to the same answers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from measures.catalog import rules
from measures.catalog.schema import DiseaseSpec, FactSpec, IndicatorSpec, StructuredMapping

FACTS_LIBRARY = "MedQCFacts"
FACTS_VERSION = "2.0.0"
FHIRHELPERS_VERSION = "4.0.1"
CS_FACT = "http://medqc.org/fhir/CodeSystem/qc-fact"
VALUESET_BASE = "http://medqc.org/fhir/ValueSet/"
ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://medqc.org/fhir/CodeSystem/icd-10-cn-clinical-2.0")
SNOMED = "http://snomed.info/sct"
DENOMINATOR_FACT = "diagnosis"

#: Where each structured resource type names its encounter, and the status that says "not done".
ENCOUNTER_PATH = {
    "Procedure": "encounter",
    "Observation": "encounter",
    "MedicationRequest": "encounter",
    "MedicationAdministration": "context",
    "Condition": "encounter",
    "DiagnosticReport": "encounter",
}
CODE_PATH = {
    "Procedure": "code",
    "Observation": "code",
    "Condition": "code",
    "DiagnosticReport": "code",
    "MedicationRequest": "medication as FHIR.CodeableConcept",
    "MedicationAdministration": "medication as FHIR.CodeableConcept",
}
NEGATIVE_STATUS = ("not-done", "cancelled", "stopped", "refuted")
IGNORED_STATUS = ("entered-in-error",)
CQL_TYPE = {"boolean": "Boolean", "number": "Decimal", "category": "String", "datetime": "DateTime"}


class CqlGenerationError(ValueError):
    """A rule uses a form the CQL generator cannot express (names the indicator)."""


def library_name(disease: DiseaseSpec) -> str:
    """``af`` → ``QCAf``, ``asah2`` → ``QCAsah2``: the disease's CQL library name."""
    return "QC" + "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", disease.slug) if p)


def fact_code(ind: IndicatorSpec, fact: FactSpec) -> str:
    """The fact's code in the qc-fact CodeSystem: scoped by indicator, or by disease for shared facts."""
    own = {f.id for f in ind.facts}
    scope = ind.id if fact.id in own else ind.disease
    return f"{scope}.{fact.id}"


def asserted_code(ind: IndicatorSpec) -> str:
    """The fact "the caller placed the encounter in the denominator" (``denominatorAsserted``): the
    denominator rule is then not applied."""
    return f"{ind.id}.denominator-asserted"


def denominator_code(ind: IndicatorSpec) -> str:
    """The fact "the encounter is a case of this indicator's disease" (verified from codes and notes)."""
    return f"{ind.id}.{DENOMINATOR_FACT}"


def reviewer_code(ind: IndicatorSpec) -> str:
    """The reviewer's verdict on the stay (``met`` | ``not-met`` | ``not-applicable``, a valueCode
    Observation written by the workstation): when present it decides the stay's outcome, so an
    override reaches later reports, cards and rates."""
    return f"{ind.id}.reviewer-verdict"


def valueset_id(ind: IndicatorSpec, fact: FactSpec, index: int) -> str:
    return f"{fact_code(ind, fact).replace('_', '-')}-{index}"


def denominator_valueset_id(ind: IndicatorSpec) -> str:
    return f"{ind.id}-diagnosis"


def _str(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _num(value: float) -> str:
    return repr(float(value))


@dataclass(frozen=True, slots=True)
class ValueSetDef:
    """A generated ValueSet: id, the CQL name it is declared under, and its (system, codes) concepts."""

    id: str
    name: str
    title: str
    concepts: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def url(self) -> str:
        return VALUESET_BASE + self.id


class _Library:
    """The disease library being written: declarations collected while definitions are generated."""

    def __init__(self, disease: DiseaseSpec) -> None:
        self.disease = disease
        self.valuesets: dict[str, ValueSetDef] = {}
        self.codes: dict[str, str] = {}
        self.functions: dict[str, str] = {}
        self.retrieves: dict[str, str] = {}
        self.defines: list[str] = []

    # --- facts ----------------------------------------------------------------------------------------

    def observations(self, code: str) -> str:
        """A definition holding the patient's fact Observations of ``code`` (retrieved once, cached)."""
        self.codes[code] = code
        name = f"Observations {code}"
        self.retrieves[name] = f'define "{name}":\n  [Observation: "{code}"]\n'
        return f'"{name}"'

    def retrieve(self, name: str, query: str) -> str:
        """A definition holding a retrieve (evaluated once per patient, whatever the number of stays)."""
        self.retrieves[name] = f'define "{name}":\n  {query}\n'
        return f'"{name}"'

    def fact_function(self, ind: IndicatorSpec, fact: FactSpec) -> str:
        """The name of the function ``(E Encounter) → value`` answering ``fact`` for an encounter."""
        code = fact_code(ind, fact)
        name = f"Fact {code}"
        if name in self.functions:
            return name
        observed = f'Facts."{CQL_TYPE[fact.type]} Fact"({self.observations(code)}, E)'
        coded = self._coded(ind, fact)
        body = f"Coalesce({coded}, {observed})" if coded else observed
        self.functions[name] = f'define function "{name}"(E Encounter):\n  // {fact.question}\n  {body}\n'
        return name

    def _coded(self, ind: IndicatorSpec, fact: FactSpec) -> str | None:
        """The coded-data answer of a fact with structured mappings (null when the data says nothing)."""
        if not fact.structured or fact.type == "datetime":
            return None
        name = f"Coded {fact_code(ind, fact)}"
        positive: list[str] = []
        negative: list[str] = []
        values: list[str] = []
        for i, mapping in enumerate(fact.structured, 1):
            matches = self._matches(ind, fact, mapping, i)
            negated = f'Facts."{mapping.resource} Negated"(R)'
            positive.append(f"exists ({matches} R where not {negated} return all R)")
            negative.append(f"exists ({matches} R where {negated} return all R)")
            if fact.type != "boolean":
                values.append(self._value(fact, mapping, matches))
        if fact.type == "boolean":
            body = (
                f"if {' or '.join(positive)} then true\n"
                f"  else if {' or '.join(negative)} then false\n  else null"
            )
        else:
            body = f"Coalesce({', '.join(values)})" if len(values) > 1 else values[0]
        self.functions[name] = f'define function "{name}"(E Encounter):\n  {body}\n'
        return f'"{name}"(E)'

    def _matches(self, ind: IndicatorSpec, fact: FactSpec, mapping: StructuredMapping, index: int) -> str:
        """A query of the mapping's resources recorded for this stay, not entered in error."""
        rtype = mapping.resource
        exact = tuple(c for c in mapping.codes if not c.endswith("*"))
        prefixes = tuple(c[:-1] for c in mapping.codes if c.endswith("*"))
        sources: list[str] = []
        if exact:
            vs = ValueSetDef(
                id=valueset_id(ind, fact, index),
                name=f"VS {fact_code(ind, fact)} {index}",
                title=f"{fact.question}（{rtype}）",
                concepts=((mapping.system_url, exact),),
            )
            self.valuesets[vs.name] = vs
            sources.append(self.retrieve(f"{rtype} in {vs.name}", f'[{rtype}: "{vs.name}"]'))
        if prefixes:
            options = ", ".join(_str(p) for p in prefixes)
            sources.append(
                self.retrieve(
                    f"{rtype} coded {mapping.system_url} {' '.join(prefixes)}",
                    f'[{rtype}] P where Facts."Has Code Prefix"((P.{CODE_PATH[rtype]}), '
                    f"{_str(mapping.system_url)}, {{{options}}}) return all P",
                )
            )
        source = sources[0] if len(sources) == 1 else "(" + " union ".join(sources) + ")"
        where = [f'Facts."Refers To"(R.{ENCOUNTER_PATH[rtype]}, E)', f'not Facts."{rtype} Ignored"(R)']
        if mapping.category:
            where.append(f'Facts."Has Category"(R.category, {_str(mapping.category)})')
        return f"({source} R where {' and '.join(where)} return all R)"

    @staticmethod
    def _value(fact: FactSpec, mapping: StructuredMapping, matches: str) -> str:
        if mapping.value:
            literal = re.fullmatch(r"'([^']*)'", mapping.value.strip())
            if literal is None:
                raise CqlGenerationError(f"{fact.id}: only literal structured values are generated")
            return f"if exists ({matches}) then {_str(literal.group(1))} else null"
        if fact.type == "number" and mapping.resource == "Observation":
            return f"(First({matches}).value as FHIR.Quantity).value.value"
        raise CqlGenerationError(f"{fact.id}: no CQL value path for a {fact.type} from {mapping.resource}")

    # --- rules ----------------------------------------------------------------------------------------

    def expression(self, ind: IndicatorSpec, node: rules.Node, facts: dict[str, FactSpec]) -> str:
        """``node`` as a CQL expression in the scope of encounter ``E``."""

        def ref(name: str) -> str:
            return f'"{self.fact_function(ind, facts[name])}"(E)'

        def bounds(n: rules.Node) -> tuple[str, str]:
            match n:
                case rules.Count(parts):
                    lo = ", ".join(f"if {boolean(p)} is true then 1 else 0" for p in parts)
                    hi = ", ".join(f"if {boolean(p)} is false then 0 else 1" for p in parts)
                    return f"Sum({{{lo}}})", f"Sum({{{hi}}})"
                case rules.Lit(value) if isinstance(value, int | float) and not isinstance(value, bool):
                    return _num(value), _num(value)
            raise CqlGenerationError(f"{ind.id}: count() may only be compared with a number")

        def compare_bounds(op: str, left: rules.Node, right: rules.Node) -> str:
            (alo, ahi), (blo, bhi) = bounds(left), bounds(right)
            if op in {">", ">="}:
                (alo, ahi), (blo, bhi), op = (blo, bhi), (alo, ahi), {">": "<", ">=": "<="}[op]
            if op == "<":
                return f"(if {ahi} < {blo} then true else if {alo} >= {bhi} then false else null)"
            if op == "<=":
                return f"(if {ahi} <= {blo} then true else if {alo} > {bhi} then false else null)"
            equal = (
                f"(if {alo} = {ahi} and {ahi} = {blo} and {blo} = {bhi} then true "
                f"else if {ahi} < {blo} or {bhi} < {alo} then false else null)"
            )
            return equal if op == "==" else f"(not {equal})"

        def value(n: rules.Node) -> str:
            match n:
                case rules.Lit(None):
                    return "null"
                case rules.Lit(bool() as b):
                    return "true" if b else "false"
                case rules.Lit(int() | float() as x):
                    return _num(x)
                case rules.Lit(str() as s):
                    return _str(s)
                case rules.Ref(name):
                    return ref(name)
            return boolean(n)

        def boolean(n: rules.Node) -> str:
            match n:
                case rules.Lit(None):
                    return "null as Boolean"
                case rules.Lit(bool() as b):
                    return "true" if b else "false"
                case rules.Ref(name):
                    if facts[name].type != "boolean":
                        raise CqlGenerationError(f"{ind.id}: {name} is not a boolean fact")
                    return ref(name)
                case rules.Not(inner):
                    return f"(not {boolean(inner)})"
                case rules.BoolOp(op, parts):
                    return "(" + f" {op} ".join(boolean(p) for p in parts) + ")"
                case rules.Compare(op, left, right) if isinstance(left, rules.Count) or isinstance(
                    right, rules.Count
                ):
                    return compare_bounds(op, left, right)
                case rules.Compare(op, left, right):
                    cql_op = {"==": "=", "!=": "!="}.get(op, op)
                    return f"({value(left)} {cql_op} {value(right)})"
                case rules.Count(parts):
                    lo, hi = bounds(n)
                    return f"(if {lo} > 0 then true else if {hi} = 0 then false else null)"
                case rules.InList(operand, options, negated):
                    listed = ", ".join(value(rules.Lit(o)) for o in options)
                    test = f"{value(operand)} in {{{listed}}}"
                    test = f"(not ({test}))" if negated else f"({test})"
                    return f"(if {value(operand)} is null then null else {test})"
                case rules.Known(name):
                    return f"({ref(name)} is not null)"
                case rules.Default(inner, fallback):
                    return f"Coalesce({boolean(inner)}, {'true' if fallback else 'false'})"
            raise CqlGenerationError(f"{ind.id}: cannot generate CQL for {n!r}")

        return boolean(node)

    def assumed(self, ind: IndicatorSpec, node: rules.Node, facts: dict[str, FactSpec]) -> list[str]:
        """Expressions that are null exactly when a ``default()``/``known()`` of ``node`` assumed a value."""
        out: list[str] = []

        def walk(n: rules.Node) -> None:
            match n:
                case rules.Default(inner, _):
                    out.append(self.expression(ind, inner, facts))
                    walk(inner)
                case rules.Known(name):
                    out.append(f'"{self.fact_function(ind, facts[name])}"(E)')
                case rules.Not(inner):
                    walk(inner)
                case rules.BoolOp(_, parts) | rules.Count(parts) | rules.Add(parts):
                    for p in parts:
                        walk(p)
                case rules.Compare(_, left, right):
                    walk(left)
                    walk(right)
                case rules.InList(operand, _, _):
                    walk(operand)

        walk(node)
        return out

    # --- indicators ----------------------------------------------------------------------------------

    def indicator(self, ind: IndicatorSpec) -> None:
        facts = {f.id: f for f in ind.all_facts}
        i = ind.id
        placed = [f'Facts."Boolean Fact"({self.observations(denominator_code(ind))}, E) is true']
        crit = ind.denominator
        if crit.snomed:
            vs = ValueSetDef(
                id=denominator_valueset_id(ind),
                name=f"VS {i} diagnosis",
                title=f"{ind.title}：分母诊断（SNOMED CT）",
                concepts=((SNOMED, tuple(crit.snomed)),),
            )
            self.valuesets[vs.name] = vs
            conditions = self.retrieve(f"Condition in {vs.name}", f'[Condition: "{vs.name}"]')
            placed.append(f'exists ({conditions} C where Facts."Diagnosed During"(C, E) return all C)')
        if crit.icd10:
            prefixes = ", ".join(_str(p) for p in crit.icd10)
            conditions = self.retrieve("Conditions", "[Condition]")
            placed.append(
                f'exists ({conditions} C where Facts."Diagnosed During"(C, E) '
                f'and Facts."Has ICD-10 Prefix"(C.code, {{{prefixes}}}) return all C)'
            )
        self.defines.append(
            f'define "{i} Initial Population":\n  Facts."Qualifying Encounters" E\n    where '
            + "\n      or ".join(placed)
            + "\n    return all E\n"
        )
        den_rule = rules.parse(crit.rule) if crit.rule else None
        num_rule = rules.parse(ind.rule)
        unknowns = [f'"{i} Rule"(E) is null']
        unknowns += [f"{a} is null" for a in self.assumed(ind, num_rule, facts)]
        self.functions[f"{i} Rule"] = (
            f'define function "{i} Rule"(E Encounter):\n  {self.expression(ind, num_rule, facts)}\n'
        )
        denominator = "true"
        if den_rule is not None:
            self.functions[f"{i} Denominator Rule"] = (
                f'define function "{i} Denominator Rule"(E Encounter):\n'
                f"  {self.expression(ind, den_rule, facts)}\n"
            )
            asserted = f'Facts."Boolean Fact"({self.observations(asserted_code(ind))}, E) is true'
            denominator = f'{asserted} or Coalesce("{i} Denominator Rule"(E), true)'
            den_unknowns = [f'"{i} Denominator Rule"(E) is null']
            den_unknowns += [f"{a} is null" for a in self.assumed(ind, den_rule, facts)]
            unknowns.append(f"(not ({asserted}) and ({' or '.join(den_unknowns)}))")
        review = "\n          or ".join(unknowns)
        verdict = f'Facts."String Fact"({self.observations(reviewer_code(ind))}, E)'
        # Each stay's rule is evaluated once (definitions are cached; functions are not). A reviewer's
        # verdict, when there is one, replaces the computed outcome.
        self.defines.append(
            f'define "{i} Judged":\n  "{i} Initial Population" E\n'
            f"    let verdict: {verdict}\n"
            f"    return all Tuple {{\n      stay: E,\n"
            f"      inDenominator: if verdict is null then ({denominator})"
            f" else verdict in {{'met', 'not-met'}},\n"
            f"      rule: if verdict is null then \"{i} Rule\"(E) else verdict = 'met',\n"
            f"      review: verdict is null and (\n        {review}\n      )\n    }}\n"
        )
        judged = f'"{i} Judged" J'
        self.defines.append(
            f'define "{i} Denominator":\n  {judged} where J.inDenominator return all J.stay\n'
        )
        self.defines.append(
            f'define "{i} Numerator":\n'
            f"  {judged} where J.inDenominator and Coalesce(J.rule, false) return all J.stay\n"
        )
        self.defines.append(
            f'define "{i} Needs Review":\n  {judged} where J.inDenominator and J.review return all J.stay\n'
        )
        self.defines.append(
            f'define "{i} Rule Unknown":\n'
            f"  {judged} where J.inDenominator and J.rule is null return all J.stay\n"
        )

    def text(self) -> str:
        d = self.disease
        head = [
            f"library {library_name(d)} version '{d.version}'",
            "",
            f"// {d.disease}: generated by MedQC from measures/catalog/specs/{d.slug}.yaml — do not edit.",
            "",
            "using FHIR version '4.0.1'",
            "",
            f"include FHIRHelpers version '{FHIRHELPERS_VERSION}' called FHIRHelpers",
            f"include {FACTS_LIBRARY} version '{FACTS_VERSION}' called Facts",
            "",
            f"codesystem \"QC Fact\": '{CS_FACT}'",
            "",
        ]
        head += [f"valueset {_q(vs.name)}: '{vs.url}'" for vs in self.valuesets.values()]
        head += [""] if self.valuesets else []
        head += [f'code "{code}": {_str(code)} from "QC Fact"' for code in sorted(self.codes)]
        head += ["", 'parameter "Measurement Period" Interval<DateTime>', "", "context Patient", ""]
        body = [
            *(self.retrieves[k] for k in sorted(self.retrieves)),
            *self.defines,
            *(self.functions[k] for k in sorted(self.functions)),
        ]
        return "\n".join(head) + "\n" + "\n".join(body)


def _q(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class DiseaseLibrary:
    """A disease's generated CQL and the ValueSets it declares."""

    name: str
    version: str
    cql: str
    valuesets: tuple[ValueSetDef, ...]


def disease_library(disease: DiseaseSpec) -> DiseaseLibrary:
    """The CQL Library of ``disease``: every indicator's populations and its fact functions."""
    lib = _Library(disease)
    for ind in disease.indicators:
        lib.indicator(ind)
    return DiseaseLibrary(
        name=library_name(disease),
        version=disease.version,
        cql=lib.text(),
        valuesets=tuple(lib.valuesets.values()),
    )
