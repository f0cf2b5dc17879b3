"""Mailboxes: the backend contract and registry, settings, connection tests, folders and their roles."""
