// Measure calculation with fqm-execution 1.8.6 over many patient bundles in one call.
//
// fqm-execution's `Calculator.calculate` re-extracts and re-parses every Library's ELM, rebuilds the
// value-set code service, re-parses the FHIR model info (twice) and builds statement- and clause-level
// results for every patient on every call — the clause results alone are ~40% of a population run
// and MedQC never uses them (they feed fqm's HTML highlighting and coverage). So the worker runs the
// same fqm-execution pieces itself:
//   prepare once per measure-bundle content hash: `retrieveELMInfo` (ELM extraction, measure-
//     observation functions, cql-execution Repository + CodeService) — what `Execution.execute` does;
//   per call: the cql-execution `Executor` over a `cql-exec-fhir` PatientSource whose model info is
//     parsed once per worker, then fqm-execution's own `createPopulationValues` per patient and group
//     (population logic, episodes of care, stratifiers: the code `Calculator.calculate` runs).
// Composite measures, and calls that ask for `engine: "fqm"` (the reference path: the benchmark's
// "before" and the tests that check both paths agree), go through `Calculator.calculate` unchanged.
import { createRequire } from "node:module";
import { Calculator, MeasureBundleHelpers } from "fqm-execution";
import { DateTime, Executor, Interval, PatientContext, Results } from "cql-execution";
import { PatientSource } from "cql-exec-fhir";
import { fqmEpisodeView, usesQICore, withQICoreRetrieves } from "./qicore-source.js";
import { withSharedRecords } from "./shared-records.js";

const require = createRequire(import.meta.url);
// fqm-execution is pinned to exactly 1.8.6: these internal modules are part of that version.
const { retrieveELMInfo } = require("fqm-execution/build/helpers/elm/ELMInfoCache");
const { createPopulationValues } = require("fqm-execution/build/calculation/DetailedResultsBuilder");
const { getCQLIntervalEndpoints } = require("fqm-execution/build/execution/Execution");

function reference(resource) {
  return resource && resource.resourceType && resource.id ? `${resource.resourceType}/${resource.id}` : null;
}

function slimGroup(group, measureGroup, statements) {
  const order = stratifierOrder(measureGroup);
  return {
    groupId: group.groupId,
    populationResults: (group.populationResults ?? []).map(slimPopulation),
    episodeResults: (group.episodeResults ?? []).map((ep) => ({
      episodeId: ep.episodeId,
      populationResults: (ep.populationResults ?? []).map(slimPopulation),
      stratifierResults: (ep.stratifierResults ?? []).map((s, i) => slimStratum(s, order[i])),
    })),
    stratifierResults: (group.stratifierResults ?? []).map((s, i) => ({
      ...slimStratum(s, order[i]),
      ...(statements ? stratumValues(measureGroup.stratifier?.[order[i]], statements) : {}),
    })),
  };
}

/** Index in `group.stratifier` of each stratifier fqm-execution evaluates (those with an expression), in order. */
function stratifierOrder(measureGroup) {
  const out = [];
  (measureGroup?.stratifier ?? []).forEach((s, i) => {
    if (s.criteria?.expression) out.push(i);
  });
  return out;
}

function slimPopulation(p) {
  return {
    populationId: p.populationId ?? null,
    populationType: p.populationType,
    criteriaExpression: p.criteriaExpression ?? null,
    criteriaReferenceId: p.criteriaReferenceId ?? null,
    result: Boolean(p.result),
    observations: p.observations == null ? null : p.observations.map(observationNumber),
  };
}

function slimStratum(s, index) {
  return {
    index: index ?? null,
    strataId: s.strataId ?? null,
    strataCode: s.strataCode ?? null,
    result: Boolean(s.result),
    appliesResult: s.appliesResult ?? null,
  };
}

/** A measure observation as a number (Quantities by their value), or null. */
function observationNumber(value) {
  if (typeof value === "number") return value;
  if (value != null && typeof value.value === "number") return value.value;
  return null;
}

/**
 * What a CQL value says as report values: resources as references, codes and concepts as codings,
 * tuples by their `code`/`value`, other primitives as text. Lists are flattened.
 */
