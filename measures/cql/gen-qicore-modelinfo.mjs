// Generates modelinfo/qicore-modelinfo-4.1.1.xml: MedQC's QI-Core 4.1.1 model info.
// No registry package ships one. QI-Core profiles constrain FHIR R4 resources without changing their
// structure, and the QI-Core model info the eCQM libraries (QICoreCommon, CQMCommon, ...) are written
// against types elements with CQL System types. So each FHIR 4.0.1 class (from the model info shipped
// by cql-exec-fhir) becomes a QICore class with the same elements, retyped by `systemType` below:
// FHIR primitives and code enumerations -> their System value type, Coding -> System.Code,
// CodeableConcept -> System.Concept, Quantity (and Age, Duration, ...) -> System.Quantity,
// Period -> Interval<System.DateTime>, Range -> Interval<System.Quantity>, Ratio -> System.Ratio; other
// complex types -> the QICore class of the same name. Retrievable resources are identified by their
// QI-Core profile URL (qicore-<type>); QI-Core's "not requested" negation profiles are added, and
// Patient gets US Core race and ethnicity. The worker's QI-Core data source (qicore-source.js) maps
// FHIR JSON to these types with the same `systemType` rules.
// Run: node gen-qicore-modelinfo.mjs   (the output is committed; tests check it is up to date)
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const fhirModelInfoPath = require.resolve("cql-exec-fhir/lib/modelInfos/fhir-modelinfo-4.0.1.xml");

export const QICORE_URL = "http://hl7.org/fhir/us/qicore";
export const QICORE_SD = `${QICORE_URL}/StructureDefinition/`;

// QI-Core 4.1.1 negation profiles: [class name, base resource, profile id, primaryCodePath].
export const NEGATION_PROFILES = [
  ["MedicationNotRequested", "MedicationRequest", "qicore-mednotrequested", "medication"],
  ["ServiceNotRequested", "ServiceRequest", "qicore-servicenotrequested", "code"],
  ["DeviceNotRequested", "DeviceRequest", "qicore-devicenotrequested", "code"],
];

const QUANTITIES = new Set(["Quantity", "Age", "Duration", "Count", "Distance", "SimpleQuantity", "MoneyQuantity"]);

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([A-Za-z:]+)="([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

/** FHIR class infos by name: {name, attrs, body, base, valueType}. */
export function fhirClasses(fhirXml) {
  const classes = new Map();
  for (const m of fhirXml.matchAll(/<typeInfo\b([^>]*?)(\/>|>([\s\S]*?)<\/typeInfo>)/g)) {
    const a = attrs(m[1]);
    if (a.namespace !== "FHIR" || a["xsi:type"] !== "ClassInfo") continue;
    const body = m[3] ?? "";
    const value = /<element name="value" elementType="(System\.[A-Za-z]+)"\/>/.exec(body);
    const elementCount = (body.match(/<element /g) ?? []).length;
    classes.set(a.name, { name: a.name, attrs: a, body, base: a.baseType ?? null, valueType: value && elementCount === 1 ? value[1] : null });
  }
  return classes;
}

/**
 * The QICore type of a FHIR type name (without "FHIR."): {kind: "named", name} or
 * {kind: "interval", point}.
 */
export function systemType(fhirName, classes) {
  if (fhirName === "Coding") return { kind: "named", name: "System.Code" };
  if (fhirName === "CodeableConcept") return { kind: "named", name: "System.Concept" };
  if (QUANTITIES.has(fhirName)) return { kind: "named", name: "System.Quantity" };
  if (fhirName === "Period") return { kind: "interval", point: "System.DateTime" };
  if (fhirName === "Range") return { kind: "interval", point: "System.Quantity" };
  if (fhirName === "Ratio") return { kind: "named", name: "System.Ratio" };
  // primitives (dateTime, code, ...) and code enumerations (EncounterStatus, ...): their value type
  for (let c = classes.get(fhirName); c; c = c.base?.startsWith("FHIR.") ? classes.get(c.base.slice(5)) : null) {
    if (c.valueType && (/^[a-z]/.test(fhirName) || c.base === "FHIR.Element")) return { kind: "named", name: c.valueType };
    if (!/^[a-z]/.test(fhirName)) break;
  }
  return { kind: "named", name: `QICore.${fhirName}` };
}

function typeName(fqn, classes) {
  return fqn.startsWith("FHIR.") ? systemType(fqn.slice(5), classes) : { kind: "named", name: fqn };
}

function specifierXml(t, tag = "elementTypeSpecifier") {
  return t.kind === "interval"
    ? `<${tag} xsi:type="IntervalTypeSpecifier" pointType="${t.point}"/>`
    : `<${tag} xsi:type="NamedTypeSpecifier" namespace="${t.name.split(".")[0]}" name="${t.name.split(".").slice(1).join(".")}"/>`;
}

function elementXml(name, t) {
  return t.kind === "interval"
    ? `      <element name="${name}">\n         ${specifierXml(t)}\n      </element>`
    : `      <element name="${name}" elementType="${t.name}"/>`;
}

function listElementXml(name, t) {
  const inner = t.kind === "interval" ? `\n            ${specifierXml(t)}\n         ` : "";
  const attr = t.kind === "interval" ? "" : ` elementType="${t.name}"`;
  return `      <element name="${name}">\n         <elementTypeSpecifier xsi:type="ListTypeSpecifier"${attr}${inner ? `>${inner}</elementTypeSpecifier>` : "/>"}\n      </element>`;
}

