"""Admin → Plugins: every installed plugin, its hooks, its on/off switch and its recent errors."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .._state import mail_state
from .access import admin_required

blueprint = Blueprint(
    "tricoma_mail_admin_plugins",
    __name__,
    url_prefix="/mail/admin/plugins",
    template_folder="../templates",
)


@blueprint.get("/")
@admin_required
def index():
    state = mail_state()
    disabled = state.plugin_states.disabled_names()
    rows = [
        {
            "info": info,
            "enabled": name not in disabled,
            "failures": state.plugin_states.recent_failures(name),
        }
        for name, info in sorted(state.plugins.items(), key=lambda item: (item[1].builtin, item[0]))
    ]
    return render_template("tricoma_mail/admin/plugins.html", rows=rows)


@blueprint.post("/<name>/state")
@admin_required
def set_state(name: str):
    state = mail_state()
    info = state.plugins.get(name)
    if info is None or not info.switchable:
        abort(404)
    enabled = request.form.get("enabled") == "1"
    state.plugin_states.set_enabled(name, enabled, changed_by=current_user.get_id())
    if enabled:
        flash(_("Plugin %(name)s is switched on.", name=name), "success")
    else:
        flash(_("Plugin %(name)s is switched off.", name=name), "success")
    return redirect(url_for(".index"))
