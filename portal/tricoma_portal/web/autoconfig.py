"""Mail-program set-up by address, which the domains' autoconfig/autodiscover DNS records point
to: Thunderbird's autoconfig (``/mail/config-v1.1.xml?emailaddress=…``) and Outlook's
autodiscover (``POST /autodiscover/autodiscover.xml``). Public, as in every hosting product;
they answer only for active domains and name no mailbox."""
from __future__ import annotations

import re

from flask import Blueprint, Response, render_template, request
from sqlalchemy import select

from ..errors import NotFound
from ..extensions import csrf, db
from ..hosting_access import server_settings
from ..models import DOMAIN_ACTIVE, Domain

blueprint = Blueprint("autoconfig", __name__)

# Outlook's request is a small XML document; only its address is read (no XML parser on input)
EMAIL_IN_REQUEST = re.compile(rb"<EMailAddress>\s*([^<\s]{3,254})\s*</EMailAddress>", re.IGNORECASE)


def _settings_for(address: str) -> tuple[str, str, dict]:
    address = (address or "").strip().lower()
    _local, _at, domain_name = address.rpartition("@")
    domain = db.session.scalar(select(Domain).where(Domain.name == domain_name,
                                                   Domain.state == DOMAIN_ACTIVE))
    settings = server_settings()
    if not _at or domain is None or not settings:
        raise NotFound()
    return address, domain.name, settings


def _xml(template: str, **context) -> Response:
    return Response(render_template(template, **context), mimetype="application/xml")


@blueprint.get("/mail/config-v1.1.xml")
@blueprint.get("/.well-known/autoconfig/mail/config-v1.1.xml")
def thunderbird():
    address, domain_name, settings = _settings_for(request.args.get("emailaddress", ""))
    return _xml("portal/autoconfig.xml", address=address, domain_name=domain_name, s=settings)


@blueprint.post("/autodiscover/autodiscover.xml")
@blueprint.post("/Autodiscover/Autodiscover.xml")
@csrf.exempt
def outlook():
    match = EMAIL_IN_REQUEST.search(request.get_data(cache=False)[:65536])
    if match is None:
        raise NotFound()
    address, _domain_name, settings = _settings_for(match.group(1).decode("ascii", "replace"))
    return _xml("portal/autodiscover.xml", address=address, s=settings)
