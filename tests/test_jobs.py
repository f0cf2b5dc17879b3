"""The background jobs (tricoma_mail_plugin/jobs/): periodic jobs once per period however many
schedulers run, a duplicate delivery that does nothing, retries with backoff on RQ, the embedded
runner running the same task code in-process and handing back what it holds when it stops, and
the per-server slots that keep a slow server to its own mailboxes."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from redis import Redis
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from hostapp.extensions import db
from tricoma_mail_plugin.cache.lease import lease_is_free, take_sync_lease
from tricoma_mail_plugin.jobs import ledger, rq_queue, server_slots, tasks
from tricoma_mail_plugin.jobs.embedded import EmbeddedRunner
from tricoma_mail_plugin.jobs.ledger import NewJob
from tricoma_mail_plugin.jobs.runner import DEFERRED, DUPLICATE, run_job
from tricoma_mail_plugin.jobs.background import start_job
from tricoma_mail_plugin.jobs.schedule import Scheduler
from tricoma_mail_plugin.jobs import worker
from tricoma_mail_plugin.jobs.worker import schedule_once
from tricoma_mail_plugin.models import JobRun, Mailbox, StoredUpload, utcnow

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def broker_app(make_app):
    """An app whose jobs go through Redis, on queues of their own; the keys are removed after."""
    prefix = f"tricoma-test-{uuid.uuid4().hex[:8]}"
    app = make_app(TRICOMA_MAIL_REDIS_URL=REDIS_URL, TRICOMA_MAIL_QUEUE_PREFIX=prefix)
    yield app
    connection = Redis.from_url(REDIS_URL)
    for key in [*connection.scan_iter(f"rq:*{prefix}*"), *connection.scan_iter(f"{prefix}:*")]:
        connection.delete(key)
    connection.close()


def usable_mailboxes(count: int, port: int = 9) -> list[int]:
    rows = [Mailbox(title=f"m{n}", imap_host="127.0.0.1", imap_port=port, last_test_ok=True, folder_roles={},
                    last_test_steps=[]) for n in range(count)]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def test_a_periodic_job_is_queued_once_per_period_however_many_schedulers_run(app):
    app.config.update(TRICOMA_MAIL_SYNC_INTERVAL=60, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=2,
                      TRICOMA_MAIL_CLEANUP_INTERVAL=0, TRICOMA_MAIL_TEAM_INTERVAL=0)
    with app.app_context():
        ids = usable_mailboxes(3)
        schedulers = [Scheduler() for _ in range(4)]
        now = 6000 * 60.0
        queued = [job for scheduler in schedulers for job in scheduler.due(now)]
        assert sorted(job.key for job in queued) == sorted(
            [f"sync:{mailbox_id}:@6000" for mailbox_id in ids] + ["outbox:@180000"])
        # later in the same period: nothing new
        assert [job for scheduler in schedulers for job in scheduler.due(now + 30)] == []
        # the next period, while the last turns still wait: no second turn for any of them
        assert [job for scheduler in schedulers for job in scheduler.due(now + 60)] == []
        for job in queued:
            assert ledger.claim(job.key, "host:1:1")
            ledger.finish(job.key, "host:1:1", "done")
        again = [job for scheduler in [Scheduler(), Scheduler()] for job in scheduler.due(now + 120)]
        assert sorted(job.key for job in again) == sorted(
            [f"sync:{mailbox_id}:@6002" for mailbox_id in ids] + ["outbox:@180060"])
        # the least recently synced first
        db.session.get(Mailbox, ids[0]).last_sync_at = utcnow()
        db.session.get(Mailbox, ids[2]).last_sync_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        for job in again:
            ledger.claim(job.key, "host:1:1")
            ledger.finish(job.key, "host:1:1", "done")
        order = [job.args[0] for job in Scheduler().due(now + 180) if job.name == "sync"]
        assert order == [ids[1], ids[2], ids[0]]


def test_a_scheduler_whose_database_failed_queues_the_period_at_its_next_tick(app, monkeypatch, caplog):
    app.config.update(TRICOMA_MAIL_SYNC_INTERVAL=60, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=60,
                      TRICOMA_MAIL_CLEANUP_INTERVAL=0, TRICOMA_MAIL_TEAM_INTERVAL=0)
    with app.app_context():
        ids = usable_mailboxes(2)
        scheduler = Scheduler()
        record_new = ledger.record_new

        def locked_for_syncs(jobs):
            if any(job.name == "sync" for job in jobs):
                raise OperationalError("INSERT", {}, Exception("database is locked"))
            return record_new(jobs)

        monkeypatch.setattr(ledger, "record_new", locked_for_syncs)
        now = 7000 * 60.0
        # the outbox's turn is recorded beside the failing syncs; the failure is logged once
        assert [job.key for job in scheduler.due(now)] == ["outbox:@7000"]
        assert scheduler.due(now + 1) == []
        assert len([r for r in caplog.records if "could not be recorded" in r.getMessage()]) == 1
        monkeypatch.setattr(ledger, "record_new", record_new)
        # the next tick, still in the same period: the syncs' turns are queued, not lost
        assert sorted(job.key for job in scheduler.due(now + 2)) == sorted(
            f"sync:{mailbox_id}:@7000" for mailbox_id in ids)
        assert scheduler.due(now + 3) == []


def test_a_duplicate_delivery_of_a_job_does_not_run_it_twice(app, monkeypatch):
    runs = []
    started, release = threading.Event(), threading.Event()

    def slow(*, worker):
        runs.append(worker)
        started.set()
        release.wait(10)
        return "done"

    monkeypatch.setitem(tasks.TASKS, "slow", tasks.Task("slow", tasks.SYNC_QUEUE, slow))
    with app.app_context():
        (job,) = ledger.record_new([NewJob("slow:1", "slow")])
        assert ledger.record_new([NewJob("slow:1", "slow")]) == []  # queued once
    outcomes = []

    def deliver():
        with app.app_context():
            outcomes.append(run_job(job.key, job.name, job.args))

    first = threading.Thread(target=deliver)
    first.start()
    assert started.wait(10)
    deliver()  # the same job again while it runs
    release.set()
    first.join(10)
    deliver()  # and once more after it ran
    assert len(runs) == 1
    assert sorted(outcomes) == sorted(["done", DUPLICATE, DUPLICATE])
    with app.app_context():
        row = db.session.scalar(select(JobRun).where(JobRun.key == "slow:1"))
        assert row.state == "done" and row.attempts == 1


def refuse_redis(monkeypatch):
    """Redis refuses every queueing (its pipeline) and every ping until the returned undo runs."""
    execute, ping = Pipeline.execute, Redis.ping

    def refused(self, *args, **kwargs):
        raise RedisConnectionError("Redis is restarting")

    monkeypatch.setattr(Pipeline, "execute", refused)
    monkeypatch.setattr(Redis, "ping", refused)

    def undo():
        monkeypatch.setattr(Pipeline, "execute", execute)
        monkeypatch.setattr(Redis, "ping", ping)
    return undo


def test_jobs_redis_refused_leave_no_ledger_row_and_their_period_is_tried_again(broker_app, monkeypatch):
    broker_app.config.update(TRICOMA_MAIL_SYNC_INTERVAL=0, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=3600,
                             TRICOMA_MAIL_CLEANUP_INTERVAL=0, TRICOMA_MAIL_TEAM_INTERVAL=0)
    with broker_app.app_context():
        outbox = Queue(rq_queue.queue_name("send"), connection=Redis.from_url(REDIS_URL))
        scheduler = Scheduler()
        redis_back = refuse_redis(monkeypatch)
        with pytest.raises(RedisConnectionError):
            schedule_once(scheduler)
        with pytest.raises(RedisConnectionError):
            start_job(broker_app, "sync:1:now:refused", "sync", (1,))
        # no phantom "queued" job for the admins, nothing on a queue
        assert db.session.scalars(select(JobRun.key)).all() == []
        redis_back()
        # Redis is back: the next tick queues the period's turn, and the one-off job starts
        schedule_once(scheduler)
        assert start_job(broker_app, "sync:1:now:refused", "sync", (1,))
        keys = sorted(db.session.scalars(select(JobRun.key)))
        assert keys[0].startswith("outbox:@") and keys[1:] == ["sync:1:now:refused"]
        assert outbox.count == 1


def test_a_deferred_job_redis_refuses_to_queue_again_keeps_its_row(broker_app, monkeypatch):
    runs = []

    def busy(*, worker):
        runs.append(worker)
        raise server_slots.ServerBusy()  # its mail server had no free slot: the job goes back

    monkeypatch.setitem(tasks.TASKS, "busy", tasks.Task("busy", tasks.SYNC_QUEUE, busy))
    with broker_app.app_context():
        (job,) = ledger.record_new([NewJob("busy:1", "busy")])
        refuse_redis(monkeypatch)
        with pytest.raises(RedisConnectionError):  # RQ retries the delivery later
            rq_queue.perform(job.key, job.name, [])
        status = ledger.status("busy:1")
        assert runs and status is not None and (status.state, status.attempts) == ("queued", 0)


def test_a_scheduler_asks_a_refusing_redis_first_and_warns_once(broker_app, monkeypatch, caplog):
    broker_app.config.update(TRICOMA_MAIL_SYNC_INTERVAL=0, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=1,
                             TRICOMA_MAIL_CLEANUP_INTERVAL=0, TRICOMA_MAIL_TEAM_INTERVAL=0)
    recorded = []
    record_new = ledger.record_new

    def counted(jobs):
        recorded.extend(jobs)
        return record_new(jobs)

    monkeypatch.setattr(ledger, "record_new", counted)
    monkeypatch.setattr(worker, "TICK_SECONDS", 0.05)
    refuse_redis(monkeypatch)
    stop = threading.Event()
    ticking = threading.Thread(target=worker._schedule_until, args=(broker_app, stop))
    ticking.start()
    time.sleep(1.0)
    stop.set()
    ticking.join(5)
    # about twenty ticks: one recorded the outbox's turn, the others found Redis down by a ping
    assert len(recorded) == 1
    assert len([r for r in caplog.records if "Redis refuses" in r.getMessage()]) == 1
    with broker_app.app_context():
        assert db.session.scalars(select(JobRun.key)).all() == []


def test_a_failing_job_is_retried_with_backoff_on_the_queue_and_then_failed(broker_app, monkeypatch):
    calls = []

    def broken(*, worker):
        calls.append(time.monotonic())
        raise RuntimeError("the database went away")

    monkeypatch.setitem(tasks.TASKS, "broken", tasks.Task("broken", tasks.SYNC_QUEUE, broken))
    broker_app.config["TRICOMA_MAIL_JOB_RETRY_DELAYS"] = (0, 0)
    with broker_app.app_context():
        rq_queue.enqueue(ledger.record_new([NewJob("broken:1", "broken")]))
        rq_queue.work(burst=True, with_scheduler=False)
        row = db.session.scalar(select(JobRun).where(JobRun.key == "broken:1"))
        assert len(calls) == 3 and row.attempts == 3
        assert row.state == "failed" and "database went away" in row.last_error
        sync_queue = Queue(rq_queue.queue_name("sync"), connection=Redis.from_url(REDIS_URL))
        assert sync_queue.failed_job_registry.count == 1

        # with a delay, the retry waits in RQ's scheduled registry until it is due
        broker_app.config["TRICOMA_MAIL_JOB_RETRY_DELAYS"] = (30,)
        rq_queue.enqueue(ledger.record_new([NewJob("broken:2", "broken")]))
        before = time.time()
        rq_queue.work(burst=True, with_scheduler=False)
        (job_id,) = sync_queue.scheduled_job_registry.get_job_ids()
        due = sync_queue.scheduled_job_registry.get_scheduled_time(job_id).timestamp()
        assert before + 25 < due < time.time() + 35
        assert db.session.scalar(select(JobRun.state).where(JobRun.key == "broken:2")) == "retry"


def test_the_embedded_runner_runs_the_periodic_jobs_in_process_and_hands_back_on_stop(make_app, monkeypatch):
    app = make_app(TRICOMA_MAIL_SYNC_INTERVAL=0, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=0,
                   TRICOMA_MAIL_CLEANUP_INTERVAL=1)
    with app.app_context():
        db.session.add(StoredUpload(space="s" * 20, token="t" * 20, filename="a.txt", content_type="text/plain",
                                    size=1, data=b"x", created_at=utcnow() - timedelta(days=2)))
        db.session.commit()
        (mailbox_id,) = usable_mailboxes(1)
    syncing, answered = threading.Event(), threading.Event()

    def stuck_sync(mailbox_id, *, worker):
        assert take_sync_lease(mailbox_id)
        syncing.set()
        answered.wait(30)  # a server that does not answer before the runner stops
        return "synced"

    monkeypatch.setitem(tasks.TASKS, "sync", tasks.Task("sync", tasks.SYNC_QUEUE, stuck_sync))
    runner = EmbeddedRunner(app).start()
    try:
        with app.app_context():
            deadline = time.monotonic() + 10
            while db.session.scalar(select(StoredUpload.id)) is not None and time.monotonic() < deadline:
                db.session.rollback()
                time.sleep(0.1)
            assert db.session.scalar(select(StoredUpload.id)) is None  # the clean-up ran here
            # the run is marked done just after its work is committed
            while time.monotonic() < deadline:
                db.session.rollback()
                cleanups = db.session.scalars(select(JobRun).where(JobRun.name == "cleanup")).all()
                if cleanups and cleanups[0].state == "done":
                    break
                time.sleep(0.1)
            assert cleanups and cleanups[0].state == "done" and cleanups[0].key.startswith("cleanup:@")
            (job,) = ledger.record_new([NewJob(f"sync:{mailbox_id}:now", "sync", (mailbox_id,))])
        runner.put(job)
        assert syncing.wait(10)
    finally:
        handed = runner.stop(wait=0.5)
    assert handed >= 2  # the running job and its mailbox's sync lease
    try:
        with app.app_context():
            row = db.session.scalar(select(JobRun).where(JobRun.key == job.key))
            assert row.state == "retry" and row.lease_until is None  # due again at once, elsewhere
            assert lease_is_free(mailbox_id)
    finally:
        answered.set()  # the stuck job's thread ends


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_a_mail_server_gets_a_limited_number_of_syncs_and_a_pause_after_no_answer(make_app, broker_app, backend):
    app = broker_app if backend == "redis" else make_app()
    app.config["TRICOMA_MAIL_SERVER_CONCURRENCY"] = 2
    server = f"slow.example:{uuid.uuid4().hex[:6]}"
    with app.app_context():
        assert server_slots.take(server, "w1", 60) and server_slots.take(server, "w2", 60)
        assert not server_slots.take(server, "w3", 60)  # full
        assert server_slots.take("other.example:993", "w3", 60)  # another server is not held up
        server_slots.give_back(server, "w1")
        assert server_slots.take(server, "w3", 60)
        server_slots.give_back(server, "w2")
        server_slots.give_back(server, "w3")
        assert server_slots.take(server, "w4", 0.2)
        time.sleep(0.4)  # a holder that died: its slot runs out
        assert server_slots.take(server, "w5", 60) and server_slots.take(server, "w6", 60)
        server_slots.give_back(server, "w5")
        server_slots.give_back(server, "w6")
        assert not server_slots.paused(server)
        server_slots.pause(server, 0.5)
        assert server_slots.paused(server) and not server_slots.paused("other.example:993")
        time.sleep(0.7)
        assert not server_slots.paused(server)


def test_a_sync_whose_server_is_full_keeps_its_turn_and_one_whose_server_is_paused_skips_it(make_app):
    app = make_app(TRICOMA_MAIL_SERVER_CONCURRENCY=1)
    with app.app_context():
        port = 20000 + uuid.uuid4().int % 10000  # a server of its own: the pause stays in this process
        (mailbox_id,) = usable_mailboxes(1, port)
        server = f"127.0.0.1:{port}"
        assert server_slots.take(server, "another-worker", 60)  # a long sync of the same server
        (job,) = ledger.record_new([NewJob(f"sync:{mailbox_id}:@1", "sync", (mailbox_id,))])
        started = time.monotonic()
        assert run_job(job.key, job.name, job.args) == DEFERRED
        assert time.monotonic() - started >= server_slots.SLOT_WAIT_SECONDS * 0.9  # it waited a moment
        row = db.session.scalar(select(JobRun).where(JobRun.key == job.key))
        assert row.state == "queued" and row.attempts == 0  # its turn is kept, no attempt spent
        server_slots.give_back(server, "another-worker")
        server_slots.pause(server, 30)
        assert run_job(job.key, job.name, job.args) == "skipped: the server did not answer a moment ago"
        db.session.refresh(row)
        assert row.state == "done" and row.attempts == 1
