"""The hoster's admin area: the domain order queue and the customers."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import accounts, domain_orders
from ..errors import NotFound
from ..extensions import db
from ..models import DomainOrder
from ..tenancy import MAX_ROW_ID
from .access import OPERATOR, roles

blueprint = Blueprint("operator", __name__, url_prefix="/admin")


def _order(order_id: int) -> DomainOrder:
    order = db.session.get(DomainOrder, order_id) if order_id <= MAX_ROW_ID else None
    if order is None:
        raise NotFound()
    return order


@blueprint.get("/orders")
@roles(*OPERATOR)
def orders():
    return render_template("portal/operator_orders.html", open_orders=domain_orders.open_orders(),
                           recent=domain_orders.recent_orders(),
                           state_label=domain_orders.state_label,
                           kind_label=domain_orders.kind_label)


@blueprint.post("/orders/<int:order_id>/start")
@roles(*OPERATOR)
def start(order_id: int):
    domain_orders.start(_order(order_id), current_user.id)
    return redirect(url_for("operator.orders"))


@blueprint.post("/orders/<int:order_id>/complete")
@roles(*OPERATOR)
def complete(order_id: int):
    order = _order(order_id)
    domain_orders.complete(order, current_user.id)
    flash(_("%(name)s is active.", name=order.domain.name), "success")
    return redirect(url_for("operator.orders"))


@blueprint.post("/orders/<int:order_id>/reject")
@roles(*OPERATOR)
def reject(order_id: int):
    order = _order(order_id)
    domain_orders.reject(order, current_user.id, request.form.get("reason", ""))
    flash(_("The order for %(name)s was rejected.", name=order.domain.name), "success")
    return redirect(url_for("operator.orders"))


@blueprint.get("/tenants")
@roles(*OPERATOR)
def tenants():
    return render_template("portal/operator_tenants.html", tenants=accounts.all_tenants(),
                           created=None)


@blueprint.post("/tenants")
@roles(*OPERATOR)
def create_tenant():
    tenant, admin, password = accounts.create_tenant(
        request.form.get("name", ""), request.form.get("contact_email", ""),
        language=request.form.get("language"), admin_email=request.form.get("admin_email") or None,
    )
    return render_template("portal/operator_tenants.html", tenants=accounts.all_tenants(),
                           created=(tenant, admin, password))
