"""CLI command implementations (registered on the Typer app in medqc/cli.py)."""
