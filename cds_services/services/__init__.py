"""One module per CDS service."""
