"""MedQC's agent operations, one module each (``$qc-evaluate``, ``$draft-discharge-summary``,
``$cdi-review``, ``$icd-suggest``), registered by the app in :mod:`medqc.operations`."""
