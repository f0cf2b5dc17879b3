"""Moving an external (v1) mailbox into a hosted (v2) one: ``copy_service.move_mailbox``."""
