"""Regional reporting (DEQM): summary MeasureReports shaped for the regional quality-control platform,
the submission client (SMART Backend Services, retries, a ledger) and the receiving side's key."""
