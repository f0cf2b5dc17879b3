"""tricoma mail plugin: the v2 interface for hosted mailboxes.

Three panes, conversations, live updates pushed over IMAP IDLE and server-sent events, drag and
drop, keyboard shortcuts. A mailbox opens here when it is marked as v2 (``marks.py``; the hosting
portal's import marks its mailboxes, an admin may mark any with ``flask v2-hosted mark``); every
other mailbox keeps the interface its backend chose.
"""
import os

from tricoma_mail_plugin import MigrationSet, hookimpl

from . import cli  # noqa: F401 - registers the ``flask v2-hosted`` commands on the blueprint
from .marks import is_v2
from .tables import metadata
from .views import api, client_url, pages

__version__ = "0.1.0"


@hookimpl
def tricoma_mail_register_blueprints():
    return [pages, api]


@hookimpl
def tricoma_mail_register_migrations():
    return [MigrationSet(metadata, os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations", "versions"))]


@hookimpl
def tricoma_mail_mailbox_client(mailbox):
    return client_url(mailbox.id) if is_v2(mailbox.id) else None
