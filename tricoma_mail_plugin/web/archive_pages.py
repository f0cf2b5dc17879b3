"""Mail → Archive: the auditor's search and export over the GoBD archive (docs/archive.md).

Only holders of the auditor role (``flask mail archive auditor grant``) may open these pages;
the role gives nothing else, and no mailbox right or admin flag gives it. Every export is
audited with the auditor's id and the entries exported.
"""
from __future__ import annotations

from datetime import UTC, datetime
from functools import wraps

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user

from ..archive.auditors import is_auditor
from ..archive.export import MAX_EXPORT, export_zip
from ..archive.search import ArchiveQuery, pending_count, search_archive
from ..models import is_row_id, utcnow
from ..plugins.ui import sign_in_required
from ..rights.access import audit

blueprint = Blueprint(
    "tricoma_mail_archive",
    __name__,
    url_prefix="/mail/archive",
    template_folder="../templates",
)

sign_in_required(blueprint)


def auditor_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not is_auditor(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@blueprint.get("/")
@auditor_required
def index():
    query = ArchiveQuery(
        text=request.args.get("q", "")[:500],
        direction=request.args.get("direction") if request.args.get("direction") in ("in", "out") else None,
        since=_day(request.args.get("since")),
        until=_day(request.args.get("until")),
    )
    searched = any(request.args.get(name) for name in ("q", "direction", "since", "until"))
    hits = search_archive(query) if searched else []
    return render_template("tricoma_mail/archive/index.html", query=query, hits=hits, searched=searched,
                           args=request.args, not_indexed=pending_count() if searched else 0)


@blueprint.post("/export")
@auditor_required
def export():
    entry_ids = [int(value) for value in request.form.getlist("entry") if value.isdigit()]
    entry_ids = [entry_id for entry_id in entry_ids if is_row_id(entry_id)][:MAX_EXPORT]
    if not entry_ids:
        abort(400)
    data = export_zip(entry_ids)
    audit(str(current_user.get_id()), None, "archive_export", entries=entry_ids[:1000], count=len(entry_ids))
    name = f"archive-export-{utcnow():%Y%m%d-%H%M%S}.zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
