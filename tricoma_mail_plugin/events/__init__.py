"""Events: what happened to mail, recorded in the transaction of the change and delivered to the
plugins' hooks after the commit, at least once (an outbox of events)."""
