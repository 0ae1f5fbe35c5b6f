"""Guideline passages (YAML data) indexed by the knowledge base; see README.md here."""
