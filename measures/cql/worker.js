// MedQC CQL worker: one long-lived process speaking JSON lines on stdin/stdout.
// Request:  {"id": "...", "op": "ping" | "translate" | "calculate", ...}
// Response: {"id": "...", "ok": true, "result": ...} or {"id": "...", "ok": false, "error": {...}}
//   translate: {"cql": ["library A ...", ...]}  -> [{name, version, elm, errors}]
//   calculate: {"measureKey": "<content hash>", "measureBundle"?: Bundle, "patientBundles": [Bundle...],
//               "periodStart", "periodEnd", "includeEvaluated", "engine"?: "prepared" | "fqm"}
//               -> [{patientId, groups, evaluatedResource}]
//     The measure bundle is prepared once per key and kept: later calls send only the key. A key
//     this process does not hold answers {"ok": false, "error": {"code": "unknown-measure", ...}}.
//   prepared: {} -> [key, ...] (the measure bundles this process holds)
import "./quiet-console.js";
import { createInterface } from "node:readline";
import { translate } from "./translator.js";
import { calculate, preparedKeys } from "./calculator.js";

const out = process.stdout;

function reply(message) {
  out.write(`${JSON.stringify(message)}\n`);
}

async function handle(request) {
  switch (request.op) {
    case "ping":
      return { pong: true, pid: process.pid };
    case "translate":
      return translate(request.cql ?? []);
    case "calculate":
      return calculate({
        measureKey: request.measureKey ?? null,
        measureBundle: request.measureBundle ?? null,
        patientBundles: request.patientBundles ?? [],
        periodStart: request.periodStart,
        periodEnd: request.periodEnd,
        includeEvaluated: request.includeEvaluated ?? true,
        engine: request.engine ?? "prepared",
      });
    case "prepared":
      return preparedKeys();
    default:
      throw new Error(`unknown op: ${request.op}`);
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
let pending = 0;
let closed = false;
function maybeExit() {
  if (closed && pending === 0) process.exit(0);
}

rl.on("line", async (line) => {
  if (!line.trim()) return;
  pending += 1;
  try {
    await serve(line);
  } finally {
    pending -= 1;
    maybeExit();
  }
});

async function serve(line) {
  let request;
  try {
    request = JSON.parse(line);
  } catch (e) {
    reply({ id: null, ok: false, error: { kind: "protocol", message: `bad JSON: ${e.message}` } });
    return;
  }
  try {
    reply({ id: request.id, ok: true, result: await handle(request) });
  } catch (e) {
    const detail = e?.detail ?? { message: String(e?.message ?? e) };
    reply({ id: request.id, ok: false, error: { kind: request.op ?? "unknown", ...detail } });
  }
}

rl.on("close", () => {
  closed = true;
  maybeExit();
});
