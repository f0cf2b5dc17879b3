"""The production server's parts that are ours: /health and /ready, and gunicorn's hooks
(hostapp/gunicorn_conf.py) that report "not ready" when a worker is told to stop and hand back
the embedded jobs' leases when it exits. (A real gunicorn, stopped with SIGTERM, is in
tests/test_cluster_live.py.)"""
from __future__ import annotations

import signal
import threading
from types import SimpleNamespace

from sqlalchemy import select

from hostapp import gunicorn_conf
from hostapp.extensions import db
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.jobs import ledger, tasks
from tricoma_mail_plugin.jobs.embedded import EmbeddedRunner
from tricoma_mail_plugin.jobs.ledger import NewJob
from tricoma_mail_plugin.models import JobRun


def test_health_says_alive_and_ready_says_whether_the_database_and_queue_answer(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/ready").get_json() == {"status": "ready"}
    no_queue = make_app(TRICOMA_MAIL_REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    answer = no_queue.test_client().get("/ready")
    assert answer.status_code == 503 and answer.get_json()["problems"] == ["queue"]
    assert no_queue.test_client().get("/health").status_code == 200


def test_a_stopping_worker_is_not_ready_and_hands_back_its_jobs_when_it_exits(make_app, monkeypatch):
    app = make_app(TRICOMA_MAIL_SYNC_INTERVAL=0, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=0, TRICOMA_MAIL_CLEANUP_INTERVAL=0)
    running, finish = threading.Event(), threading.Event()

    def long_job(*, worker):
        running.set()
        finish.wait(30)  # still running when the worker exits
        return "done"

    monkeypatch.setitem(tasks.TASKS, "long", tasks.Task("long", tasks.SYNC_QUEUE, long_job))
    runner = EmbeddedRunner(app).start()
    mail_state(app).background = runner
    with app.app_context():
        (job,) = ledger.record_new([NewJob("long:1", "long")])
    runner.put(job)
    assert running.wait(10)

    exits = []
    worker = SimpleNamespace(wsgi=app, pid=1, handle_exit=lambda sig, frame: exits.append(sig))
    previous = signal.getsignal(signal.SIGTERM)
    try:
        gunicorn_conf.post_worker_init(worker)
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)  # SIGTERM reaches the worker
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert exits == [signal.SIGTERM]
    answer = app.test_client().get("/ready")
    assert answer.status_code == 503 and answer.get_json()["problems"] == ["stopping"]

    monkeypatch.setattr(gunicorn_conf, "graceful_timeout", 1)
    server = SimpleNamespace(log=SimpleNamespace(info=lambda *args: None))
    gunicorn_conf.worker_exit(server, worker)
    assert mail_state(app).background is None
    try:
        with app.app_context():
            row = db.session.scalar(select(JobRun).where(JobRun.key == "long:1"))
            assert row.state == "retry" and row.lease_until is None
    finally:
        finish.set()
