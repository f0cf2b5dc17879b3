"""Who may open core's admin pages. (The sign-in guard of every page blueprint, core's and
plugins', is :func:`plugins.ui.sign_in_required`.) The host's users are Flask-Login users with
an ``is_admin`` flag."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app
from flask_login import current_user


def admin_required(view):
    """Let only the host's admins in; anonymous users go to the host's login page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not getattr(current_user, "is_admin", False):
            abort(403)
        return view(*args, **kwargs)

    return wrapped

