"""The JSON the mail client's scripts ask for, under ``/api/mail/`` (DESIGN "Web"): the same
rights checks as the pages."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from ..cache.listing import SORT_COLUMNS, folder_ids, folder_named, list_messages
from ..errors import InvalidSettings, MessageNotFound
from ..mail.address_book import correspondents
from ..rights import access
from .mail_common import install
from .message_rows import message_rows

blueprint = Blueprint("tricoma_mail_api", __name__, url_prefix="/api/mail")
install(blueprint, json_api=True)


@blueprint.get("/addresses")
def addresses():
    """Earlier correspondents matching ``q`` (name or address), for address completion."""
    found = correspondents(current_user, request.args.get("q", ""), limit=10)
    return jsonify(addresses=[{"name": c.name, "email": c.email, "label": str(c)} for c in found])


@blueprint.get("/m/<int:mailbox_id>/messages")
def messages(mailbox_id: int):
    """One page of a folder's list as JSON (for the v2 interface): the rows the folder page
    shows, formatted the same way, and the cursor of the next page (``null`` on the last).
    Arguments as the folder page's: ``folder``, ``sort``, ``order=asc``, ``cursor``."""
    mailbox = access.require(current_user, mailbox_id, "read")
    name = request.args.get("folder") or "INBOX"
    sort = request.args.get("sort", "date")
    if sort not in SORT_COLUMNS:
        sort = "date"
    descending = request.args.get("order") != "asc"
    try:
        page = list_messages(folder_named(mailbox.id, name), sort, descending, request.args.get("cursor") or None)
    except ValueError as error:
        raise InvalidSettings(_("This page of the list does not exist any more; start again from the first page."),
                              field="cursor") from error
    if not page.messages and not folder_ids(mailbox.id, [name]):  # asked only when the page is empty
        raise MessageNotFound(_("The folder %(name)s does not exist (any more).", name=name))
    return jsonify(folder=name, sort=sort, order="desc" if descending else "asc", next_cursor=page.next_cursor,
                   messages=[row.as_json() for row in message_rows(page.messages)])