export function reportValues(value, depth = 0) {
  if (value == null || depth > 4) return [];
  if (Array.isArray(value)) return value.flatMap((v) => reportValues(v, depth + 1));
  const ref = value._json ? reference(value._json) : null;
  if (ref) return [{ reference: ref }];
  if (typeof value.code === "string" && (value.system != null || value.display != null)) {
    return [{ system: value.system ?? null, code: value.code, display: value.display ?? null }];
  }
  if (Array.isArray(value.codes)) return value.codes.slice(0, 1).flatMap((c) => reportValues(c, depth + 1));
  if (Object.getPrototypeOf(value) === Object.prototype && "code" in value) return reportValues(value.code, depth + 1); // a tuple
  if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") return [{ text: String(value) }];
  if (typeof value.toString === "function" && value.toString !== Object.prototype.toString) return [{ text: value.toString() }];
  return [];
}

/** Patient-level stratum values: the stratifier's value(s), or one value per component. */
function stratumValues(stratifier, statements) {
  if (!stratifier) return {};
  const own = stratifier.criteria?.expression;
  const out = {};
  if (own) {
    const raw = statements[own];
    if (raw != null && typeof raw !== "boolean" && !Array.isArray(raw)) out.values = reportValues(raw);
  }
  if (stratifier.component?.length) {
    out.components = stratifier.component.map((c) => {
      const expr = c.criteria?.expression;
      return expr ? reportValues(statements[expr]) : [];
    });
  }
  return out;
}

/** Supplemental data values of one patient, in `measure.supplementalData` order. */
function supplementalValues(measure, statements) {
  return (measure.supplementalData ?? []).map((sde) => {
    const expr = sde.criteria?.expression;
    return expr && expr in statements ? reportValues(statements[expr]) : [];
  });
}

/** Library versions by name, from the measure bundle, to annotate engine errors. */
function libraryVersions(measureBundle) {
  const versions = {};
  for (const entry of measureBundle?.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType === "Library" && r.name) versions[r.name] = r.version ?? null;
  }
  return versions;
}

export class CalculationError extends Error {
  constructor(cause, versions) {
    super(String(cause?.message ?? cause));
    this.detail = {
      message: String(cause?.cause?.message ?? cause?.message ?? cause),
      library: cause?.libraryName ?? null,
      version: cause?.libraryName ? versions[cause.libraryName] ?? null : null,
      expression: cause?.expressionName ?? null,
      localId: cause?.localId ?? null,
      locator: cause?.locator ?? null,
    };
  }
}

/** The caller named a prepared measure this process does not hold (e.g. it was restarted). */
export class UnknownMeasureError extends Error {
  constructor(key) {
    super(`measure bundle ${key} is not prepared in this worker: send it again`);
    this.detail = { message: this.message, code: "unknown-measure", measureKey: key };
  }
}

// ---- prepared measures, by content hash (bounded, least recently used evicted) --------------------

const PREPARED_MAX = 32;
const prepared = new Map();

/**
 * Prepare a measure bundle once (ELM extraction and parsing, value-set code service, the
 * cql-execution Repository): the expensive part of every fqm-execution call that does not depend on
 * the patients. `key` is the caller's content hash of `measureBundle`.
 */
export function prepareMeasure(key, measureBundle) {
  const versions = libraryVersions(measureBundle);
  try {
    const measure = MeasureBundleHelpers.extractMeasureFromBundle(measureBundle);
    const composite = MeasureBundleHelpers.extractCompositeMeasure(measureBundle) != null;
    let elmInfo = null;
    if (!composite) {
      // Value sets the logic declares but the bundle lacks were checked by the caller (MedQC reports
      // them, and refuses a measure whose logic uses one).
      const valueSets = (measureBundle.entry ?? []).map((e) => e.resource).filter((r) => r?.resourceType === "ValueSet");
      elmInfo = retrieveELMInfo(measure, measureBundle, valueSets, false);
    }
    const qicore = elmInfo != null && usesQICore(elmInfo.elmJSONs);
    const statements = elmInfo != null ? neededStatements(measure, elmInfo) : null;
    const entry = { key, measureBundle, measure, composite, elmInfo, versions, qicore, statements };
    prepared.set(key, entry);
    while (prepared.size > PREPARED_MAX) prepared.delete(prepared.keys().next().value);
    return entry;
  } catch (e) {
    throw new CalculationError(e, versions);
  }
}

