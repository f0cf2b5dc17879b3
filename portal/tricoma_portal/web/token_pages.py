"""API tokens of the customer: create (shown once), list, revoke."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import api_tokens
from ..models import ApiToken
from ..tenancy import tenant_row
from .access import CUSTOMER_ADMIN, roles, tenant_id

blueprint = Blueprint("tokens", __name__, url_prefix="/tokens")


@blueprint.get("")
@roles(*CUSTOMER_ADMIN)
def index():
    return render_template("portal/tokens.html", tokens=api_tokens.tenant_tokens(tenant_id()),
                           new_token=None)


@blueprint.post("")
@roles(*CUSTOMER_ADMIN)
def create():
    token, plain = api_tokens.create_token(tenant_id(), current_user.id, request.form.get("label", ""))
    return render_template("portal/tokens.html", tokens=api_tokens.tenant_tokens(tenant_id()),
                           new_token=plain, new_token_row=token)


@blueprint.post("/<int:token_id>/revoke")
@roles(*CUSTOMER_ADMIN)
def revoke(token_id: int):
    api_tokens.revoke_token(tenant_row(ApiToken, token_id, tenant_id()))
    flash(_("The token was revoked."), "success")
    return redirect(url_for("tokens.index"))
