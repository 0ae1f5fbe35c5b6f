// QI-Core 4.1.1 data for cql-execution: FHIR R4 JSON seen through MedQC's QI-Core model info
// (gen-qicore-modelinfo.mjs). Records are FHIR resources whose elements are converted to the CQL
// System types the model info declares, by the same rules (`systemType`): primitives and code
// enumerations -> System values, Coding -> Code, CodeableConcept -> Concept, Quantity family ->
// Quantity, Period -> Interval<DateTime>, Range -> Interval<Quantity>, Ratio -> Ratio, other complex
// types -> nested records. Retrieves of a QICore type return the resources of its FHIR resource type
// that conform to the QI-Core profile: the ones that declare it in meta.profile, or, for resources
// that declare no QI-Core profile, by the profile's constraint (negation profiles: doNotPerform).
// The patient source itself is cql-exec-fhir's (FHIR 4.0.1), so FHIR-model libraries still work.
import { createRequire } from "node:module";
import { Code, Concept, DateTime, Interval, Quantity, Ratio } from "cql-execution";
import { NEGATION_PROFILES, QICORE_SD, QICORE_URL, fhirClasses, fhirModelInfoXml, systemType } from "./gen-qicore-modelinfo.mjs";

const require = createRequire(import.meta.url);
const load = require("cql-exec-fhir/lib/load");

const FHIR_XML = fhirModelInfoXml();
const FHIR_MODEL = load(FHIR_XML);
const FHIR_CLASSES = fhirClasses(FHIR_XML);
const QICORE_NS = `{${QICORE_URL}}`;
const UCUM = "http://unitsofmeasure.org";
const US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race";
const US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity";

// Retrievable QICore classes by name: {name, resourceType, identifier, negation, hasNegation}.
const RETRIEVABLE = new Map();
for (const c of FHIR_CLASSES.values()) {
  if (c.attrs.retrievable === "true") {
    RETRIEVABLE.set(c.name, { name: c.name, resourceType: c.name, identifier: `${QICORE_SD}qicore-${c.name.toLowerCase()}`, negation: false });
  }
}
for (const [name, base, id] of NEGATION_PROFILES) {
  RETRIEVABLE.set(name, { name, resourceType: base, identifier: `${QICORE_SD}${id}`, negation: true });
  RETRIEVABLE.get(base).hasNegation = true;
}

const systemTypes = new Map();
function systemTypeOf(fhirName) {
  let t = systemTypes.get(fhirName);
  if (!t) {
    t = systemType(fhirName, FHIR_CLASSES);
    systemTypes.set(fhirName, t);
  }
  return t;
}

function toCode(c) {
  return c == null ? null : new Code(c.code ?? null, c.system ?? null, c.version ?? null, c.display ?? null);
}

function toQuantity(q) {
  if (q == null || q.value == null) return null;
  if (q.comparator != null) return null; // FHIRHelpers: a comparator makes the value not a point
  const unit = q.system === UCUM || q.system == null ? (q.code ?? q.unit ?? "1") : (q.unit ?? q.code ?? "1");
  try {
    return new Quantity(q.value, unit);
  } catch {
    return null; // not a UCUM unit cql-execution can represent
  }
}

function toDateTime(s) {
  return typeof s === "string" ? DateTime.parse(s.replace("Z", "+00:00")) : null;
}

function toSystem(value, systemName) {
  if (value == null) return null;
  switch (systemName) {
    case "System.DateTime":
      return toDateTime(value);
    case "System.Date": {
      const dt = DateTime.parse(value);
      return dt == null ? null : dt.getDate();
    }
    case "System.Time": {
      const t = DateTime.parse(`0000-01-01T${String(value).replace("Z", "+00:00")}`);
      if (t) t.timezoneOffset = null;
      return t;
    }
    default:
      return value; // String, Boolean, Integer, Decimal
  }
}

function convertNamed(value, fhirName) {
  if (value == null) return null;
  switch (fhirName) {
    case "Coding":
      return toCode(value);
    case "CodeableConcept":
      return new Concept((value.coding ?? []).map(toCode), value.text ?? null);
    case "Period": {
      // FHIRHelpers.ToInterval(Period): open (unknown) start when absent, closed otherwise
      const start = toDateTime(value.start);
      return new Interval(start, toDateTime(value.end), value.start != null, true);
    }
    case "Range":
      return new Interval(toQuantity(value.low), toQuantity(value.high), true, true);
    case "Ratio":
      return new Ratio(toQuantity(value.numerator), toQuantity(value.denominator));
    default: {
      const t = systemTypeOf(fhirName);
      if (t.name === "System.Quantity") return toQuantity(value);
      if (t.name.startsWith("System.")) return toSystem(value, t.name);
      return new QICoreRecord(value, fhirName, fhirName);
    }
  }
}

function convert(value, spec) {
  if (value == null) return null;
  if (spec.isList) return (Array.isArray(value) ? value : [value]).map((v) => convertNamed(v, spec.elementType.name));
  return convertNamed(value, spec.name);
}

function capitalised(name) {
  return name[0].toUpperCase() + name.slice(1);
}

function extensionCodes(ext, url) {
  return (ext.extension ?? []).filter((e) => e.url === url).map((e) => toCode(e.valueCoding));
}