/**
 * The root-library statements the measure's report reads: population, stratifier (and component) and
 * supplemental-data criteria, and fqm-execution's generated measure-observation functions. Only these
 * are run per patient; what they reference is run (once, cached per patient) when referenced — a
 * catalog disease library holds every indicator of the disease, and rating one indicator need not run
 * the others. `null` (run every statement, as `Executor.exec` does) when the root library has
 * Unfiltered statements or the measure names a statement the library lacks.
 */
function neededStatements(measure, elmInfo) {
  const root = elmInfo.elmJSONs.find((elm) => elm.library.identifier.id === elmInfo.rootLibIdentifier.id);
  const defs = root?.library?.statements?.def ?? [];
  if (defs.some((d) => d.context === "Unfiltered")) return null;
  const names = new Set();
  const add = (criteria) => criteria?.expression && names.add(criteria.expression);
  for (const group of measure.group ?? []) {
    (group.population ?? []).forEach((p) => add(p.criteria));
    for (const s of group.stratifier ?? []) {
      add(s.criteria);
      (s.component ?? []).forEach((c) => add(c.criteria));
    }
  }
  (measure.supplementalData ?? []).forEach((sde) => add(sde.criteria));
  // A measure-observation population names a function, run by fqm-execution's obs_func_ statements.
  const functions = new Set(defs.filter((d) => d.type === "FunctionDef").map((d) => d.name));
  for (const name of functions) names.delete(name);
  const patientDefs = new Set(defs.filter((d) => d.context === "Patient" && d.type !== "FunctionDef").map((d) => d.name));
  for (const name of names) if (!patientDefs.has(name)) return null;
  for (const name of patientDefs) if (name.startsWith("obs_func_")) names.add(name);
  if (patientDefs.has("Patient")) names.add("Patient"); // the subject, among the evaluated resources
  return [...names];
}

/** `Executor.exec_patient_context` restricted to `statements` (see `neededStatements`). */
async function execStatements(executor, statements, patientSource, executionDateTime) {
  const results = new Results();
  const { library } = executor;
  for (let patient = await patientSource.currentPatient(); patient; patient = await patientSource.nextPatient()) {
    const ctx = new PatientContext(library, patient, executor.codeService, executor.parameters, executionDateTime, executor.messageListener);
    const values = {};
    for (const name of statements) values[name] = await library.expressions[name].execute(ctx);
    results.recordPatientResults(ctx, values);
  }
  return results;
}

function preparedMeasure(key, measureBundle) {
  const hit = key != null ? prepared.get(key) : undefined;
  if (hit) {
    prepared.delete(key); // refresh its place in the LRU order
    prepared.set(key, hit);
    return hit;
  }
  if (!measureBundle) throw new UnknownMeasureError(key);
  return prepareMeasure(key ?? `anonymous-${prepared.size}`, measureBundle);
}

export function preparedKeys() {
  return [...prepared.keys()];
}

// ---- patient sources: the FHIR 4.0.1 model info is parsed once, sources are reused ----------------
// QI-Core measures (libraries `using QICore`) get sources whose patients also answer QICore retrieves.

const idleSources = { fhir: [], qicore: [] };

function newPatientSource(kind) {
  const source = withSharedRecords(PatientSource.FHIRv401({ requireProfileTagging: false }));
  return kind === "qicore" ? withQICoreRetrieves(source) : source;
}

function takePatientSource(bundles, kind) {
  const source = idleSources[kind].pop() ?? newPatientSource(kind);
  source.reset();
  source.loadBundles(bundles);
  return source;
}

function releasePatientSource(source, kind) {
  source.reset();
  idleSources[kind].push(source);
}

// ---- calculation ---------------------------------------------------------------------------------

