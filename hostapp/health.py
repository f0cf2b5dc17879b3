"""``/health`` (the process is alive) and ``/ready`` (it can serve: database and queue answer,
no shutdown under way) for a load balancer or an orchestrator. Neither needs a login; neither
tells more than a word per problem."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from tricoma_mail_plugin import readiness_problems

blueprint = Blueprint("health", __name__)


@blueprint.get("/health")
def health():
    return jsonify(status="ok")


@blueprint.get("/ready")
def ready():
    problems = readiness_problems(current_app._get_current_object())
    if problems:
        return jsonify(status="not ready", problems=problems), 503
    return jsonify(status="ready")
