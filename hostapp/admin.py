"""The host's admin area: users and groups."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from . import login_sessions
from .extensions import db
from .models import Group, User

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@blueprint.get("/")
@admin_required
def index():
    users = db.session.scalars(select(User).order_by(User.username)).all()
    groups = db.session.scalars(select(Group).order_by(Group.name)).all()
    return render_template("hostapp/admin/index.html", users=users, groups=groups,
                           open_sessions=login_sessions.open_counts())


@blueprint.post("/users/<int:user_id>/sign-out")
@admin_required
def sign_out_everywhere(user_id: int):
    """End every session of a user at once (a lost laptop, a leaked password)."""
    user = db.session.get(User, user_id) or abort(404)
    ended = login_sessions.end_all(user.id)
    flash(_("%(name)s is signed out everywhere (%(count)d sessions ended).", name=user.username,
            count=ended), "success")
    return redirect(url_for(".index"))


@blueprint.post("/users")
@admin_required
def create_user():
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not username or len(password) < 8:
        flash(_("Enter a user name and a password of at least 8 characters."), "error")
        return redirect(url_for(".index"))
    if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        flash(_("A user named %(name)s exists already.", name=username), "error")
        return redirect(url_for(".index"))
    user = User(
        username=username,
        email=request.form.get("email", "").strip() or None,
        display_name=request.form.get("display_name", "").strip(),
        is_admin=request.form.get("is_admin") == "1",
    )
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    flash(_("User %(name)s created.", name=username), "success")
    return redirect(url_for(".index"))


@blueprint.post("/groups")
@admin_required
def create_group():
    name = request.form.get("name", "").strip()
    if not name:
        flash(_("Enter a group name."), "error")
    elif db.session.scalar(select(Group).where(func.lower(Group.name) == name.lower())):
        flash(_("A group named %(name)s exists already.", name=name), "error")
    else:
        db.session.add(Group(name=name))
        db.session.commit()
        flash(_("Group %(name)s created.", name=name), "success")
    return redirect(url_for(".index"))


@blueprint.post("/groups/<int:group_id>/members")
@admin_required
def set_membership(group_id: int):
    group = db.session.get(Group, group_id) or abort(404)
    user = db.session.get(User, request.form.get("user_id", type=int) or 0) or abort(404)
    if request.form.get("member") == "1":
        if user not in group.members:
            group.members.append(user)
    elif user in group.members:
        group.members.remove(user)
    db.session.commit()
    return redirect(url_for(".index"))
