"""Hosting → Domains: order or transfer a domain, bring one whose DNS stays elsewhere, see the
DNS records mail needs and check them."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import domain_orders, domains
from ..models import SOURCE_EXTERNAL, Domain
from ..tenancy import tenant_row
from . import dns_labels
from .access import CUSTOMER_ADMIN, CUSTOMERS, roles, tenant_id

blueprint = Blueprint("domains", __name__, url_prefix="/domains")


@blueprint.get("")
@roles(*CUSTOMERS)
def index():
    return render_template(
        "portal/domains.html", domains=domains.tenant_domains(tenant_id()),
        orders=domain_orders.tenant_orders(tenant_id()), state_label=domain_orders.state_label,
        kind_label=domain_orders.kind_label,
    )


@blueprint.post("/order")
@roles(*CUSTOMER_ADMIN)
def order():
    placed = domain_orders.order_domain(
        tenant_id(), current_user.id, request.form.get("name", ""),
        auth_code=request.form.get("auth_code") if request.form.get("kind") == "transfer" else None,
    )
    flash(_("Your order for %(name)s has been received.", name=placed.domain.name), "success")
    return redirect(url_for("domains.index"))


@blueprint.post("/external")
@roles(*CUSTOMER_ADMIN)
def external():
    domain = domains.add_external_domain(tenant_id(), request.form.get("name", ""))
    return redirect(url_for("domains.detail", domain_id=domain.id))


@blueprint.get("/<int:domain_id>")
@roles(*CUSTOMERS)
def detail(domain_id: int):
    domain = tenant_row(Domain, domain_id, tenant_id())
    return _render_detail(domain, checks=None)


def _render_detail(domain: Domain, checks):
    verification_name = (domains.verification_record_name(domain)
                         if domain.source == SOURCE_EXTERNAL else None)
    return render_template(
        "portal/domain.html", domain=domain, records=domains.expected_records(domain),
        checks=checks, verification_name=verification_name, purpose=dns_labels.purpose,
        problem=dns_labels.problem,
    )


@blueprint.post("/<int:domain_id>/check-dns")
@roles(*CUSTOMERS)
def check_dns(domain_id: int):
    domain = tenant_row(Domain, domain_id, tenant_id())
    return _render_detail(domain, checks=domains.check_dns(domain))


@blueprint.post("/<int:domain_id>/verify")
@roles(*CUSTOMER_ADMIN)
def verify(domain_id: int):
    domain = tenant_row(Domain, domain_id, tenant_id())
    if domains.verify_external_domain(domain):
        flash(_("The domain is proven and active."), "success")
    else:
        flash(_("The TXT record was not found yet. DNS changes can take a while."), "error")
    return redirect(url_for("domains.detail", domain_id=domain.id))


@blueprint.post("/<int:domain_id>/delete")
@roles(*CUSTOMER_ADMIN)
def delete(domain_id: int):
    domain = tenant_row(Domain, domain_id, tenant_id())
    domains.delete_domain(domain)
    flash(_("The domain was removed."), "success")
    return redirect(url_for("domains.index"))
