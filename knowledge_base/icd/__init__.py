"""国家临床版2.0 ICD-10: the code table, name normalisation, synonyms and BM25 retrieval over names."""
