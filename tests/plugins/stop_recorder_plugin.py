"""A test plugin with background work of its own: a process's graceful end stops it (it records
the grace it was given and hands back two held pieces of work)."""
from tricoma_mail_plugin import hookimpl

stopped: list[float] = []


@hookimpl
def tricoma_mail_stop_background_work(wait):
    stopped.append(wait)
    return 2
