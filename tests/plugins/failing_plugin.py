"""A test plugin whose navigation hook always raises."""
from tricoma_mail_plugin import hookimpl


@hookimpl
def tricoma_mail_menu_items(user):
    raise RuntimeError("failing_plugin cannot build its menu")
