"""tricoma mail plugin: the v2 interface for hosted mailboxes.

Three panes, conversations, live updates pushed over IMAP IDLE and server-sent events, drag and
drop, keyboard shortcuts. A mailbox opens here when it is marked as v2 (``marks.py``; the hosting
portal's import marks its mailboxes, an admin may mark any with ``flask v2-hosted mark``); every
other mailbox keeps the interface its backend chose.
"""
import os

from flask import url_for

from tricoma_mail_plugin import MigrationSet, SettingsPanel, hookimpl

from . import cli  # noqa: F401 - registers the ``flask v2-hosted`` commands on the blueprint
from .i18n import gettext as _
from .change_feed import record_change
from .marks import is_v2
from .move import runs as move_runs
from .move_views import move_pages
from .portal_views import portal_pages
from .push.watcher import stop_embedded
from .tables import metadata
from .views import api, client_url, pages

__version__ = "0.1.0"


@hookimpl
def tricoma_mail_register_blueprints():
    return [pages, api, portal_pages, move_pages]


@hookimpl
def tricoma_mail_register_jobs():
    return move_runs.job_tasks()


@hookimpl
def tricoma_mail_register_migrations():
    return [MigrationSet(metadata, os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations", "versions"))]


@hookimpl
def tricoma_mail_stop_background_work(app, wait):
    # The embedded push watcher's IDLE connections and sync threads end with the process.
    stop_embedded(app, wait)


@hookimpl
def tricoma_mail_event(event):
    # Team mail (assignee, status, who is answering, notes, tags) changed: open pages of the
    # mailbox refresh their team state through the change feed, as for a flag change.
    if event.name == "team" and event.mailbox_id is not None and is_v2(event.mailbox_id):
        record_change(event.mailbox_id, "", "team")


@hookimpl
def tricoma_mail_mailbox_client(mailbox):
    return client_url(mailbox.id) if is_v2(mailbox.id) else None


@hookimpl
def tricoma_mail_settings_panels(user):
    panels = []
    if getattr(user, "is_admin", False):
        panels.append(SettingsPanel(_("tricoma Mail"), url_for("v2_hosted_portal.index"),
                                    _("Fetch the mailboxes of your tricoma account from the tricoma portal."), order=20))
    movable = move_runs.choices(user)
    if movable.sources and movable.targets:  # manage on an external and on a hosted mailbox
        panels.append(SettingsPanel(_("Move a mailbox"), url_for("v2_hosted_move.index"),
                                    _("Copy an external mailbox with all folders into a hosted tricoma mailbox."),
                                    order=21))
    return panels
