"""A test plugin that implements every hook, records its calls, and has one page."""
from __future__ import annotations

import os

from flask import Blueprint
from sqlalchemy import Column, Integer, MetaData, String, Table

from tricoma_mail_plugin import (
    AttachmentData,
    ComposeContext,
    JobTask,
    KnownSender,
    MenuItem,
    MigrationSet,
    RecordDescription,
    ReferenceType,
    Right,
    SendVetoed,
    SettingsPanel,
    hookimpl,
)

__version__ = "1.2.3"

calls: list[tuple[str, dict]] = []

blueprint = Blueprint("sample_plugin", __name__, url_prefix="/sample")


@blueprint.get("/")
def page():
    return "sample page"


metadata = MetaData()
notes = Table("sample_plugin_note", metadata,
              Column("id", Integer, primary_key=True), Column("text", String(200), nullable=False))


class SampleBackend:
    kind = "sample"


@hookimpl
def tricoma_mail_register_backends():
    calls.append(("register_backends", {}))
    return [SampleBackend]


@hookimpl
def tricoma_mail_resolve_folder(mailbox, role, folders):
    calls.append(("resolve_folder", {"role": role, "mailbox": mailbox}))
    if role == "archive" and any(folder.name == "Sample Archive" for folder in folders):
        return "Sample Archive"
    return None


@hookimpl
def tricoma_mail_register_reference_types():
    calls.append(("register_reference_types", {}))
    return [
        ReferenceType(
            "sample",
            "Sample record",
            lambda record_id: RecordDescription(f"Sample {record_id}", f"/sample/{record_id}")
            if record_id != "404" else None,
        )
    ]


@hookimpl
def tricoma_mail_compose_context(reference, user):
    calls.append(("compose_context", {"reference": reference}))
    if reference.kind != "sample":
        return None
    return ComposeContext(to=(f"customer-{reference.id}@example.test",), subject=f"Sample {reference.id}",
                          attachments=(AttachmentData(f"sample-{reference.id}.txt", "text/plain",
                                                      f"record {reference.id}".encode()),))


@hookimpl
def tricoma_mail_before_send(message, mailbox, user, reference):
    calls.append(("before_send", {"reference": reference}))
    if message["Subject"] == "veto me":
        raise SendVetoed("The sample plugin refuses this subject.")
    message["X-Sample"] = "seen"


@hookimpl
def tricoma_mail_message_sent(outbox_item, reference):
    calls.append(("message_sent", {"outbox_item": outbox_item, "reference": reference}))


@hookimpl
def tricoma_mail_message_received(mailbox, folder, summary):
    calls.append(("message_received", {"mailbox": mailbox, "folder": folder, "summary": summary}))


@hookimpl
def tricoma_mail_messages_received(mailbox, folder, summaries):
    calls.append(("messages_received", {"mailbox": mailbox, "folder": folder, "summaries": summaries}))


@hookimpl
def tricoma_mail_event(event):
    calls.append(("event", {"event": event}))


@hookimpl
def tricoma_mail_known_senders(mailbox):
    calls.append(("known_senders", {"mailbox": mailbox}))
    return [KnownSender("Sample Supplies Ltd", ("billing@sample-supplies.test",), ("GB82 WEST 1234 5698 7654 32",),
                        kind="supplier")]


@hookimpl
def tricoma_mail_register_rights():
    calls.append(("register_rights", {}))
    return [Right("sample_approve", "Approve samples")]


@hookimpl
def tricoma_mail_menu_items(user):
    calls.append(("menu_items", {"user": user}))
    return [MenuItem("Sample app", "/sample/", "apps", 10)]


@hookimpl
def tricoma_mail_mailbox_client(mailbox):
    calls.append(("mailbox_client", {"mailbox": mailbox}))
    if mailbox.title.startswith("Sample client"):
        return f"/sample/client/{mailbox.id}"
    return None


@hookimpl
def tricoma_mail_settings_panels(user):
    calls.append(("settings_panels", {"user": user}))
    return [SettingsPanel("Sample settings", "/sample/", "Settings of the sample plugin", 10)]


@hookimpl
def tricoma_mail_register_blueprints():
    return [blueprint]


def sample_job(text: str, *, worker: str) -> str:
    calls.append(("sample_job", {"text": text, "worker": worker}))
    return f"sampled {text}"


@hookimpl
def tricoma_mail_register_jobs():
    calls.append(("register_jobs", {}))
    return [JobTask("sample_job", "sync", sample_job)]


@hookimpl
def tricoma_mail_register_migrations():
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample_plugin_migrations")
    return [MigrationSet(metadata, folder)]
