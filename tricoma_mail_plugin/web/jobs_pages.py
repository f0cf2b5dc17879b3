"""Admin → Background jobs: what is queued, running, waiting for a retry and failed (from the
job ledger, and with a broker from the queues themselves), so an admin sees when syncs or
sending fall behind. Admins only; read-only."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..jobs import ledger, rq_queue
from ..jobs.redis_link import broker_configured
from .access import admin_required

blueprint = Blueprint(
    "tricoma_mail_jobs",
    __name__,
    url_prefix="/mail/admin/jobs",
    template_folder="../templates",
)


@blueprint.get("/")
@admin_required
def index():
    return render_template(
        "tricoma_mail/admin/jobs.html",
        counts=ledger.counts(),
        active=ledger.recent(("running", "queued", "retry"), limit=50),
        failed=ledger.recent(("failed",), limit=50),
        queues=rq_queue.overview() if broker_configured() else None,
    )
