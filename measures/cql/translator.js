// CQL -> ELM translation with @cqframework/cql 5.3.0 (Kotlin-multiplatform build of the reference translator).
// Model infos: MedQC's own System and QI-Core 4.1.1 model infos + the FHIR 4.0.1 model info shipped by
// cql-exec-fhir.
// Library sources: the caller's CQL texts + MedQC's FHIRHelpers 4.0.1.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CqlTranslator,
  LibraryManager,
  ModelManager,
  createLibrarySourceProvider,
  createModelInfoProvider,
  stringAsSource,
} from "@cqframework/cql/cql-to-elm";
import { ucumService } from "./ucum.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

const MODEL_INFOS = {
  "System@1.0.0": readFileSync(path.join(here, "modelinfo", "system-modelinfo.xml"), "utf8"),
  "FHIR@4.0.1": readFileSync(require.resolve("cql-exec-fhir/lib/modelInfos/fhir-modelinfo-4.0.1.xml"), "utf8"),
  // MedQC's own QI-Core 4.1.1 model info (gen-qicore-modelinfo.mjs): FHIR R4 classes, System-typed elements.
  "QICore@4.1.1": readFileSync(path.join(here, "modelinfo", "qicore-modelinfo-4.1.1.xml"), "utf8"),
};
const DEFAULT_MODEL_VERSION = { System: "1.0.0", FHIR: "4.0.1", QICore: "4.1.1" };

const BUILTIN_LIBRARIES = {
  "FHIRHelpers@4.0.1": readFileSync(path.join(here, "cql", "FHIRHelpers-4.0.1.cql"), "utf8"),
};

const HEADER_RE = /^\s*library\s+(?:"([^"]+)"|([A-Za-z_][A-Za-z0-9_]*))(?:\s+version\s+'([^']*)')?/m;

/** Name and version declared by a CQL text's `library` header, or nulls. */
export function libraryHeader(cql) {
  const m = HEADER_RE.exec(cql.replace(/\/\*[\s\S]*?\*\//g, (s) => s.replace(/[^\n]/g, " ")).replace(/\/\/[^\n]*/g, ""));
  return m ? { name: m[1] ?? m[2], version: m[3] ?? null } : { name: null, version: null };
}

// Model infos are immutable: one ModelManager for the whole worker.
const modelManager = new ModelManager();
modelManager.modelInfoLoader.registerModelInfoProvider(
  createModelInfoProvider((id, _system, version) => {
    const xml = MODEL_INFOS[`${id}@${version ?? DEFAULT_MODEL_VERSION[id]}`];
    return xml ? stringAsSource(xml) : null;
  }),
  true,
);

function sourceProvider(texts) {
  return createLibrarySourceProvider((id, _system, version) => {
    const exact = texts.get(`${id}@${version}`) ?? BUILTIN_LIBRARIES[`${id}@${version}`];
    const text = exact ?? (version == null ? texts.get(`${id}@`) : undefined);
    return text == null ? null : stringAsSource(text);
  });
}

function errorsOf(elm) {
  const annotations = elm?.library?.annotation ?? [];
  return annotations
    .filter((a) => a.type === "CqlToElmError")
    .map((a) => ({
      message: a.message,
      severity: (a.errorSeverity ?? "error").toLowerCase(),
      errorType: a.errorType ?? null,
      library: a.libraryId ?? null,
      version: a.libraryVersion ?? null,
      line: a.startLine ?? null,
      column: a.startChar ?? null,
      endLine: a.endLine ?? null,
      endColumn: a.endChar ?? null,
    }));
}

/**
 * Translate each CQL text to ELM JSON. Texts may include each other (and FHIRHelpers 4.0.1).
 * Returns [{name, version, elm, errors: [...]}] in input order.
 */
export function translate(cqlTexts) {
  const texts = new Map();
  for (const cql of cqlTexts) {
    const { name, version } = libraryHeader(cql);
    if (name) texts.set(`${name}@${version ?? ""}`, cql);
  }
  return cqlTexts.map((cql) => {
    const libraryManager = new LibraryManager(modelManager, undefined, undefined, ucumService);
    libraryManager.librarySourceLoader.registerProvider(sourceProvider(texts));
    const { name, version } = libraryHeader(cql);
    let elm = null;
    let errors;
    try {
      const translator = CqlTranslator.fromText(cql, libraryManager);
      elm = JSON.parse(translator.toJson());
      errors = errorsOf(elm);
    } catch (e) {
      errors = [{ message: String(e?.message ?? e), severity: "error", errorType: "internal", library: name, version, line: null, column: null, endLine: null, endColumn: null }];
    }
    return { name, version, elm, errors };
  });
}
