"""orders: the customer, order, line and mail template tables of the order app.

Revision ID: orders_0001
"""
from tricoma_mail_plugin import record_tables_migration

revision = "orders_0001"
down_revision = depends_on = None
branch_labels = ("orders",)
upgrade, downgrade = record_tables_migration(plural="orders", name="order", dates=("ordered_on", "delivery_on"))
