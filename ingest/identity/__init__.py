"""ingest/identity."""
