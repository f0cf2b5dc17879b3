"""The customer admin's page of the customer's users."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import accounts
from ..models import ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER, User
from ..tenancy import tenant_row
from .access import CUSTOMER_ADMIN, roles, tenant_id

blueprint = Blueprint("users", __name__, url_prefix="/users")


@blueprint.get("")
@roles(*CUSTOMER_ADMIN)
def index():
    return render_template("portal/users.html", users=accounts.tenant_users(tenant_id()),
                           new_user=None)


@blueprint.post("")
@roles(*CUSTOMER_ADMIN)
def create():
    role = ROLE_CUSTOMER_ADMIN if request.form.get("role") == ROLE_CUSTOMER_ADMIN else ROLE_CUSTOMER_USER
    user, password = accounts.create_user(
        tenant_id(), request.form.get("email", ""), role,
        display_name=request.form.get("display_name", ""), language=current_user.language,
    )
    return render_template("portal/users.html", users=accounts.tenant_users(tenant_id()),
                           new_user=user, new_password=password)


@blueprint.post("/<int:user_id>/delete")
@roles(*CUSTOMER_ADMIN)
def delete(user_id: int):
    accounts.delete_user(tenant_row(User, user_id, tenant_id()), current_user.id)
    flash(_("The user was removed."), "success")
    return redirect(url_for("users.index"))
