"""Clinical documentation integrity (CDI): gaps that matter for coding, DRG grouping and quality."""