async function runPrepared(entry, patientBundles, { periodStart, periodEnd, includeEvaluated }) {
  const { measure, elmInfo } = entry;
  const { startCql, endCql } = getCQLIntervalEndpoints({ measurementPeriodStart: periodStart, measurementPeriodEnd: periodEnd });
  const parameters = { "Measurement Period": new Interval(startCql, endCql) };
  const library = elmInfo.rep.resolve(elmInfo.rootLibIdentifier.id, elmInfo.rootLibIdentifier.version);
  const executor = new Executor(library, elmInfo.codeService, parameters);
  const kind = entry.qicore ? "qicore" : "fhir";
  const source = takePatientSource(patientBundles, kind);
  let raw;
  try {
    const now = DateTime.fromJSDate(new Date(), 0);
    raw = entry.statements ? await execStatements(executor, entry.statements, source, now) : await executor.exec(source, now);
  } finally {
    releasePatientSource(source, kind);
  }
  return Object.keys(raw.patientResults).map((patientId) => {
    let statements = raw.patientResults[patientId];
    if (entry.qicore) {
      statements = Object.fromEntries(Object.entries(statements).map(([name, value]) => [name, fqmEpisodeView(value)]));
    }
    const groups = (measure.group ?? []).map((group, groupIndex) => ({
      groupIndex,
      ...slimGroup(createPopulationValues(measure, group, statements), group, statements),
    }));
    const evaluated = includeEvaluated ? (raw.patientEvaluatedRecords[patientId] ?? []).map((r) => reference(r._json)) : [];
    return {
      patientId,
      groups,
      evaluatedResource: [...new Set(evaluated.filter(Boolean))],
      supplementalData: supplementalValues(measure, statements),
    };
  });
}

async function runFqm(measureBundle, patientBundles, { periodStart, periodEnd, includeEvaluated }) {
  const output = await Calculator.calculate(measureBundle, patientBundles, {
    measurementPeriodStart: periodStart,
    measurementPeriodEnd: periodEnd,
    calculateSDEs: false,
    calculateHTML: false,
    calculateClauseCoverage: false,
    calculateClauseUncoverage: false,
    calculateCoverageDetails: false,
    buildStatementLevelHTML: false,
    verboseCalculationResults: includeEvaluated,
    trustMetaProfile: false,
    useElmJsonsCaching: false,
  });
  const measure = MeasureBundleHelpers.extractMeasureFromBundle(measureBundle);
  return output.results.map((r) => ({
    patientId: r.patientId,
    groups: (r.detailedResults ?? []).map((g, groupIndex) => ({ groupIndex, ...slimGroup(g, measure.group?.[groupIndex], null) })),
    evaluatedResource: includeEvaluated ? [...new Set((r.evaluatedResource ?? []).map(reference).filter(Boolean))] : [],
  }));
}

/**
 * Run the measure over the patient bundles. The measure is the one prepared under `measureKey`, or
 * `measureBundle` (prepared now, and kept under `measureKey`). `engine: "fqm"` runs the stock
 * `Calculator.calculate` on `measureBundle` instead (nothing prepared or kept). Returns one slim result per patient:
 * {patientId, groups: [...], evaluatedResource: ["Type/id", ...]}.
 */
export async function calculate({ measureKey, measureBundle, patientBundles, periodStart, periodEnd, includeEvaluated = true, engine = "prepared" }) {
  const options = { periodStart, periodEnd, includeEvaluated };
  if (engine === "fqm") {
    if (!measureBundle) throw new Error('engine "fqm" needs the measure bundle');
    if (!patientBundles?.length) return [];
    try {
      return await runFqm(measureBundle, patientBundles, options);
    } catch (e) {
      throw new CalculationError(e, libraryVersions(measureBundle));
    }
  }
  const entry = preparedMeasure(measureKey, measureBundle);
  if (!patientBundles?.length) return [];
  try {
    return await (entry.composite ? runFqm(entry.measureBundle, patientBundles, options) : runPrepared(entry, patientBundles, options));
  } catch (e) {
    throw new CalculationError(e, entry.versions);
  }
}
