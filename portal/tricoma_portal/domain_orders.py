"""The life of a domain order: requested → in progress → active / rejected. Each change is
mailed to the customer. The operator queue (and a registry adapter) move orders with these."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select

from . import domains, notifications, secret_box
from .errors import Conflict, InvalidInput
from .extensions import db
from .models import (
    DOMAIN_REJECTED,
    ORDER_ACTIVE,
    ORDER_IN_PROGRESS,
    ORDER_REJECTED,
    ORDER_REQUESTED,
    SOURCE_REGISTER,
    SOURCE_TRANSFER,
    DomainOrder,
    utcnow,
)
from .registrar import current_registrar

OPEN_STATES = (ORDER_REQUESTED, ORDER_IN_PROGRESS)
# EPP authInfo: 6–32 printable ASCII characters without blanks (what registries hand out)
AUTH_CODE = re.compile(r"^[\x21-\x7e]{6,32}$")


def order_domain(tenant_id: int, user_id: int, name: str, auth_code: str | None = None) -> DomainOrder:
    """Order a registration, or with ``auth_code`` a transfer. The code is stored encrypted and
    never shown again."""
    kind = SOURCE_REGISTER
    if auth_code is not None and auth_code.strip():
        auth_code = auth_code.strip()
        if not AUTH_CODE.match(auth_code):
            raise InvalidInput(_("An auth code has 6 to 32 characters without blanks."))
        kind = SOURCE_TRANSFER
    else:
        auth_code = None
    domain = domains.new_domain(tenant_id, name, kind)
    db.session.flush()
    order = DomainOrder(
        tenant_id=tenant_id, domain_id=domain.id, kind=kind, requested_by_id=user_id,
        auth_code_encrypted=secret_box.encrypt(auth_code) if auth_code else None,
    )
    db.session.add(order)
    db.session.flush()
    current_registrar().submit(order, auth_code)
    db.session.commit()
    notifications.send_to_tenant(order.tenant, lambda: _state_mail(order))
    return order




def state_label(state: str) -> str:
    return {
        ORDER_REQUESTED: _("requested"),
        ORDER_IN_PROGRESS: _("in progress"),
        ORDER_ACTIVE: _("active"),
        ORDER_REJECTED: _("rejected"),
    }[state]


def kind_label(kind: str) -> str:
    return _("transfer") if kind == SOURCE_TRANSFER else _("registration")


def open_orders() -> list[DomainOrder]:
    """The operator queue, oldest first."""
    return list(db.session.scalars(
        select(DomainOrder).where(DomainOrder.state.in_(OPEN_STATES)).order_by(DomainOrder.id)
    ))


def recent_orders(limit: int = 50) -> list[DomainOrder]:
    return list(db.session.scalars(
        select(DomainOrder).where(DomainOrder.state.not_in(OPEN_STATES))
        .order_by(DomainOrder.updated_at.desc()).limit(limit)
    ))


def tenant_orders(tenant_id: int) -> list[DomainOrder]:
    return list(db.session.scalars(
        select(DomainOrder).where(DomainOrder.tenant_id == tenant_id).order_by(DomainOrder.id.desc())
    ))


def start(order: DomainOrder, operator_id: int) -> None:
    _move(order, operator_id, (ORDER_REQUESTED,), ORDER_IN_PROGRESS)


def complete(order: DomainOrder, operator_id: int) -> None:
    _move(order, operator_id, OPEN_STATES, ORDER_ACTIVE)


def reject(order: DomainOrder, operator_id: int, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Please give the customer a reason."))
    _move(order, operator_id, OPEN_STATES, ORDER_REJECTED, reason=reason)


def _move(order: DomainOrder, operator_id: int, allowed_from: tuple[str, ...], state: str,
          reason: str | None = None) -> None:
    if order.state not in allowed_from:
        raise Conflict(_("This order is already %(state)s.", state=state_label(order.state)))
    order.state, order.reason, order.handled_by_id = state, reason, operator_id
    order.updated_at = utcnow()
    if state in (ORDER_ACTIVE, ORDER_REJECTED):
        order.auth_code_encrypted = None  # its use is over
    if state == ORDER_REJECTED:
        order.domain.state = DOMAIN_REJECTED
    if state == ORDER_ACTIVE:
        try:
            domains.activate_domain(order.domain)  # commits the order with the domain
        except Exception:
            db.session.rollback()  # the order stays where it was
            raise
    db.session.commit()
    notifications.send_to_tenant(order.tenant, lambda: _state_mail(order))


def _state_mail(order: DomainOrder) -> tuple[str, str]:
    name, state = order.domain.name, state_label(order.state)
    subject = _("Your domain order %(name)s: %(state)s", name=name, state=state)
    lines = [
        _("The %(kind)s of %(name)s is now: %(state)s.", kind=kind_label(order.kind), name=name,
          state=state),
    ]
    if order.reason:
        lines.append(_("Reason: %(reason)s", reason=order.reason))
    if order.state == ORDER_ACTIVE:
        lines.append(_("You can now create mailboxes on it. The DNS records it needs are on its "
                       "page in the portal."))
    return subject, "\n\n".join(lines) + "\n"


