"""The portal's read-only API for integrations (docs/portal_api.md)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from .. import api_tokens, mailboxes
from ..extensions import db
from ..hosting_access import server_settings
from ..models import MAILBOX_ACTIVE, MAILBOX_DELETING, Mailbox

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.get("/mailboxes")
def list_mailboxes():
    token = api_tokens.token_from_header(request.headers.get("Authorization"))
    if token is None:
        response = jsonify(error="a valid API token is required (Authorization: Bearer …)")
        response.headers["WWW-Authenticate"] = 'Bearer realm="tricoma portal"'
        return response, 401
    settings = server_settings()
    listed = [_mailbox_json(token, mailbox, settings)
              for mailbox in mailboxes.tenant_mailboxes(token.tenant_id)]
    db.session.commit()  # last use and new integration passwords
    return jsonify(mailboxes=listed)


def _mailbox_json(token, mailbox: Mailbox, settings: dict) -> dict:
    usable = mailbox.state in (MAILBOX_ACTIVE, MAILBOX_DELETING)
    return {
        "id": mailbox.id,
        "login": mailbox.login,
        "display_name": mailbox.display_name,
        "state": mailbox.state,
        "delete_after": mailbox.delete_after.isoformat() if mailbox.delete_after else None,
        "quota_bytes": mailbox.quota,
        "addresses": [alias.address for alias in mailbox.aliases],
        "imap": {"host": settings.get("imap_host"), "port": settings.get("imap_port"),
                 "security": settings.get("imap_security")},
        "smtp": {"host": settings.get("smtp_host"), "port": settings.get("smtp_port"),
                 "security": settings.get("smtp_security")},
        # filters and vacation (ManageSieve, RFC 5804: STARTTLS on the IMAP host)
        "sieve": {"host": settings.get("imap_host"), "port": settings.get("sieve_port"), "security": "starttls"},
        "credentials": {
            "username": mailbox.login,
            "app_password": api_tokens.integration_password(token, mailbox),
            "label": token.label,
        } if usable else None,
    }
