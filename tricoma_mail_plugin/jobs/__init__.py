"""Background work: sync and outbox workers."""
