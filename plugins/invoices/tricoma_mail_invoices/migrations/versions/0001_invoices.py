"""invoices: customers, invoices, lines, mail templates (as first created, 2026-12-10)."""
from tricoma_mail_plugin import record_tables_migration

revision, down_revision, branch_labels, depends_on = "invoices_0001", None, ("invoices",), None
upgrade, downgrade = record_tables_migration("invoices", "invoice", ("issued_on", "due_on"))