function rewriteElements(body, classes) {
  const out = [];
  for (const m of body.matchAll(/<element name="([^"]+)"(?: elementType="([^"]+)")?\s*(\/>|>([\s\S]*?)<\/element>)/g)) {
    const [, name, elementType, , inner] = m;
    if (elementType) {
      out.push(elementXml(name, typeName(elementType, classes)));
      continue;
    }
    const list = /<elementTypeSpecifier elementType="([^"]+)" xsi:type="ListTypeSpecifier"\/>/.exec(inner ?? "");
    if (list) {
      out.push(listElementXml(name, typeName(list[1], classes)));
      continue;
    }
    const nested = /xsi:type="ListTypeSpecifier">\s*<elementTypeSpecifier namespace="([^"]+)" name="([^"]+)" xsi:type="NamedTypeSpecifier"\/>/.exec(inner ?? "");
    if (nested) {
      out.push(listElementXml(name, typeName(`${nested[1]}.${nested[2]}`, classes)));
      continue;
    }
    if (/ChoiceTypeSpecifier/.test(inner ?? "")) {
      const seen = new Set();
      const choices = [];
      for (const c of inner.matchAll(/<choice namespace="([^"]+)" name="([^"]+)"/g)) {
        const t = typeName(`${c[1]}.${c[2]}`, classes);
        const key = JSON.stringify(t);
        if (!seen.has(key)) {
          seen.add(key);
          choices.push(`            ${specifierXml(t, "choice")}`);
        }
      }
      out.push(`      <element name="${name}">\n         <elementTypeSpecifier xsi:type="ChoiceTypeSpecifier">\n${choices.join("\n")}\n         </elementTypeSpecifier>\n      </element>`);
      continue;
    }
    throw new Error(`unhandled element ${name}: ${inner}`);
  }
  return out;
}

// US Core race and ethnicity on QI-Core Patient (as SupplementalDataElements uses them).
const PATIENT_EXTRA = [
  '      <element name="race" elementType="QICore.USCoreRace"/>',
  '      <element name="ethnicity" elementType="QICore.USCoreEthnicity"/>',
];
const EXTENSION_TYPES = `   <typeInfo xsi:type="ClassInfo" namespace="QICore" name="USCoreRace" baseType="QICore.Element" retrievable="false">
${listElementXml("ombCategory", { kind: "named", name: "System.Code" })}
${listElementXml("detailed", { kind: "named", name: "System.Code" })}
      <element name="text" elementType="System.String"/>
   </typeInfo>
   <typeInfo xsi:type="ClassInfo" namespace="QICore" name="USCoreEthnicity" baseType="QICore.Element" retrievable="false">
      <element name="ombCategory" elementType="System.Code"/>
${listElementXml("detailed", { kind: "named", name: "System.Code" })}
      <element name="text" elementType="System.String"/>
   </typeInfo>`;

/** The QICore classes: [{name, base, identifier?, retrievable, primaryCodePath?, elements: [xml]}]. */
export function qicoreClasses(fhirXml) {
  const classes = fhirClasses(fhirXml);
  const out = [];
  for (const c of classes.values()) {
    const t = systemType(c.name, classes);
    if (t.kind !== "named" || t.name !== `QICore.${c.name}`) continue; // mapped to a System type
    const retrievable = c.attrs.retrievable === "true";
    const elements = rewriteElements(c.body, classes);
    if (c.name === "Patient") elements.push(...PATIENT_EXTRA);
    out.push({
      name: c.name,
      base: c.base ? typeName(c.base, classes).name : null,
      identifier: retrievable ? `${QICORE_SD}qicore-${c.name.toLowerCase()}` : null,
      retrievable,
      primaryCodePath: c.attrs.primaryCodePath ?? null,
      elements,
    });
  }
  for (const [name, base, id, primaryCodePath] of NEGATION_PROFILES) {
    out.push({ name, base: `QICore.${base}`, identifier: `${QICORE_SD}${id}`, retrievable: true, primaryCodePath, elements: [] });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function typeInfoXml(c) {
  const parts = [`xsi:type="ClassInfo"`, `namespace="QICore"`, `name="${c.name}"`];
  if (c.base) parts.push(`baseType="${c.base}"`);
  if (c.identifier) parts.push(`identifier="${c.identifier}"`, `label="${c.name}"`);
  parts.push(`retrievable="${c.retrievable}"`);
  if (c.primaryCodePath) parts.push(`primaryCodePath="${c.primaryCodePath}"`);
  const open = `   <typeInfo ${parts.join(" ")}`;
  return c.elements.length ? `${open}>\n${c.elements.join("\n")}\n   </typeInfo>` : `${open}/>`;
}

export function generate(fhirXml) {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!--
  MedQC's QI-Core 4.1.1 model info, generated by gen-qicore-modelinfo.mjs from the FHIR 4.0.1 model
  info shipped by cql-exec-fhir; do not edit by hand. QICore classes have the FHIR R4 structure with
  elements retyped to CQL System types; retrievable classes are identified by QI-Core profile URLs.
-->
<modelInfo xmlns="urn:hl7-org:elm-modelinfo:r1" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" name="QICore" version="4.1.1" url="${QICORE_URL}" targetQualifier="qicore" patientClassName="QICore.Patient" patientBirthDatePropertyName="birthDate">
   <requiredModelInfo name="System" version="1.0.0"/>
${qicoreClasses(fhirXml).map(typeInfoXml).join("\n")}
${EXTENSION_TYPES}
   <contextInfo name="Patient" keyElement="id" birthDateElement="birthDate">
      <contextType namespace="QICore" name="Patient"/>
   </contextInfo>
</modelInfo>
`;
}

export function fhirModelInfoXml() {
  return readFileSync(fhirModelInfoPath, "utf8");
}

export const OUTPUT = path.join(here, "modelinfo", "qicore-modelinfo-4.1.1.xml");

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(OUTPUT, generate(fhirModelInfoXml()));
  console.error(`wrote ${OUTPUT}`);
}
