"""The rights matrix of issue 5 (SPEC M6): every route and every ``flask mail`` command that
touches mailbox data, tried as every role, against the exact set each role may use.

How a route is classified
-------------------------
* Every URL rule of a blueprint that tricoma mail registered (core's or a plugin's) and every rule
  under ``/mail/`` is in exactly one table: :data:`EXPECTED` (it touches mailbox data and needs a
  right), :data:`NO_MAILBOX_DATA` (with the reason) or :data:`SHOWN_WITH_THE_RECORD` (an app's
  record page showing the record's linked mail). :func:`test_every_mail_route_is_classified`
  fails for a rule in none of them, so a new route cannot slip in without someone deciding who
  may use it.
* A rule with an id in its path (an argument named ``*_id`` or ``*_pk``: ``mailbox_id``,
  ``item_id``, ``message_pk`` …) touches mailbox data and must be in :data:`EXPECTED`, unless the
  id names an app's own record (:data:`RECORD_IDS`).
* ``EXPECTED[endpoint][method]`` is what the request needs on the mailbox it names (by
  ``mailbox_id``, through the outbox item or message it names, or in its form):
  - a right key: that right;
  - ``AnyOf(rights)``: one of them;
  - ``Listing(right)``: open to every signed-in user, but the page shows this mailbox only to a
    holder of ``right`` (``Listing(None)``: shows no mailbox data, e.g. "create a mailbox");
  - ``ADMINS_ONLY``: admins, and no one else even with every right (the audited "open as admin").

Roles are real users with real grants on a real mailbox of the local mail stack, with a synced
message and outbox items. "Allowed" means the view ran (200, 302 or 400); "refused" means 403 or
404, the refusal shows nothing of the mailbox, and a role without any right on the mailbox gets
404 from every URL that names it, so a refusal never tells a stranger that the mailbox exists.

``flask mail`` commands are operator commands: shell access is full trust, and the commands act as
the actor "cli", not as a host user, so there are no roles to try. Every command must still be
listed in :data:`CLI_COMMANDS`, and every command that takes a mailbox id refuses unknown and
deleted mailboxes.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from sqlalchemy import select, text

from app_fixtures import _fresh_account, login
from hostapp.extensions import db
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.archive.auditors import grant_auditor
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.cli.mail import mail_cli
from tricoma_mail_plugin.mail import tags
from tricoma_mail_plugin.models import (
    CachedFolder,
    CachedMessage,
    Mailbox,
    MailboxTag,
    Notice,
    OutboxItem,
    ReplyTemplate,
    utcnow,
)
from tricoma_mail_plugin.team import notes
from tricoma_mail_plugin.team.tables import TeamReminder
from tricoma_mail_plugin.team.threads import thread_for


@dataclass(frozen=True)
class Listing:
    """Every signed-in user may open the page; it shows this mailbox only to holders of ``right``."""

    right: str | None


@dataclass(frozen=True)
class AnyOf:
    """One of these rights on the mailbox is enough."""

    rights: tuple[str, ...]


ADMINS_ONLY = "admins only"
#: The archive (issue 16): holders of the auditor role, and no one else even with every right.
AUDITORS_ONLY = "auditors only"

EXPECTED: dict[str, dict[str, str | AnyOf | Listing]] = {
    # Settings → Mailboxes (SPEC M1–M3, M5): anyone may create a mailbox; the list shows the
    # mailboxes the user manages; each mailbox's pages need manage.
    "tricoma_mail_mailboxes.index": {"GET": Listing("manage")},
    "tricoma_mail_mailboxes.create": {"POST": Listing(None)},
    "tricoma_mail_mailboxes.configure": {"GET": "manage", "POST": "manage"},
    "tricoma_mail_mailboxes.folders": {"GET": "manage", "POST": "manage"},
    "tricoma_mail_mailboxes.run_test": {"POST": "manage"},
    "tricoma_mail_mailboxes.remove": {"POST": "manage"},  # without the confirmation here: nothing is removed
    # Filters and vacation over ManageSieve (issue 12): the rule editor and the raw Sieve editor.
    "tricoma_mail_filters.index": {"GET": "manage", "POST": "manage"},
    "tricoma_mail_filters.raw": {"GET": "manage", "POST": "manage"},
    # OAuth2 sign-in of a mailbox (issue 13): starting it needs manage.
    "tricoma_mail_mailbox_sign_in.begin": {"POST": "manage"},
    # Settings → Mailboxes → Rights (SPEC M6).
    "tricoma_mail_rights.index": {"GET": "manage"},
    "tricoma_mail_rights.save": {"POST": "manage"},
    "tricoma_mail_rights.add": {"POST": "manage"},
    "tricoma_mail_rights.remove": {"POST": "manage"},
    "tricoma_mail_rights.admin_read": {"POST": ADMINS_ONLY},
    # Mail → Outbox (SPEC S4): the mail of the mailboxes the user may send from.
    "tricoma_mail_outbox.index": {"GET": Listing("send")},
    "tricoma_mail_outbox.detail": {"GET": "send"},
    "tricoma_mail_outbox.cancel": {"POST": "send"},
    "tricoma_mail_outbox.send_again": {"GET": "send", "POST": "send"},
    "tricoma_mail_outbox.confirm_arrived": {"POST": "send"},
    # The mail client (SPEC M7–M9): the start page, the unified inbox and address completion
    # show only readable mailboxes; looking needs read, flags/moves/folders write, deleting delete.
    "tricoma_mail_client.overview": {"GET": Listing("read")},
    "tricoma_mail_client.unified": {"GET": Listing("read")},
    "tricoma_mail_api.addresses": {"GET": Listing("read")},
    "tricoma_mail_client.unified_actions": {"POST": "write"},  # a flag on this mailbox's message
    "tricoma_mail_client.folder": {"GET": "read"},
    "tricoma_mail_api.messages": {"GET": "read"},  # the folder's list as JSON
    "tricoma_mail_client.search_mailbox": {"GET": "read"},
    "tricoma_mail_client.refresh": {"POST": "read"},
    "tricoma_mail_client.read_all": {"POST": "write"},  # "Mark all as read" of a folder
    "tricoma_mail_client.sync_status": {"GET": "read"},
    "tricoma_mail_client.actions": {"POST": "write"},  # the flag action "read"
    "tricoma_mail_client.undo_delete": {"POST": "delete"},
    "tricoma_mail_client.empty_trash": {"GET": "delete", "POST": "delete"},
    "tricoma_mail_client.edit_folders": {"GET": "write", "POST": "write"},
    "tricoma_mail_message.read": {"GET": "read"},
    "tricoma_mail_message.body": {"GET": "read"},
    "tricoma_mail_message.part": {"GET": "read"},
    "tricoma_mail_message.attachment": {"GET": "read"},
    "tricoma_mail_message.source": {"GET": "read"},
    "tricoma_mail_message.print_view": {"GET": "read"},
    "tricoma_mail_message.remote_images_for_sender": {"POST": "read"},
    # Compose opens from a mailbox the user may read or send from, and needs a mailbox to send
    # from: with only this mailbox, that is send. Uploads only need the compose page's mailbox.
    "tricoma_mail_compose.compose": {"GET": "send"},
    "tricoma_mail_compose.compose_post": {"POST": "send"},  # a draft from this mailbox
    "tricoma_mail_compose.save_draft_now": {"POST": "send"},
    "tricoma_mail_compose.upload": {"POST": AnyOf(("send", "read"))},
    "tricoma_mail_compose.undo_send": {"POST": "send"},  # stops this mailbox's outbox item
    # "Send by e-mail" from another app's record (SPEC S2): the dialog offers, and sending uses,
    # only mailboxes with send from apps; undo works on the user's own queued item.
    "tricoma_mail_app_compose.dialog": {"GET": "send_from_apps"},
    "tricoma_mail_app_compose.send": {"POST": "send_from_apps"},
    "tricoma_mail_app_compose.queued": {"GET": "send_from_apps"},
    "tricoma_mail_app_compose.undo": {"POST": "send_from_apps"},
    # The v2 interface (plugins/v2_hosted): the same rights as v1's pages. An action's own right
    # (flags and moves write, delete delete) is checked before its input; undo checks read, then
    # core's undo the right of what it undoes; the event stream shows the mailbox's counts.
    "v2_hosted.client": {"GET": "read"},
    "v2_hosted_api.folders": {"GET": "read"},
    "v2_hosted_api.messages": {"GET": "read"},
    "v2_hosted_api.attachments": {"GET": "read"},
    "v2_hosted_api.actions": {"POST": "write"},  # the flag action "read", no message chosen
    "v2_hosted_api.undo": {"POST": "read"},
    "v2_hosted_api.compose_start": {"GET": "read"},
    "v2_hosted_api.send": {"POST": "send"},
    "v2_hosted_api.undo_send": {"POST": "send"},
    "v2_hosted_api.layout": {"POST": "read"},
    "v2_hosted_api.events": {"GET": "read"},
    "v2_hosted_api.remove_upload": {"DELETE": "read"},  # a file taken out of the compose dialog
    # moving an external mailbox into a hosted one: manage on both (the scene's run names the
    # scene's mailbox as both, so manage on it is what the run needs here)
    "v2_hosted_move.index": {"GET": Listing("manage")},
    "v2_hosted_move.start": {"POST": "manage"},
    "v2_hosted_move.progress": {"GET": "manage"},
    "v2_hosted_move.status": {"GET": "manage"},
    # Tags (issue 15, point 6; web/tag_api.py): IMAP keywords with names and colours. Looking needs
    # read, tagging and untagging write (as flags), defining, renaming and deleting manage.
    "tricoma_mail_tags_api.list_tags": {"GET": "read"},
    "tricoma_mail_tags_api.create": {"POST": "manage"},
    "tricoma_mail_tags_api.change": {"POST": "manage"},
    "tricoma_mail_tags_api.remove": {"DELETE": "manage"},  # Thunderbird's $label1: refused with 400
    "tricoma_mail_tags_api.apply": {"POST": "write"},
    "tricoma_mail_tags.index": {"GET": "read"},
    "tricoma_mail_tags.save": {"POST": "manage"},
    "tricoma_mail_tags.apply_form": {"POST": "write"},
    # Team mail in shared mailboxes (issue 15; web/team_api.py): a conversation's state, assign,
    # status, snooze, follow-ups and "who is answering" need read; the audit export manage.
    "tricoma_mail_team.conversation": {"POST": "read"},
    "tricoma_mail_team.people": {"GET": "read"},
    "tricoma_mail_team.assign": {"POST": "read"},
    "tricoma_mail_team.status": {"POST": "read"},
    "tricoma_mail_team.snooze": {"POST": "read"},
    "tricoma_mail_team.follow_up": {"POST": "read"},
    "tricoma_mail_team.cancel_follow_up": {"POST": "read"},
    "tricoma_mail_team.presence_start": {"POST": "read"},
    "tricoma_mail_team.presence_beat": {"POST": "read"},
    "tricoma_mail_team.presence_stop": {"POST": "read"},
    "tricoma_mail_team.audit_csv": {"GET": "manage"},
    # Internal notes (issue 15; web/notes_api.py): reading, adding and the people to mention need read.
    "tricoma_mail_notes.list_notes": {"POST": "read"},
    "tricoma_mail_notes.add": {"POST": "read"},
    "tricoma_mail_notes.people": {"GET": "read"},
    # Reply templates (issue 15; web/reply_template_pages.py): the settings page and the new
    # template's form show only the mailboxes (and their templates) the user manages; a mailbox's
    # template is edited and deleted with manage, chosen and filled in with read; the picker lists
    # only the templates of readable mailboxes.
    "tricoma_mail_reply_templates.index": {"GET": Listing("manage")},
    "tricoma_mail_reply_templates.create": {"GET": Listing("manage"), "POST": Listing(None)},
    "tricoma_mail_reply_templates.edit": {"GET": "manage", "POST": "manage"},
    "tricoma_mail_reply_templates.delete": {"POST": "manage"},
    "tricoma_mail_reply_templates.available": {"GET": Listing("read")},
    "tricoma_mail_reply_templates.render": {"POST": "read"},
    # Settings → tricoma Mail (plugins/v2_hosted, issue 12): the portal's address and token and the
    # import of the account's mailboxes, for admins only (the token reads every mailbox's password).
    "v2_hosted_portal.index": {"GET": ADMINS_ONLY},
    "v2_hosted_portal.save": {"POST": ADMINS_ONLY},
    "v2_hosted_portal.run_import": {"POST": ADMINS_ONLY},
    # The GoBD archive (docs/archive.md): every mailbox's archived mail, for the auditor role only.
    "tricoma_mail_archive.index": {"GET": AUDITORS_ONLY},
    "tricoma_mail_archive.export": {"POST": AUDITORS_ONLY},
}

#: Routes under /mail/ or of tricoma mail's blueprints that touch no mailbox data, and why.
NO_MAILBOX_DATA: dict[str, str] = {
    "tricoma_mail_settings.index": "the list of settings panels; no mailbox is shown",
    "tricoma_mail_admin_plugins.index": "admins: installed plugins and their errors",
    "tricoma_mail_admin_plugins.set_state": "admins: switch a plugin on or off",
    "tricoma_mail_system_mail.index": "admins: the SMTP settings of system mail, which is not a mailbox",
    "tricoma_mail_system_mail.save": "admins: save the system mail settings",
    "tricoma_mail_system_mail.send_test": "admins: send a test system mail",
    "tricoma_mail_mail_servers.index": "admins: the allow list of mail server addresses, no mailbox",
    "tricoma_mail_mail_servers.save": "admins: save the allow list of mail server addresses",
    "tricoma_mail_oauth_providers.index": "admins: OAuth2 sign-in providers (app registrations), no mailbox",
    "tricoma_mail_oauth_providers.create": "admins: add a sign-in provider",
    "tricoma_mail_oauth_providers.edit": "admins: change a sign-in provider",
    "tricoma_mail_oauth_providers.delete": "admins: delete a sign-in provider no mailbox uses",
    "tricoma_mail_mailbox_sign_in.callback": "the provider's redirect: 400 unless it ends the sign-in this "
                                             "user started (session); that mailbox then needs manage again",
    "tricoma_mail_jobs.index": "admins: counts and keys of background jobs, no mailbox data",
    "tricoma_mail_client.static": "the mail client's scripts and styles",
    "tricoma_mail_unsubscribe.confirm": "one-click unsubscribe (RFC 8058), open to anyone with the link: "
                                        "its signed token names one address on one list; asks, changes nothing",
    "tricoma_mail_unsubscribe.one_click": "records the opt-out the signed token names; shows only that address",
    "tricoma_mail_app_compose.attachment": "a record's attachment frozen for the user who opened the "
                                           "dialog (by token, checked against that user); not mailbox data",
    "sample_plugin.page": "the test plugin's page (tests/plugins/sample_plugin.py)",
    # Notices (issue 15): the signed-in user's own notices; that a notice shows nothing of a
    # mailbox its reader may no longer read is test_notices_show_nothing_of_a_mailbox_without_read.
    "tricoma_mail_notices.index": "the user's own notices",
    "tricoma_mail_notices.unread": "the user's own unread count and notices",
    "tricoma_mail_notices.open_notice": "marks one of the user's own notices read (another's: 404)",
    "tricoma_mail_notices.read_all": "marks the user's own notices read",
    "v2_hosted.static": "the v2 interface's script and style",
    # The invoices app (plugins/invoices): its own records, not mail.
    "tricoma_mail_invoices.index": "the list of invoices",
    "tricoma_mail_invoices.invoice_pdf": "an invoice's PDF",
    "tricoma_mail_invoices.delete": "admins: delete an invoice",
    "tricoma_mail_invoices.create": "write an invoice",
    "tricoma_mail_invoices.customers": "the app's customers",
    "tricoma_mail_invoices.templates": "admins: the mail template texts",
    "invoices_suppliers.index": "the invoicing app's suppliers and their bank accounts",
    "invoices_suppliers.save": "admins: add or change a supplier and its bank account",
    # The orders app (plugins/orders), likewise.
    "tricoma_mail_orders.index": "the list of orders",
    "tricoma_mail_orders.order_pdf": "an order's PDF",
    "tricoma_mail_orders.delete": "admins: delete an order",
    "tricoma_mail_orders.create": "write an order",
    "tricoma_mail_orders.customers": "the app's customers",
    "tricoma_mail_orders.templates": "admins: the mail template texts",
}

#: Record pages of apps that show the mail linked to the record (SPEC S3: subject, counterpart,
#: state) to whoever may open the record, without a right on the mailbox; opening one of those
#: mails is a route of EXPECTED and needs read. Kept apart so that the choice stays visible.
SHOWN_WITH_THE_RECORD: dict[str, str] = {
    "tricoma_mail_invoices.detail": "an invoice and its mail history",
    "tricoma_mail_orders.detail": "an order and its mail history",
}

#: Path arguments that name an app's own records, not mailbox data.
RECORD_IDS = {"invoice_id", "order_id", "provider_id",  # provider_id: an admin's sign-in provider
              "notice_id"}  # a user's own notice (team mail, issue 15): another user's answers 404

#: Every ``flask mail`` command and what it touches. Keys are the command names.
CLI_COMMANDS: dict[str, str] = {
    "test": "logs in to a mailbox's servers",
    "folders": "lists a mailbox's folders and their roles",
    "sync": "copies a mailbox's mail into the cache",
    "send": "queues mail from a mailbox",
    "create-mailbox": "creates or updates a mailbox by address, with grants",
    "grant": "gives rights on a mailbox (audited as cli)",
    "revoke": "takes rights on a mailbox (audited as cli)",
    "rights": "lists the rights on a mailbox",
    "outbox": "lists outbox items of every mailbox",
    "worker": "sends the outbox of every mailbox",
    "rotate-keys": "re-encrypts every mailbox's secrets",
    "archive": "the archive: verify, legal holds, retention, purge, auditors, export (audited as cli)",
}

#: The commands that name one mailbox, with arguments that would make them do real work.
CLI_MAILBOX_ARGS: dict[str, list[str]] = {
    "test": [],
    "folders": [],
    "sync": [],
    "send": ["--to", "x@example.test", "--subject", "s", "--body-file", "-"],
    "grant": ["user:owner", "read"],
    "revoke": ["user:owner", "read"],
    "rights": [],
}

ROLES: dict[str, dict] = {
    "none": {"rights": ()},
    "read": {"rights": ("read",)},
    "read_write": {"rights": ("read", "write")},
    "send": {"rights": ("send",)},
    "send_from_apps": {"rights": ("send_from_apps",)},
    "delete": {"rights": ("delete",)},
    "manage": {"rights": ("manage",)},
    "manage_via_group": {"group_rights": ("manage",)},
    "admin": {"admin": True},  # no grant at all
    "auditor": {"auditor": True},  # the archive's auditor role, no mailbox right
}

ALLOWED = {200, 201, 302, 400}  # 201: a note was added
REFUSED = {403, 404}


# -- a real mailbox with real mail -----------------------------------------------------------


@dataclass
class Scene:
    """A mailbox of the local mail stack with one synced message (a text and a PDF part) and a
    failed outbox item, and what of it must never reach someone without the right."""

    mailbox_id: int
    email: str
    title: str
    message_pk: int
    message_subject: str
    sender: str
    item_id: int
    item_subject: str
    part_id: str = "2"  # the PDF
    own_items: dict[str, int] = field(default_factory=dict)  # user id -> an item that user queued
    tag_id: int = 0  # the mailbox's tag $label1 (Thunderbird's "Important")
    tag_name: str = ""  # a tag of the mailbox's own, named only here
    # team mail (issue 15): the message's conversation, a pending follow-up, a note, the
    # mailbox's reply templates (one per user, for deleting)
    message_ids: tuple[str, ...] = ()
    thread_id: int = 0
    reminder_id: int = 0
    note_text: str = ""
    template_id: int = 0
    template_name: str = ""
    own_templates: dict[str, int] = field(default_factory=dict)
    move_run_id: int = 0  # a move of the mailbox (issue 12), source and target both this mailbox

    @property
    def secrets(self) -> tuple[str, ...]:
        found = (self.title, self.email, self.message_subject, self.sender, self.item_subject)
        return found + tuple(value for value in (self.tag_name, self.note_text, self.template_name) if value)


#: How to fill each argument of a route from the scene, for the user who asks.
ARGUMENTS = {
    "mailbox_id": lambda scene, user_id: scene.mailbox_id,
    "item_id": lambda scene, user_id: scene.item_id,
    "message_pk": lambda scene, user_id: scene.message_pk,
    "part_id": lambda scene, user_id: scene.part_id,
    "tag_id": lambda scene, user_id: scene.tag_id,
    "thread_id": lambda scene, user_id: scene.thread_id,
    "reminder_id": lambda scene, user_id: scene.reminder_id,
    "template_id": lambda scene, user_id: scene.template_id,
    "notice_id": lambda scene, user_id: 2**31 - 1,  # nobody's notice
    "run_id": lambda scene, user_id: scene.move_run_id,
    "token": lambda scene, user_id: "no-such-upload",
}

#: Where one route needs another value: an app's undo works only on the asking user's own item.
ROUTE_ARGUMENTS = {
    "tricoma_mail_app_compose.queued": {"item_id": lambda scene, user_id: scene.own_items[user_id]},
    "tricoma_mail_app_compose.undo": {"item_id": lambda scene, user_id: scene.own_items[user_id]},
    # each user deletes a template of the mailbox of its own (the first delete would leave none)
    "tricoma_mail_reply_templates.delete": {"template_id": lambda scene, user_id: scene.own_templates[user_id]},
}


@dataclass(frozen=True)
class Call:
    """What a request sends besides its URL; strings are formatted with the scene's fields."""

    form: dict | None = None
    query: dict | None = None
    raw: bytes | None = None
    headers: dict | None = None


