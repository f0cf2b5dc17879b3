"""Background jobs: sync, outbox and clean-ups, embedded in the web processes or on an RQ queue
with any number of workers (see background.py and docs/deployment.md)."""
