"""Business records: references, links between mail and records, mail templates."""