DRAFT = {"from": "{mailbox_id}", "to": "someone@example.test", "subject": "Matrix draft", "body": "Hello",
         "compose_id": "matrix"}

#: Plausible input for the requests that need some (the default is an empty form or query).
CALLS: dict[tuple[str, str], Call] = {
    ("tricoma_mail_client.actions", "POST"): Call(form={"action": "read", "ids": "{message_pk}", "folder": "INBOX"}),
    ("tricoma_mail_client.unified_actions", "POST"): Call(form={"action": "read", "ids": "{mailbox_id}:{message_pk}"}),
    ("tricoma_mail_client.refresh", "POST"): Call(form={"folder": "INBOX"}),
    ("tricoma_mail_client.read_all", "POST"): Call(form={"folder": "INBOX"}),
    ("tricoma_mail_client.undo_delete", "POST"): Call(form={"token": "expired"}),
    ("tricoma_mail_client.search_mailbox", "GET"): Call(query={"q": "message"}),
    ("tricoma_mail_api.addresses", "GET"): Call(query={"q": "{sender}"}),
    ("tricoma_mail_compose.compose_post", "POST"): Call(form={**DRAFT, "action": "draft"}),
    ("tricoma_mail_compose.save_draft_now", "POST"): Call(form=DRAFT),
    ("tricoma_mail_compose.upload", "POST"): Call(raw=b"a small note", headers={"X-File-Name": "note.txt",
                                                                                "X-File-Type": "text/plain"}),
    ("tricoma_mail_message.remote_images_for_sender", "POST"): Call(form={"allow": "1"}),
    ("tricoma_mail_app_compose.dialog", "GET"): Call(query={"reference": "sample:7"}),
    ("v2_hosted_api.actions", "POST"): Call(raw=b'{"action": "read", "ids": []}'),
    ("v2_hosted_api.compose_start", "GET"): Call(query={"mode": "reply", "source": "{message_pk}"}),
    ("v2_hosted_api.messages", "GET"): Call(query={"folder": "INBOX", "conversations": "1"}),
    ("v2_hosted_api.events", "GET"): Call(query={"seconds": "0"}),
    # source and target the same mailbox: a manager is told to choose two (400), others get 404
    ("v2_hosted_move.start", "POST"): Call(form={"source": "{mailbox_id}", "target": "{mailbox_id}"}),
    ("tricoma_mail_tags_api.create", "POST"): Call(raw=b'{"name": "Matrix", "colour": "#ff0000"}'),
    ("tricoma_mail_tags_api.change", "POST"): Call(raw=b'{"name": "", "colour": "#ff0000"}'),
    ("tricoma_mail_tags_api.apply", "POST"): Call(raw=b'{"ids": [{message_pk}], "add": ["$label1"]}'),
    ("tricoma_mail_tags.save", "POST"): Call(form={"action": "change", "tag_id": "{tag_id}", "name": "",
                                                  "colour": "#ff0000"}),
    ("tricoma_mail_tags.apply_form", "POST"): Call(form={"ids": "{message_pk}", "tag": "$label1", "action": "tag",
                                                        "next": "/mail/"}),
    ("tricoma_mail_team.conversation", "POST"): Call(raw=b'{"message_ids": {message_ids_json}}'),
    ("tricoma_mail_team.assign", "POST"): Call(raw=b'{"message_ids": {message_ids_json}, "assignee": null}'),
    ("tricoma_mail_team.status", "POST"): Call(raw=b'{"message_ids": {message_ids_json}, "status": "open"}'),
    ("tricoma_mail_team.snooze", "POST"): Call(raw=b'{"message_ids": {message_ids_json}, "wake": true}'),
    ("tricoma_mail_team.follow_up", "POST"): Call(raw=b'{"message_ids": {message_ids_json}, "due_at_days": 3}'),
    ("tricoma_mail_team.presence_start", "POST"): Call(raw=b'{"message_ids": {message_ids_json}}'),
    ("tricoma_mail_team.presence_stop", "POST"): Call(raw=b'{"sent": false}'),
    ("tricoma_mail_notes.list_notes", "POST"): Call(raw=b'{"message_ids": {message_ids_json}}'),
    ("tricoma_mail_notes.add", "POST"): Call(raw=b'{"message_ids": {message_ids_json}, "text": "Matrix note"}'),
    ("tricoma_mail_reply_templates.create", "POST"): Call(form={
        "scope": "personal", "kind": "template", "name": "Matrix personal", "language": "de", "subject": "S",
        "body": "Hello"}),
    ("tricoma_mail_reply_templates.edit", "POST"): Call(form={
        "scope": "{mailbox_id}", "kind": "template", "name": "{template_name}", "language": "de", "subject": "S",
        "body": "Hello"}),
    ("tricoma_mail_reply_templates.available", "GET"): Call(query={"mailbox": "{mailbox_id}"}),
    ("tricoma_mail_reply_templates.render", "POST"): Call(
        raw=b'{"mailbox_id": {mailbox_id}, "message_ids": {message_ids_json}}'),
    ("tricoma_mail_app_compose.send", "POST"): Call(form={
        "reference": "sample:7", "key": "matrix-{mailbox_id}", "mailbox": "{mailbox_id}",
        "to": "customer@example.test", "subject": "Sample 7", "text": "Hello"}),
}


