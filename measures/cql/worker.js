// MedQC CQL worker: one long-lived process speaking JSON lines on stdin/stdout.
// Request:  {"id": "...", "op": "ping" | "translate" | "calculate", ...}
// Response: {"id": "...", "ok": true, "result": ...} or {"id": "...", "ok": false, "error": {...}}
//   translate: {"cql": ["library A ...", ...]}  -> [{name, version, elm, errors}]
//   calculate: {"measureBundle": Bundle, "patientBundles": [Bundle...], "periodStart", "periodEnd",
//               "includeEvaluated"} -> [{patientId, groups, evaluatedResource}]
import "./quiet-console.js";
import { createInterface } from "node:readline";
import { translate } from "./translator.js";
import { calculate, CalculationError } from "./calculator.js";

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
      return calculate(request.measureBundle, request.patientBundles ?? [], {
        periodStart: request.periodStart,
        periodEnd: request.periodEnd,
        includeEvaluated: request.includeEvaluated ?? true,
      });
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
    const detail = e instanceof CalculationError ? e.detail : { message: String(e?.message ?? e) };
    reply({ id: request.id, ok: false, error: { kind: request.op ?? "unknown", ...detail } });
  }
}

rl.on("close", () => {
  closed = true;
  maybeExit();
});
