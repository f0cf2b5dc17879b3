"""The suppliers page (``/invoices/suppliers/``): every signed-in user sees the suppliers; only
admins add one or change its address or bank account, because the reading view trusts the
account on record (``known_senders``)."""
from __future__ import annotations

import os

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Table, select

from tricoma_mail_plugin import (
    db_session,
    is_valid_iban,
    plugin_translations,
    sign_in_required,
)

gettext, _lazy = plugin_translations(os.path.join(os.path.dirname(os.path.abspath(__file__)), "translations"))


class InvalidSupplier(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def save_supplier(suppliers: Table, values: dict[str, str], supplier_id: int | None = None) -> None:
    """Add a supplier, or change the one with ``supplier_id``; raises :class:`InvalidSupplier`."""
    name, email, iban = (values.get(key, "").strip() for key in ("name", "email", "iban"))
    if not name:
        raise InvalidSupplier(gettext("Enter the supplier's name."), "name")
    if email and ("@" not in email or any(ch.isspace() for ch in email) or len(email) > 254):
        raise InvalidSupplier(gettext("%(value)s is not a valid e-mail address.", value=email), "email")
    if iban and not is_valid_iban(iban):
        raise InvalidSupplier(gettext("%(value)s is not a valid IBAN.", value=iban), "iban")
    row = {"name": name[:200], "email": email or None, "iban": " ".join(iban.upper().split()) or None}
    session = db_session()
    if supplier_id is None:
        session.execute(suppliers.insert().values(**row))
    elif session.execute(suppliers.update().where(suppliers.c.id == supplier_id).values(**row)).rowcount != 1:
        session.rollback()
        raise InvalidSupplier(gettext("This supplier no longer exists."), "id")
    session.commit()


def supplier_blueprint(suppliers: Table) -> Blueprint:
    blueprint = Blueprint("invoices_suppliers", __name__, url_prefix="/invoices/suppliers",
                          template_folder="templates")
    sign_in_required(blueprint)

    def page(form: dict, error: InvalidSupplier | None = None, status: int = 200):
        rows = db_session().execute(select(suppliers).order_by(suppliers.c.name)).all()
        return render_template("invoices/suppliers.html", suppliers=rows, form=form, error=error, t=gettext,
                               may_edit=bool(getattr(current_user, "is_admin", False))), status

    @blueprint.get("/")
    def index():
        return page({})

    @blueprint.post("/")
    def save():
        if not getattr(current_user, "is_admin", False):
            abort(403)
        form = {key: request.form.get(key, "") for key in ("name", "email", "iban")}
        supplier_id = request.form.get("id", "")
        try:
            save_supplier(suppliers, form, int(supplier_id) if supplier_id.isdigit() else None)
        except InvalidSupplier as error:
            return page(form, error, 400)
        flash(gettext("The supplier %(name)s is saved.", name=form["name"].strip()), "success")
        return redirect(url_for(".index"))

    return blueprint