def mail_rules(app):
    """Every URL rule of tricoma mail's blueprints and every rule under /mail/."""
    owners = mail_state(app).blueprint_owners
    return [rule for rule in app.url_map.iter_rules()
            if rule.endpoint.rpartition(".")[0] in owners or rule.rule.startswith("/mail/")]


def methods_of(rule) -> set[str]:
    return set(rule.methods) - {"HEAD", "OPTIONS"}


def failed_outbox_item(mailbox_id: int, subject: str, state: str = "failed", created_by: str | None = None) -> int:
    """A mail of the mailbox that failed for good (so it can be shown and sent again)."""
    session = mail_state().db.session
    item = OutboxItem(scope=f"mailbox:{mailbox_id}", mailbox_id=mailbox_id, idempotency_key=uuid.uuid4().hex,
                      message_id=f"<{uuid.uuid4().hex}@example.test>", sender="sender@example.test",
                      recipients=["someone@example.test"], subject=subject,
                      raw=f"Subject: {subject}\r\nFrom: sender@example.test\r\n\r\nbody\r\n".encode(),
                      state=state, not_before=utcnow(), last_error="550 no such user",
                      recipient_results=[], sent_copy="pending", created_by=created_by)
    session.add(item)
    session.commit()
    return item.id


@pytest.fixture
def stock_mailbox(app, mailstack, make_mailbox, imap_client):
    """Factory: ``stock_mailbox(name)`` makes a :class:`Scene` (owner: user "owner")."""

    def stock(name: str) -> Scene:
        tag = uuid.uuid4().hex[:8]
        email, password = _fresh_account(mailstack, 1)
        title = f"{name} secret {tag}"
        mailbox_id = make_mailbox(1, email, password, title=title)
        sender = f"{name.lower()}-sender-{tag}@example.test"
        message = EmailMessage()
        message["From"] = f"Sender <{sender}>"
        message["To"] = email
        message["Subject"] = f"{name} message {tag}"
        message["Message-ID"] = f"<{tag}@example.test>"
        message.set_content(f"Hello from {name}.")
        message.add_attachment(b"%PDF-1.4\n%secret\n", maintype="application", subtype="pdf",
                               filename=f"{name}-invoice.pdf")
        imap_client(1, email, password).append("INBOX", message.as_bytes())
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            service.run_test(mailbox)  # only a tested mailbox is offered for sending from apps
            assert mailbox.usable, mailbox.last_test_steps
            refresh.run_sync(mailbox)
            message_pk = db.session.scalar(
                select(CachedMessage.id).join(CachedFolder, CachedFolder.id == CachedMessage.folder_id)
                .where(CachedFolder.mailbox_id == mailbox_id))
            item_subject = f"{name} outbox {tag}"
            item_id = failed_outbox_item(mailbox_id, item_subject)
        scene = Scene(mailbox_id, email, title, message_pk, f"{name} message {tag}", sender, item_id, item_subject)
        with app.test_request_context():  # a note's notice links to the mailbox's page
            tags_and_team_mail(scene)
        return scene

    return stock


