"""tricoma mail orders: order confirmations by e-mail, for a small order app in the host.

Core's record kit does the work (customers, orders and their lines, the confirmation PDF, the
mail templates, "Send by e-mail", the mail history); an order differs from an invoice in its
words, found in ``translations/``, and in promising a delivery a week after the order date.
"""
import os

from tricoma_mail_plugin import RecordApp, RecordDates, RecordKind

__version__ = "0.1.0"

ORDERS = RecordApp(RecordKind(
    "order", "orders", os.path.dirname(os.path.abspath(__file__)), menu_order=30,
    dates=RecordDates(dated="ordered_on", promised="delivery_on", promised_value="delivery_date", days=7),
))
globals().update(ORDERS.hookimpls())  # every hook of a record app, under this plugin's name
