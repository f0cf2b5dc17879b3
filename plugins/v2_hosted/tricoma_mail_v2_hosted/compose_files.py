"""Attachments and autosave in the v2 compose dialog, the way the v1 form has them.

Files go through core's upload endpoint into core's upload store (in the database, within the
attachment limit); the dialog keeps their tokens and sends them with the mail (``views.send``) or
the draft (core's draft endpoint). A forward and a reopened draft start with the original's
attachments, kept in the same store. The page's script is ``static/v2_hosted/compose_files.js``;
its markup, words and settings come from ``templates/v2_hosted/compose_files.html``.
"""
from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from tricoma_mail_plugin import (
    ComposeUpload,
    compose_autosave_seconds,
    compose_upload_limit,
    discard_compose_uploads,
    open_upload_space,
    require_mailbox_right,
    size_text,
    upload_too_large_message,
)

from .i18n import gettext as _


def upload_values(uploads: list[ComposeUpload]) -> list[dict]:
    """The uploads as the script shows them (one chip each)."""
    return [{"token": stored.token, "filename": stored.filename, "size": stored.size,
             "size_text": size_text(stored.size), "content_type": stored.content_type} for stored in uploads]


def words() -> dict[str, str]:
    return {
        "attachments": _("Attachments"),
        "add_files": _("Add files"),
        "drop_here": _("Drop files here to attach them."),
        "limit_hint": _("Up to %(limit)s in total.", limit=size_text(compose_upload_limit())),
        "too_large": upload_too_large_message(),
        "upload_failed": _("The upload failed."),
        "uploading": _("Uploading %(name)s…"),
        "uploaded": _("%(name)s is attached."),
        "remove": _("Remove %(name)s"),
        "removed": _("%(name)s was removed."),
        "wait_for_uploads": _("Please wait until the files are uploaded."),
        "saving": _("Saving draft…"),
        "save_failed": _("The draft could not be saved."),
        "kept_as_draft": _("The mail is kept as a draft."),
        "forward_attachment": _("Forward as attachment"),
        "edit_draft": _("Edit draft"),
    }


def install(pages, api) -> None:
    """Adds the compose dialog's settings to the page's templates and the removal of an upload
    to the page's JSON API (called by ``views`` on its blueprints)."""

    @pages.context_processor
    def _compose_files_settings():
        def settings(mailbox_id: int) -> dict:
            open_upload_space()  # before the page's first uploads, which may start at once
            return {"upload_url": url_for("tricoma_mail_compose.upload", mailbox_id=mailbox_id),
                    "remove_url": url_for("v2_hosted_api.remove_upload", mailbox_id=mailbox_id, token="TOKEN"),
                    "limit": compose_upload_limit(), "autosave_seconds": compose_autosave_seconds(),
                    "words": words()}
        return {"compose_files_settings": settings}

    @api.delete("/uploads/<token>", endpoint="remove_upload")
    def remove_upload(mailbox_id: int, token: str):
        """A file taken out of the mail before it was sent: it leaves the upload store at once."""
        require_mailbox_right(current_user, mailbox_id, "read")
        # only this session's uploads count: another's token (or one gone already) removes nothing
        return jsonify(removed=bool(discard_compose_uploads([token])))