def route_values(rule, scene: Scene, user_id: str) -> dict:
    fill = {**ARGUMENTS, **ROUTE_ARGUMENTS.get(rule.endpoint, {})}
    return {name: fill[name](scene, user_id) for name in rule.arguments}


def send(client, adapter, rule, method: str, scene: Scene, user_id: str, values: dict | None = None):
    """One request to ``rule`` as the test's tables describe it."""
    fields = {**scene.__dict__, "message_ids_json": json.dumps(list(scene.message_ids))}
    values = values if values is not None else route_values(rule, scene, user_id)
    call = CALLS.get((rule.endpoint, method), Call())
    url = adapter.build(rule.endpoint, values, method=method)
    fill = (lambda mapping: {key: str(value).format(**fields) for key, value in mapping.items()})
    if call.raw is not None:
        raw = call.raw  # JSON has braces of its own: only the scene's "{field}" names are filled in
        for name, value in fields.items():
            raw = raw.replace(b"{" + name.encode() + b"}", str(value).encode())
        return client.open(url, method=method, data=raw, headers=call.headers,
                           content_type="application/octet-stream")
    return client.open(url, method=method, query_string=fill(call.query or {}),
                       data=fill(call.form or {}) if method == "POST" else None)


def main_part(response) -> str:
    """The page without the navigation (which lists every readable mailbox on every page) and
    without flashed messages (which may report the user's own earlier, allowed action)."""
    body = response.get_data(as_text=True)
    found = re.search(r"<main[^>]*>(.*)</main>", body, re.S)
    return re.sub(r'<p class="flash [^"]*"[^>]*>.*?</p>', "", found.group(1) if found else body, flags=re.S)


