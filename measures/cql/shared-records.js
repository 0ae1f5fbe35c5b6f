// cql-exec-fhir builds a fresh wrapper (a FHIRObject, with a getter defined per element of its type)
// for every resource of the retrieved type on every retrieve, and for every element on every access.
// A disease library retrieves Observations once per fact code and value set, so one stay's facts were
// wrapped ~20 times over, and their elements once per reference: wrapping and its garbage were more
// than half of a rating's engine time. The wrappers are read-only views of JSON that does not change
// during a calculation, so they are shared:
//   - per patient, the records of a type are wrapped once and every retrieve of that type reuses them
//     (the engine filters the returned list by code, date and profile itself);
//   - per wrapper, an element is wrapped once (`FHIRObject.get` memoized by path).

const elementCache = new WeakMap();
let memoized = false;

/** Memoize `FHIRObject.prototype.get` (once per process), found through a patient's prototype chain. */
function memoizeElements(patient) {
  if (memoized) return;
  const fhirObject = Object.getPrototypeOf(Object.getPrototypeOf(patient));
  const get = fhirObject.get;
  fhirObject.get = function memoizedGet(field) {
    let fields = elementCache.get(this);
    if (fields === undefined) {
      fields = new Map();
      elementCache.set(this, fields);
    } else if (fields.has(field)) {
      return fields.get(field);
    }
    const value = get.call(this, field);
    fields.set(field, value);
    return value;
  };
  memoized = true;
}

/** A cql-exec-fhir patient source whose patients wrap each type's records once. */
export function withSharedRecords(source) {
  const current = source.currentPatient.bind(source);
  source.currentPatient = () => {
    const patient = current();
    if (patient == null) return patient;
    memoizeElements(patient);
    const findRecords = patient.findRecords.bind(patient);
    const byType = new Map();
    patient.findRecords = (profile, retrieveDetails) => {
      const key = `${retrieveDetails?.datatype ?? ""}|${profile ?? ""}`;
      let records = byType.get(key);
      if (records === undefined) {
        records = findRecords(profile, retrieveDetails);
        byType.set(key, records);
      }
      return records.slice();
    };
    return patient;
  };
  return source;
}
