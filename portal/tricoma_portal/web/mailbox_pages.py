"""Hosting → E-Mail-Adressen: create mailboxes (credentials shown once), their state, quota,
password reset, deletion, addresses and app passwords."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import api_tokens, domains, mailboxes
from ..errors import NotFound
from ..hosting_access import server_settings
from ..models import Alias, AppPassword, Mailbox
from ..tenancy import tenant_row
from .access import CUSTOMERS, roles, tenant_id

blueprint = Blueprint("mailboxes", __name__, url_prefix="/mailboxes")


def _mailbox(mailbox_id: int) -> Mailbox:
    return tenant_row(Mailbox, mailbox_id, tenant_id())


@blueprint.get("")
@roles(*CUSTOMERS)
def index():
    return render_template("portal/mailboxes.html",
                           mailboxes=mailboxes.tenant_mailboxes(tenant_id()),
                           domains=domains.active_domains(tenant_id()))


@blueprint.post("")
@roles(*CUSTOMERS)
def create():
    mailbox, password = mailboxes.create_mailbox(
        tenant_id(), request.form.get("name", ""), _int(request.form.get("domain_id")),
        display_name=request.form.get("display_name", ""),
        quota_mb=request.form.get("quota_mb", ""),
    )
    return _credentials_page(mailbox, password, created=True)


def _credentials_page(mailbox: Mailbox, password: str, created: bool):
    return render_template("portal/credentials.html", mailbox=mailbox, password=password,
                           settings=server_settings(), created=created)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@blueprint.get("/<int:mailbox_id>")
@roles(*CUSTOMERS)
def detail(mailbox_id: int):
    return render_template("portal/mailbox.html", mailbox=_mailbox(mailbox_id),
                           settings=server_settings(), grace_days=mailboxes.grace_days())


@blueprint.post("/<int:mailbox_id>/reset-password")
@roles(*CUSTOMERS)
def reset_password(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    return _credentials_page(mailbox, mailboxes.reset_password(mailbox), created=False)


@blueprint.post("/<int:mailbox_id>/quota")
@roles(*CUSTOMERS)
def quota(mailbox_id: int):
    mailboxes.set_quota(_mailbox(mailbox_id), request.form.get("quota_mb", ""))
    flash(_("The quota was saved."), "success")
    return redirect(url_for("mailboxes.detail", mailbox_id=mailbox_id))


@blueprint.post("/<int:mailbox_id>/retry")
@roles(*CUSTOMERS)
def retry(mailbox_id: int):
    mailboxes.retry_provisioning(_mailbox(mailbox_id))
    return redirect(url_for("mailboxes.detail", mailbox_id=mailbox_id))


@blueprint.post("/<int:mailbox_id>/delete")
@roles(*CUSTOMERS)
def delete(mailbox_id: int):
    mailbox = _mailbox(mailbox_id)
    login = mailbox.login
    mailboxes.delete_mailbox(mailbox, request.form.get("confirm", ""))
    flash(_("The mailbox %(login)s was deleted.", login=login), "success")
    return redirect(url_for("mailboxes.index"))


@blueprint.post("/<int:mailbox_id>/addresses")
@roles(*CUSTOMERS)
def add_address(mailbox_id: int):
    alias = mailboxes.add_address(_mailbox(mailbox_id), request.form.get("address", ""))
    flash(_("%(address)s was added.", address=alias.address), "success")
    return redirect(url_for("mailboxes.detail", mailbox_id=mailbox_id))


@blueprint.post("/<int:mailbox_id>/addresses/<int:alias_id>/remove")
@roles(*CUSTOMERS)
def remove_address(mailbox_id: int, alias_id: int):
    mailbox = _mailbox(mailbox_id)
    alias = tenant_row(Alias, alias_id, tenant_id())
    if alias.mailbox_id != mailbox.id:
        raise NotFound()
    address = alias.address
    mailboxes.remove_address(mailbox, alias, deletion_confirmed=request.form.get("delete_mailbox") == "yes")
    flash(_("%(address)s was removed.", address=address), "success")
    return redirect(url_for("mailboxes.detail", mailbox_id=mailbox_id))


@blueprint.post("/<int:mailbox_id>/app-passwords/<int:app_password_id>/revoke")
@roles(*CUSTOMERS)
def revoke_app_password(mailbox_id: int, app_password_id: int):
    _mailbox(mailbox_id)
    app_password = tenant_row(AppPassword, app_password_id, tenant_id())
    if app_password.mailbox_id != mailbox_id:
        raise NotFound()
    api_tokens.revoke_app_password(app_password)
    flash(_("The app password was revoked."), "success")
    return redirect(url_for("mailboxes.detail", mailbox_id=mailbox_id))