# -- the table is complete ---------------------------------------------------------------------


def test_every_mail_route_is_classified(app):
    problems = []
    seen = set()
    for rule in mail_rules(app):
        seen.add(rule.endpoint)
        ids = [argument for argument in rule.arguments if argument.endswith(("_id", "_pk"))]
        if rule.endpoint in EXPECTED:
            if set(EXPECTED[rule.endpoint]) != methods_of(rule):
                problems.append(f"{rule.endpoint} ({rule.rule}): methods {sorted(methods_of(rule))}, "
                                f"table has {sorted(EXPECTED[rule.endpoint])}")
            unknown = set(rule.arguments) - set(ARGUMENTS)
            if unknown:
                problems.append(f"{rule.endpoint} ({rule.rule}): give ARGUMENTS a plausible value for {unknown}")
        elif rule.endpoint in NO_MAILBOX_DATA or rule.endpoint in SHOWN_WITH_THE_RECORD:
            if set(ids) - RECORD_IDS:
                problems.append(f"{rule.endpoint} ({rule.rule}) takes {ids}: it touches mailbox data, "
                                "move it to EXPECTED")
        else:
            problems.append(f"{rule.endpoint} ({rule.rule}) is not classified: add it to EXPECTED with the "
                            "right it needs, or to NO_MAILBOX_DATA with the reason it shows no mailbox data")
    # A plugin the test app does not load leaves its entries unused; anything else must exist.
    loaded = set(mail_state(app).blueprint_owners) | {"tricoma_mail_client"}
    stale = {endpoint for endpoint in (*EXPECTED, *NO_MAILBOX_DATA, *SHOWN_WITH_THE_RECORD)
             if endpoint not in seen and endpoint.rpartition(".")[0] in loaded}
    problems += [f"{endpoint} is in the table but not in the app" for endpoint in sorted(stale)]
    assert not problems, "\n".join(problems)


