"""Whether this process can serve: the database answers, the queue's Redis (if configured)
answers, and the process is not stopping. For a load balancer's readiness check (the host's
``/ready``); ``/health`` only says the process is alive."""
from __future__ import annotations

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .._state import mail_state
from .redis_link import broker_configured, redis_connection

_STOPPING_KEY = "tricoma_mail_stopping"


def mark_stopping(app: Flask) -> None:
    """From now on this process reports itself not ready (a graceful shutdown has begun)."""
    app.extensions[_STOPPING_KEY] = True


def readiness_problems(app: Flask) -> list[str]:
    """What keeps this process from serving, in a word each; empty when it is ready."""
    problems = []
    if app.extensions.get(_STOPPING_KEY):
        problems.append("stopping")
    with app.app_context():
        session = mail_state(app).db.session
        try:
            session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            problems.append("database")
        finally:
            session.rollback()
        if broker_configured(app):
            try:
                redis_connection(app).ping()
            except RedisError:
                problems.append("queue")
    return problems
