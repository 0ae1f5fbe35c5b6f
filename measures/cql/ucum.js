// UCUM service for the translator (unit validation and conversion), backed by @lhncbc/ucum-lhc.
import ucum from "@lhncbc/ucum-lhc";
import { createUcumService } from "@cqframework/cql/cql-to-elm";

const utils = ucum.UcumLhcUtils.getInstance();

function convertUnit(fromUnit, toUnit, value) {
  const r = utils.convertUnitTo(fromUnit, Number(value), toUnit);
  if (r.status !== "succeeded") throw new Error(`cannot convert ${value} '${fromUnit}' to '${toUnit}': ${(r.msg ?? []).join("; ")}`);
  return String(r.toVal);
}

function validateUnit(unit) {
  const r = utils.validateUnitString(unit, false);
  return r.status === "valid" ? null : `invalid UCUM unit '${unit}': ${(r.msg ?? []).join("; ")}`;
}

function unsupported() {
  throw new Error("UCUM quantity multiplication/division is not folded at translation time");
}

export const ucumService = createUcumService(convertUnit, validateUnit, unsupported, unsupported);