def test_every_mail_command_is_classified():
    assert set(mail_cli.commands) == set(CLI_COMMANDS), (
        "a `flask mail` command was added or removed: classify it in CLI_COMMANDS (and, if it names a "
        "mailbox, in CLI_MAILBOX_ARGS)")
    takes_mailbox = {name for name, command in mail_cli.commands.items()
                     if any(param.name == "mailbox_id" for param in command.params)}
    assert takes_mailbox == set(CLI_MAILBOX_ARGS)


# -- every role, every route -------------------------------------------------------------------


@pytest.fixture
def scene(app, stock_mailbox, make_user) -> Scene:
    """The real mailbox and one user per role with its grants."""
    scene = stock_mailbox("Matrix")
    with app.app_context():
        for role, spec in ROLES.items():
            user = make_user(f"role-{role}", admin=spec.get("admin", False), language="en",
                             groups=(f"group-{role}",) if spec.get("group_rights") else ())
            for right in spec.get("rights", ()):
                access.grant(scene.mailbox_id, "user", user.id, right)
            scene.own_items[str(user.id)] = failed_outbox_item(
                scene.mailbox_id, f"{role} app mail", state="queued", created_by=str(user.id))
            if spec.get("auditor"):
                grant_auditor(mail_state().directory.find("user", f"role-{role}"), "matrix")
            if spec.get("group_rights"):
                group = mail_state().directory.find("group", f"group-{role}")
                for right in spec["group_rights"]:
                    access.grant(scene.mailbox_id, "group", group.id, right)
            own_template(scene, str(user.id))
    return scene


