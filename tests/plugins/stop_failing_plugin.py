"""A test plugin that fails to stop its background work."""
from tricoma_mail_plugin import hookimpl


@hookimpl
def tricoma_mail_stop_background_work(app, wait):
    raise RuntimeError("stop_failing_plugin cannot stop")
