"""Settings → Move a mailbox: choose an external (v1) mailbox and a hosted one (manage on both),
start the move as a background job, and watch its progress bar, which the page's script updates
from ``/<run>/status`` without a reload. Starting the same pair again resumes a move that
stopped (``move/runs.py``)."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from tricoma_mail_plugin import InvalidSettings, sign_in_required

from .i18n import gettext as _
from .move import runs

move_pages = Blueprint("v2_hosted_move", __name__, url_prefix="/mail/v2/move", template_folder="templates")
sign_in_required(move_pages)


@move_pages.get("/")
def index():
    return _start_page()


@move_pages.post("/")
def start():
    try:
        source_id, target_id = int(request.form.get("source", "")), int(request.form.get("target", ""))
    except ValueError:
        return _start_page(error=_("Please choose a mailbox to move and the hosted mailbox to move it into.")), 400
    try:
        run_id = runs.start(current_user, source_id, target_id)
    except InvalidSettings as error:
        return _start_page(error=error.user_message, source_id=source_id, target_id=target_id), 400
    return redirect(url_for(".progress", run_id=run_id))


@move_pages.get("/<int:run_id>")
def progress(run_id: int):
    run = runs.run_for(current_user, run_id)
    if run is None:
        abort(404)
    return render_template("v2_hosted/move_progress.html", run=run, status=status_words(run), _v2=_)


@move_pages.get("/<int:run_id>/status")
def status(run_id: int):
    run = runs.run_for(current_user, run_id)
    if run is None:
        abort(404)
    return jsonify(state=run.state, active=run.active, total=run.total, handled=run.handled,
                   percent=run.percent, copied=run.copied, skipped=run.skipped, folder=run.folder,
                   **status_words(run))


def status_words(run: runs.MoveRun) -> dict[str, str]:
    """What the page says about ``run``: the state in words and how far it got."""
    states = {
        "queued": _("Waiting to start …"),
        "running": _("Copying …"),
        "done": _("Done: %(copied)d messages copied, %(skipped)d were there already.",
                  copied=run.copied, skipped=run.skipped),
        "failed": _("The move stopped: %(error)s Start it again to resume where it stopped; nothing is copied twice.",
                    error=run.error or ""),
        "interrupted": _("The move was interrupted. Start it again to resume where it stopped; nothing is copied twice."),
    }
    if run.total is None:
        counted = _("Counting the messages …") if run.active else ""
    else:
        counted = _("%(handled)d of %(total)d messages", handled=run.handled, total=run.total)
    folder = _("Folder: %(folder)s", folder=run.folder) if run.folder and run.active else ""
    return {"state_text": states[run.state], "count_text": counted, "folder_text": folder}


def _start_page(error: str | None = None, source_id: int | None = None, target_id: int | None = None) -> str:
    return render_template("v2_hosted/move_start.html", choices=runs.choices(current_user),
                           recent=runs.recent_runs(current_user), error=error, source_id=source_id,
                           target_id=target_id, _v2=_)