def tags_and_team_mail(scene: Scene) -> None:
    """Issue 15: the mailbox's tags (Thunderbird's $label1, and one of its own with a secret
    name); the scene's message as a conversation of team mail with a note with a secret text
    and a pending follow-up reminder; a reply template of the mailbox with a secret name."""
    session = mail_state().db.session
    scene.tag_id = next(tag.id for tag in tags.tags_of(scene.mailbox_id) if tag.keyword == "$label1")
    scene.tag_name = f"{scene.title} tag"
    session.add(MailboxTag(mailbox_id=scene.mailbox_id, keyword="matrix_secret", name=scene.tag_name,
                           colour="#808080", position=9))
    message_id = session.scalar(select(CachedMessage.message_id).where(CachedMessage.id == scene.message_pk))
    scene.message_ids = (message_id.lower(),)
    owner = mail_state().directory.load_user(mail_state().directory.find("user", "owner").id)
    scene.note_text = f"Matrix note {uuid.uuid4().hex[:8]}"
    notes.add_note(owner, scene.mailbox_id, scene.message_ids, scene.note_text)
    thread = thread_for(scene.mailbox_id, scene.message_ids)
    scene.thread_id = thread.id
    reminder = TeamReminder(thread_id=thread.id, mailbox_id=scene.mailbox_id, user_id=str(owner.get_id()),
                            due_at=utcnow() + timedelta(days=3), state="pending", known_ids=list(scene.message_ids))
    session.add(reminder)
    scene.template_name = f"Matrix template {uuid.uuid4().hex[:8]}"
    template = ReplyTemplate(mailbox_id=scene.mailbox_id, kind="template", name=scene.template_name, language="de",
                             subject="Matrix", body="Hello")
    session.add(template)
    now = utcnow()
    scene.move_run_id = session.execute(text(
        "INSERT INTO v2_hosted_move_run (source_id, target_id, job_key, state, handled, copied, skipped,"
        " started_by, created_at, updated_at) VALUES (:box, :box, :key, 'done', 0, 0, 0, 'matrix', :now, :now)"
        " RETURNING id"), {"box": scene.mailbox_id, "key": f"matrix:{uuid.uuid4().hex}", "now": now}).scalar_one()
    session.commit()
    scene.reminder_id, scene.template_id = reminder.id, template.id


def own_template(scene: Scene, user_id: str) -> None:
    """A template of the scene's mailbox for ``user_id`` to delete (deleting the shared one
    would leave none for the next user)."""
    session = mail_state().db.session
    own = ReplyTemplate(mailbox_id=scene.mailbox_id, kind="quick_reply", name=f"{scene.template_name} {user_id}",
                        language="de", body="Hello")
    session.add(own)
    session.commit()
    scene.own_templates[user_id] = own.id


