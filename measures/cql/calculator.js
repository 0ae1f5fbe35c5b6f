// Measure calculation with fqm-execution 1.8.6 over many patient bundles in one call.
import { Calculator } from "fqm-execution";

function reference(resource) {
  return resource && resource.resourceType && resource.id ? `${resource.resourceType}/${resource.id}` : null;
}

function slimGroup(group) {
  return {
    groupId: group.groupId,
    populationResults: (group.populationResults ?? []).map(slimPopulation),
    episodeResults: (group.episodeResults ?? []).map((ep) => ({
      episodeId: ep.episodeId,
      populationResults: (ep.populationResults ?? []).map(slimPopulation),
      stratifierResults: (ep.stratifierResults ?? []).map(slimStratum),
    })),
    stratifierResults: (group.stratifierResults ?? []).map(slimStratum),
  };
}

function slimPopulation(p) {
  return {
    populationId: p.populationId ?? null,
    populationType: p.populationType,
    criteriaExpression: p.criteriaExpression ?? null,
    result: Boolean(p.result),
  };
}

function slimStratum(s) {
  return {
    strataId: s.strataId ?? null,
    strataCode: s.strataCode ?? null,
    result: Boolean(s.result),
    appliesResult: s.appliesResult ?? null,
  };
}

/** Library versions by name, from the measure bundle, to annotate engine errors. */
function libraryVersions(measureBundle) {
  const versions = {};
  for (const entry of measureBundle.entry ?? []) {
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

/**
 * Run the measure over the patient bundles. Returns one slim result per patient:
 * {patientId, groups: [...], evaluatedResource: ["Type/id", ...]}.
 */
export async function calculate(measureBundle, patientBundles, { periodStart, periodEnd, includeEvaluated = true } = {}) {
  const options = {
    measurementPeriodStart: periodStart,
    measurementPeriodEnd: periodEnd,
    calculateSDEs: false,
    calculateHTML: false,
    calculateClauseCoverage: false,
    calculateClauseUncoverage: false,
    calculateCoverageDetails: false,
    buildStatementLevelHTML: false,
    // fqm prunes evaluatedResource from non-verbose results: verbose only when evidence is wanted.
    verboseCalculationResults: includeEvaluated,
    trustMetaProfile: false,
    useElmJsonsCaching: false,
  };
  let output;
  try {
    output = await Calculator.calculate(measureBundle, patientBundles, options);
  } catch (e) {
    throw new CalculationError(e, libraryVersions(measureBundle));
  }
  return output.results.map((r) => ({
    patientId: r.patientId,
    groups: (r.detailedResults ?? []).map(slimGroup),
    evaluatedResource: includeEvaluated ? [...new Set((r.evaluatedResource ?? []).map(reference).filter(Boolean))] : [],
  }));
}
