"""The JSON the mail client's scripts ask for, under ``/api/mail/`` (DESIGN "Web"): the same
rights checks as the pages."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from ..mail.address_book import correspondents
from .mail_common import install

blueprint = Blueprint("tricoma_mail_api", __name__, url_prefix="/api/mail")
install(blueprint, json_api=True)


@blueprint.get("/addresses")
def addresses():
    """Earlier correspondents matching ``q`` (name or address), for address completion."""
    found = correspondents(current_user, request.args.get("q", ""), limit=10)
    return jsonify(addresses=[{"name": c.name, "email": c.email, "label": str(c)} for c in found])