def role_user_id(app, role: str) -> str:
    with app.app_context():
        return mail_state().directory.find("user", f"role-{role}").id


def names_the_mailbox(rule) -> bool:
    """Whether the URL names mailbox data by id (then a stranger must not learn it exists)."""
    return any(argument.endswith("_id") or argument == "message_pk" for argument in rule.arguments)


def role_rights(app, role: str, mailbox_id: int) -> frozenset[str]:
    with app.app_context():
        user = mail_state().directory.load_user(mail_state().directory.find("user", f"role-{role}").id)
        return access.effective_rights(user, mailbox_id)


def expected_allowed(needed, role: str, rights: frozenset[str]) -> bool:
    if isinstance(needed, Listing):
        return True
    if isinstance(needed, AnyOf):
        return bool(set(needed.rights) & rights)
    if needed == ADMINS_ONLY:
        return bool(ROLES[role].get("admin"))
    if needed == AUDITORS_ONLY:
        return bool(ROLES[role].get("auditor"))
    return needed in rights


def test_each_role_may_use_exactly_the_expected_routes(app, scene):
    adapter = app.url_map.bind("localhost")
    rules = sorted((rule for rule in mail_rules(app) if rule.endpoint in EXPECTED), key=lambda r: r.endpoint)
    mismatches = []
    for role in ROLES:
        rights = role_rights(app, role, scene.mailbox_id)
        user_id = role_user_id(app, role)
        assert rights == ({"manage"} if role in ("admin", "manage_via_group") else
                          set(ROLES[role].get("rights", ()))), role
        client = app.test_client()
        assert login(client, f"role-{role}").status_code == 302
        for rule in rules:
            for method, needed in EXPECTED[rule.endpoint].items():
                response = send(client, adapter, rule, method, scene, user_id)
                status, body = response.status_code, response.get_data(as_text=True)
                allowed = expected_allowed(needed, role, rights)
                where = f"{role:<17} {method:<4} {rule.endpoint:<46} needs {needed!s:<26} got {status}"
                if "Traceback" in body:
                    mismatches.append(f"{where}: a traceback in the page")
                if allowed and status not in ALLOWED:
                    mismatches.append(f"{where}: should be allowed")
                elif not allowed and status not in REFUSED:
                    mismatches.append(f"{where}: should be refused")
                elif not allowed and not rights and names_the_mailbox(rule) and status != 404:
                    mismatches.append(f"{where}: a role with no right must get 404, not {status}")
                if not allowed:
                    leaked = [secret for secret in scene.secrets if secret in main_part(response)]
                    if leaked:
                        mismatches.append(f"{where}: the refusal shows {leaked}")
                if isinstance(needed, Listing) and needed.right and method == "GET":
                    shows = any(secret in main_part(response) for secret in scene.secrets)
                    if shows != (needed.right in rights):
                        mismatches.append(f"{where}: {'shows' if shows else 'hides'} the mailbox's data")
    assert not mismatches, "\n" + "\n".join(mismatches)


# -- the CLI ----------------------------------------------------------------------------------


def test_mail_commands_refuse_unknown_and_deleted_mailboxes(app, make_mailbox):
    mailbox_id = make_mailbox()
    with app.app_context():
        db.session.get(Mailbox, mailbox_id).deleted_at = utcnow()
        db.session.commit()
        unknown = (db.session.scalar(select(Mailbox.id).order_by(Mailbox.id.desc()).limit(1)) or 0) + 1000
    runner = app.test_cli_runner()
    for name, extra in CLI_MAILBOX_ARGS.items():
        for forged in (mailbox_id, unknown, 0):
            result = runner.invoke(args=["mail", name, str(forged), *extra], input="body\n")
            assert result.exit_code != 0, (name, forged, result.output)
            assert f"there is no mailbox {forged}" in result.output, (name, forged, result.output)
    with app.app_context():  # "revoke" changed nothing on the deleted mailbox
        owner = mail_state().directory.find("user", "owner")
        assert "read" in access.grants_of(mailbox_id)[("user", owner.id)]


# -- team mail: notices --------------------------------------------------------------------------


def test_notices_show_nothing_of_a_mailbox_without_read(app, stock_mailbox, make_user):
    """Issue 15: "a user without rights on the mailbox sees none of it". A user mentioned in a
    note while allowed to read the mailbox sees the notice with the conversation's subject; once
    the right is taken away, neither the notices page nor the navigation's live JSON shows
    anything of that mailbox."""
    scene = stock_mailbox("Notice")
    with app.test_request_context():  # a note's notice links to the mailbox's page
        reader = make_user("noticereader", language="en")
        access.grant(scene.mailbox_id, "user", reader.id, "read")
        owner = mail_state().directory.load_user(mail_state().directory.find("user", "owner").id)
        message_id = db.session.scalar(select(CachedMessage.message_id).where(CachedMessage.id == scene.message_pk))
        notes.add_note(owner, scene.mailbox_id, [message_id], "@noticereader please answer this",
                       subject=scene.message_subject)
    client = app.test_client()
    assert login(client, "noticereader").status_code == 302
    assert scene.message_subject in client.get("/mail/notices/").get_data(as_text=True)  # while allowed
    with app.app_context():
        access.revoke(scene.mailbox_id, "user", str(reader.id), "read", actor="test")
    for url in ("/mail/notices/", "/mail/notices/unread"):
        body = client.get(url).get_data(as_text=True)
        leaked = [secret for secret in scene.secrets if secret in body]
        assert not leaked, f"{url} shows {leaked} to a user who may no longer read the mailbox"
