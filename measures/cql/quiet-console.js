// Imported first by worker.js: stdout carries the JSON-lines protocol only, so every console
// method (including the translator's kotlin-logging start-up line) writes to stderr.
for (const method of ["log", "info", "warn", "debug", "trace"]) {
  console[method] = (...args) => console.error(...args);
}