/** US Core race / ethnicity extension on a Patient as {ombCategory, detailed, text}. */
function usCoreCategory(json, url, singleOmb) {
  const ext = (json.extension ?? []).find((e) => e.url === url);
  if (!ext) return null;
  const omb = extensionCodes(ext, "ombCategory");
  const text = (ext.extension ?? []).find((e) => e.url === "text")?.valueString ?? null;
  return { ombCategory: singleOmb ? (omb[0] ?? null) : omb, detailed: extensionCodes(ext, "detailed"), text };
}

function elementNames(fhirClass) {
  const names = new Set();
  for (let c = fhirClass; c != null; c = c.baseTypeSpecifier ? FHIR_MODEL.findClass(c.baseTypeSpecifier.fqn) : null) {
    for (const e of c.elements) names.add(e.name);
  }
  return names;
}

const elementNamesByClass = new Map();

/** A FHIR JSON object viewed as an instance of a QICore class (elements as CQL System values). */
export class QICoreRecord {
  constructor(json, fhirName, qicoreName) {
    const fhirClass = FHIR_MODEL.findClass(`FHIR.${fhirName}`);
    Object.defineProperties(this, {
      _json: { value: json, enumerable: false },
      _fhirName: { value: fhirName, enumerable: false },
      _qicoreName: { value: qicoreName, enumerable: false },
      _fhirClass: { value: fhirClass, enumerable: false },
    });
    let names = elementNamesByClass.get(fhirName);
    if (!names) {
      names = fhirClass ? elementNames(fhirClass) : new Set();
      if (fhirName === "Patient") names.add("race").add("ethnicity");
      elementNamesByClass.set(fhirName, names);
    }
    for (const name of names) {
      Object.defineProperty(this, name, { get: () => this.get(name), enumerable: true });
    }
  }

  get(path) {
    const [root, ...rest] = path.split(".");
    let value = this._element(root);
    for (const part of rest) {
      if (value == null) return value;
      value = value.get ? value.get(part) : value[part];
    }
    return value;
  }

  _element(name) {
    const json = this._json;
    if (this._fhirName === "Patient" && (name === "race" || name === "ethnicity")) {
      return name === "race" ? usCoreCategory(json, US_CORE_RACE, false) : usCoreCategory(json, US_CORE_ETHNICITY, true);
    }
    const element = this._fhirClass?.findElement(name);
    if (element == null) return undefined;
    const spec = element.typeSpecifier;
    if (spec.isChoice) {
      for (const choice of spec.choices) {
        const key = `${name}${capitalised(choice.name)}`;
        if (json[key] !== undefined) return convertNamed(json[key], choice.name);
      }
      return null;
    }
    return convert(json[name], spec);
  }

  getId() {
    return this._json.id;
  }

  getCode(path) {
    return this.get(path);
  }

  getDate(path) {
    return this.get(path);
  }

  getDateOrInterval(path) {
    return this.get(path);
  }

  _typeHierarchy() {
    const names = [this._qicoreName];
    for (let c = this._fhirClass; c != null; c = c.baseTypeSpecifier ? FHIR_MODEL.findClass(c.baseTypeSpecifier.fqn) : null) {
      if (!names.includes(c.name)) names.push(c.name);
    }
    return [
      ...names.map((n) => ({ name: `${QICORE_NS}${n}`, type: "NamedTypeSpecifier" })),
      { name: "{urn:hl7-org:elm-types:r1}Any", type: "NamedTypeSpecifier" },
    ];
  }

  _is(typeSpecifier) {
    return this._typeHierarchy().some((t) => t.type === typeSpecifier.type && t.name === typeSpecifier.name);
  }
}

function conforms(resource, cls) {
  const declared = (resource.meta?.profile ?? []).filter((p) => p.startsWith(QICORE_SD));
  if (declared.length > 0) return declared.some((p) => p === cls.identifier || p.startsWith(`${cls.identifier}|`));
  if (cls.negation) return resource.doNotPerform === true;
  if (cls.hasNegation) return resource.doNotPerform !== true;
  return true;
}

/** Records of QICore type `name` in a patient bundle. */
function qicoreRecords(bundle, name) {
  const cls = RETRIEVABLE.get(name);
  if (!cls) return [];
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r) => r?.resourceType === cls.resourceType && conforms(r, cls))
    .map((r) => new QICoreRecord(r, cls.resourceType, cls.name));
}

/** Make a cql-exec-fhir FHIR 4.0.1 patient source's patients also answer QICore retrieves. */
export function withQICoreRetrieves(source) {
  const current = source.currentPatient.bind(source);
  source.currentPatient = () => {
    const patient = current();
    if (patient == null) return patient;
    const fhirFindRecords = patient.findRecords.bind(patient);
    patient.findRecords = (profile, retrieveDetails) => {
      const datatype = retrieveDetails?.datatype ?? profile;
      if (typeof datatype === "string" && datatype.startsWith(QICORE_NS)) {
        return qicoreRecords(patient._bundle, datatype.slice(QICORE_NS.length));
      }
      return fhirFindRecords(profile, retrieveDetails);
    };
    return patient;
  };
  return source;
}

/** fqm-execution reads episode ids as `resource.id.value` (FHIR-typed): give QICore records that shape. */
export function fqmEpisodeView(value) {
  if (Array.isArray(value)) return value.map(fqmEpisodeView);
  if (value instanceof QICoreRecord) return { id: { value: value.getId() }, _json: value._json };
  return value;
}

export function usesQICore(elmJSONs) {
  return elmJSONs.some((elm) => (elm.library?.usings?.def ?? []).some((u) => u.uri === QICORE_URL));
}
