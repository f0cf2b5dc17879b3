"""One-click unsubscribe from bulk mail (RFC 8058). Open to anyone with the link: the signed
token in it is the only authority, and it names one address on one list of one mailbox.

``POST`` (what a mail client's "Unsubscribe" button sends, body ``List-Unsubscribe=One-Click``)
records the opt-out at once, without cookies, a login or a CSRF token. ``GET`` (a person who
opens the link) only asks for confirmation, because link scanners open every link they see.
"""
from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..plugins.ui import sign_in_required
from ..sending import opt_outs

blueprint = Blueprint("tricoma_mail_unsubscribe", __name__, url_prefix="/mail/unsubscribe",
                      template_folder="../templates")
sign_in_required(blueprint, exempt=("tricoma_mail_unsubscribe.confirm", "tricoma_mail_unsubscribe.one_click"))


@blueprint.record_once
def _without_csrf(state) -> None:
    # A mail client posts the one-click request with no session and no form token (RFC 8058).
    state.app.extensions["csrf"].exempt(blueprint)


@blueprint.get("/<token>")
def confirm(token: str):
    subscription = opt_outs.subscription_of(token)
    if subscription is None:
        abort(404)
    return render_template("tricoma_mail/unsubscribe/confirm.html", token=token, subscription=subscription)


@blueprint.post("/<token>")
def one_click(token: str):
    subscription = opt_outs.subscription_of(token)
    if subscription is None:
        abort(404)
    opt_outs.opt_out(subscription)
    return render_template("tricoma_mail/unsubscribe/done.html", subscription=subscription)
