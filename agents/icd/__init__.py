"""ICD-10 (国家临床版2.0) suggestions from a record's diagnosis mentions, with the primary-diagnosis rules."""
