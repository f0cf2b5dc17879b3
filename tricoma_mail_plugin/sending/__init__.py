"""Everything that leaves: the outbox, SMTP, system mail, sending on behalf of apps."""
