"""Mail → Notices: the signed-in user's notices (mentions, assignments), opened and marked read;
and the small JSON answer the v2 page polls to keep the navigation's count live."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from .. import notices
from ..plugins.ui import sign_in_required

blueprint = Blueprint("tricoma_mail_notices", __name__, url_prefix="/mail/notices",
                      template_folder="../templates")
sign_in_required(blueprint)

PAGE_SIZE = 200


@blueprint.get("/")
def index():
    return render_template("tricoma_mail/notices/index.html", notices=notices.latest(current_user, PAGE_SIZE),
                           unread=notices.unread_count(current_user))


@blueprint.get("/unread")
def unread():
    """The unread count and the newest notices, for the navigation's live count."""
    return jsonify(count=notices.unread_count(current_user), url=url_for(".index"),
                   items=[n.as_json() for n in notices.latest(current_user, unread_only=True)])


@blueprint.post("/<int:notice_id>/open")
def open_notice(notice_id: int):
    """Mark the notice read and go where it points (its conversation, its record)."""
    row = notices.mark_read(current_user, notice_id)
    if row is None:
        abort(404)
    if _wants_json():
        return jsonify(ok=True, link=row.link, count=notices.unread_count(current_user))
    return redirect(row.link or url_for(".index"))


@blueprint.post("/read-all")
def read_all():
    marked = notices.mark_all_read(current_user)
    if _wants_json():
        return jsonify(ok=True, marked=marked, count=0)
    return redirect(url_for(".index"))


def _wants_json() -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest" or request.is_json
