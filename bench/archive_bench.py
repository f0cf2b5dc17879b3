#!/usr/bin/env python3
"""Archive benchmark: what the GoBD journal (docs/archive.md) costs an initial sync, and what it
stores per message.

Usage::

    .venv/bin/python bench/archive_bench.py [--messages N] [--out N] [--runs N] [--port-offset N]

1. starts a MailStack of its own in /tmp/tricoma-mailstack-archive-bench[-<offset>] (port offset 500, the
   archive's test offset; it holds the test stack's lock file of that offset meanwhile, so a
   test session on the same offset waits) and loads N messages (default 10,000; sync_bench.py's
   generator and cache) into INBOX of a fresh user;
2. warms Dovecot's cache with one untimed sync that fetches the full bytes;
3. runs the initial sync of INBOX (connect + sync, committed; SQLite, or PostgreSQL with
   ``--postgres``, a fresh schema per run) ``--runs`` times without
   the journal and as often with it (alternating, each into a fresh database) and prints the
   medians and their ratio (target: with / without <= 1.3);
4. checks the archive of the last run with the journal: one entry per message, ``verify`` ok;
   prints the stored bytes per message (compressed bytes, and the database's growth over the run
   without the journal: entries, index and compressed bytes together);
5. times the text extraction for the auditor's search (``index_pending``, after the sync) and
   ``verify`` over the whole archive;
6. sends ``--out`` mails (default 200) through the outbox with the journal and counts their
   entries.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import fcntl
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from sync_cpu import SyncCpu, application_name_url  # noqa: E402
import sync_bench  # its generator, loader and app helpers; it puts scripts/ and the repo on the path)

STATE_DIR = "/tmp/tricoma-mailstack-archive-bench"
TARGET_RATIO = 1.3


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed_initial_sync(workdir: Path, name: str, params: dict, journal: bool, kind: str = "sqlite",
                       cleanups: list | None = None) -> dict:
    dovecot_pidfile = Path(params["dovecot_pidfile"])
    from hostapp.extensions import db

    url, cleanup = sync_bench._fresh_db_url(kind, workdir, name)
    application_name = None
    if kind == "postgres":  # our connections' server processes are found by this name
        application_name = f"archive-bench-{name}"
        url = application_name_url(url, application_name)
    if cleanup is not None and cleanups is not None:
        cleanups.append(cleanup)
    app = sync_bench._build_app(url, params["cert"])
    app.config["TRICOMA_MAIL_ARCHIVE_ENABLED"] = journal
    mailbox_id = sync_bench._make_mailbox(app, params)
    size_before = database_size(app, workdir, name, kind)
    cpu = time.process_time()
    sync_cpu = SyncCpu(dovecot_pidfile, application_name, sync_bench.POSTGRES_URL)
    used = sync_cpu.seconds()
    with writer_timing() as writer:
        seconds, result = sync_bench._timed_sync(app, mailbox_id)
    used = sync_cpu.seconds() - used
    cpu = time.process_time() - cpu
    growth = database_size(app, workdir, name, kind) - size_before
    with app.app_context():
        db.engine.dispose()
    return {"seconds": seconds, "cpu": cpu, "sync_cpu": used, "new": result.new, "app": app,
            "mailbox_id": mailbox_id, "db_growth": growth, **writer}


@contextlib.contextmanager
def writer_timing():
    """Wall seconds the batch writer spent storing batches ("writer") and the sync's thread spent
    waiting for it ("waited"): which of the two threads holds the sync up."""
    from tricoma_mail_plugin.cache import sync as cache_sync

    spent = {"writer": 0.0, "waited": 0.0}
    store, wait = cache_sync._BatchWriter._store, cache_sync._BatchWriter._wait

    def timed(key, call):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - started
        return wrapper

    cache_sync._BatchWriter._store, cache_sync._BatchWriter._wait = timed("writer", store), timed("waited", wait)
    try:
        yield spent
    finally:
        cache_sync._BatchWriter._store, cache_sync._BatchWriter._wait = store, wait


def database_size(app, workdir: Path, name: str, kind: str) -> int:
    """Bytes of the SQLite file, or of every table and index in the PostgreSQL schema."""
    if kind == "sqlite":
        return os.path.getsize(workdir / f"{name}.sqlite")
    from sqlalchemy import text

    from hostapp.extensions import db

    with app.app_context():
        size = db.session.scalar(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"))
        db.session.remove()
    return int(size)


def profile_threads(sync) -> None:
    """cProfile the sync's threads apart (cProfile sees only the thread that enables it): the
    sync's own thread, the batch writer's and, on PostgreSQL, the journal's own transaction; with
    each thread's CPU time."""
    import threading

    from tricoma_mail_plugin.archive import journal
    from tricoma_mail_plugin.cache import sync as cache_sync

    profiles: dict[str, cProfile.Profile] = {}
    cpu: dict[str, float] = {}
    guard = threading.Lock()

    def profiled(role: str, call):
        def wrapper(*args, **kwargs):
            with guard:
                profiler = profiles.setdefault(f"{role} ({threading.current_thread().name})", cProfile.Profile())
            started = time.thread_time()
            profiler.enable()
            try:
                return call(*args, **kwargs)
            finally:
                profiler.disable()
                with guard:
                    cpu[role] = cpu.get(role, 0.0) + time.thread_time() - started
        return wrapper

    store, committed = cache_sync._BatchWriter._store, journal._archive_committed
    cache_sync._BatchWriter._store = profiled("batch writer", store)
    journal._archive_committed = profiled("journal transaction", committed)
    main = profiles["sync thread"] = cProfile.Profile()
    started = time.thread_time()
    main.enable()
    try:
        sync()
    finally:
        main.disable()
        cpu["sync thread"] = time.thread_time() - started
        cache_sync._BatchWriter._store, journal._archive_committed = store, committed
    for name, profiler in profiles.items():
        log(f"\n===== {name} =====")
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    log("thread CPU: " + ", ".join(f"{role} {seconds:.2f} s" for role, seconds in cpu.items()))


def raw_server_share(profile, email: str, password: str, runs: int) -> dict[bool, float]:
    """Median wall time of the server's answer to our summary FETCH of every message, without
    and with the full bytes, over a plain socket that only reads (the floor of any client)."""
    from tricoma_mail_v1_imap.summaries import fetch_items

    items = " ".join(fetch_items(True, True))
    raw = sync_bench.raw_session(profile, email, password)
    try:
        return {journal: statistics.median(
            raw.command(f"UID FETCH 1:* ({items}{' BODY.PEEK[]' if journal else ''})")[0] for _ in range(runs))
            for journal in (False, True)}
    finally:
        raw.close()


def archive_figures(app, n: int) -> dict:
    from sqlalchemy import func, select

    from hostapp.extensions import db
    from tricoma_mail_plugin.archive.search import index_pending
    from tricoma_mail_plugin.archive.storage import archive_storage
    from tricoma_mail_plugin.archive.verify import verify_archive
    from tricoma_mail_plugin.models import ArchiveEntry

    with app.app_context():
        entries, original = db.session.execute(
            select(func.count(ArchiveEntry.id), func.coalesce(func.sum(ArchiveEntry.size), 0))).one()
        stored = archive_storage().stored_bytes()
        started = time.perf_counter()
        indexed = index_pending(limit=n + 1)
        index_s = time.perf_counter() - started
        started = time.perf_counter()
        report = verify_archive()
        verify_s = time.perf_counter() - started
        db.session.remove()
    return {"entries": entries, "original": original, "stored": stored, "indexed": indexed, "index_s": index_s,
            "verify_s": verify_s, "verify_ok": report.ok, "verified": report.entries}


def send_through_outbox(app, mailbox_id: int, recipient: str, count: int) -> dict:
    from sqlalchemy import func, select

    from hostapp.extensions import db
    from hostapp.models import User
    from tricoma_mail_plugin.mailboxes import service
    from tricoma_mail_plugin.mime.build import OutgoingMessage
    from tricoma_mail_plugin.models import ArchiveEntry, Mailbox
    from tricoma_mail_plugin.rights import access
    from tricoma_mail_plugin.sending import outbox

    app.config["TRICOMA_MAIL_UNDO_SEND_SECONDS"] = 0
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        user = db.session.scalar(select(User).where(User.username == "bench"))
        access.grant(mailbox_id, "user", user.id, "send")
        service.run_test(mailbox)
        for number in range(count):
            outbox.enqueue(mailbox, user, OutgoingMessage(to=(recipient,), subject=f"Rechnung {number}",
                                                          text=f"Guten Tag,\nanbei die Rechnung {number}.\n"))
        started = time.perf_counter()
        sent = outbox.run_once()
        seconds = time.perf_counter() - started
        entries = db.session.scalar(select(func.count(ArchiveEntry.id)).where(
            ArchiveEntry.direction == "out", ArchiveEntry.source == "outbox"))
        db.session.remove()
    return {"sent": sent, "seconds": seconds, "entries": entries}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--out", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port-offset", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument("--profile", action="store_true", help="only cProfile one sync with the journal")
    parser.add_argument("--profile-without", action="store_true",
                        help="with --profile: profile a sync without the journal (the baseline to compare)")
    parser.add_argument("--postgres", action="store_true",
                        help=f"sync into PostgreSQL ({sync_bench.POSTGRES_URL}, a fresh schema per run), "
                             "not SQLite")
    args = parser.parse_args()

    from mailstack import MailStack

    n = args.messages
    lock = open(f"/tmp/tricoma-mailstack-test-{args.port_offset}.lock", "w")  # noqa: SIM115
    fcntl.flock(lock, fcntl.LOCK_EX)
    kind = "postgres" if args.postgres else "sqlite"
    cleanups: list = []
    stack = MailStack(STATE_DIR if args.port_offset == 500 else f"{STATE_DIR}-{args.port_offset}",
                      port_offset=args.port_offset)
    profile = stack.standard
    email = f"archive-bench-{uuid.uuid4().hex[:8]}@{profile.domain}"
    password = uuid.uuid4().hex
    recipient = f"archive-bench-to-{uuid.uuid4().hex[:8]}@{profile.domain}"
    workdir = Path(tempfile.mkdtemp(prefix="tricoma-archive-bench-"))
    try:
        stack.start()
        stack.add_user(email, password, 1, quota_mb=1_000_000)
        stack.add_user(recipient, password, 1, quota_mb=1_000_000)
        messages, how = sync_bench.cached_messages(n)
        sizes = [len(m[0]) for m in messages]
        info = (f"{n:,} messages, {sum(sizes) / 1e6:.1f} MB, median {statistics.median(sizes) / 1024:.1f} KB "
                f"({how})")
        log(info)
        started = time.perf_counter()
        sync_bench.load_messages(profile, email, password, messages)
        log(f"loaded in {time.perf_counter() - started:.1f} s")
        del messages
        params = {"email": email, "password": password, "imap_port": profile.imap_port,
                  "smtp_port": profile.smtp_port, "cert": str(stack.cert),
                  "dovecot_pidfile": str(stack.paths(profile).dovecot_pidfile)}
        warm = timed_initial_sync(workdir, "warm", params, journal=True, kind=kind, cleanups=cleanups)
        log(f"warm-up sync with the journal: {warm['seconds']:.2f} s")
        if args.profile:  # only the profiles, no timed runs
            journal = not args.profile_without
            profile_threads(lambda: timed_initial_sync(workdir, "profiled", params, journal=journal, kind=kind,
                                                       cleanups=cleanups))
            return 0
        server = raw_server_share(profile, email, password, args.runs)
        log(f"raw server FETCH 1:* (median): summary items {server[False]:.2f} s, with BODY.PEEK[] {server[True]:.2f} s")
        runs: dict[bool, list[dict]] = {False: [], True: []}
        for index in range(args.runs):
            for journal in (False, True):
                run = timed_initial_sync(workdir, f"run{index}-{'journal' if journal else 'plain'}", params, journal,
                                         kind, cleanups)
                assert run["new"] == n, run
                runs[journal].append(run)
                log(f"run {index + 1}: {'with' if journal else 'without'} journal {run['seconds']:.2f} s "
                    f"(CPU {run['cpu']:.2f} s, the sync's in all {run['sync_cpu']:.2f} s; batch writer busy {run['writer']:.2f} s, "
                    f"the sync's thread waited for it {run['waited']:.2f} s)")
        plain = statistics.median(run["seconds"] for run in runs[False])
        journaled = statistics.median(run["seconds"] for run in runs[True])
        last = runs[True][-1]
        figures = archive_figures(last["app"], n)
        growth = statistics.median(run["db_growth"] for run in runs[True]) - \
            statistics.median(run["db_growth"] for run in runs[False])
        out = send_through_outbox(last["app"], last["mailbox_id"], recipient, args.out)
    finally:
        for cleanup in cleanups:
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001
                log(f"cleanup failed: {exc}")
        if not args.keep:
            stack.stop()
        fcntl.flock(lock, fcntl.LOCK_UN)

    ratio = journaled / plain
    # Each run with the journal against the run without it just before: steadier than the ratio
    # of the medians while the machine's load drifts.
    paired = statistics.median(with_run["seconds"] / without["seconds"]
                               for without, with_run in zip(runs[False], runs[True]))
    plain_cpu = statistics.median(run["cpu"] for run in runs[False])
    journaled_cpu = statistics.median(run["cpu"] for run in runs[True])
    cores = os.cpu_count() or 1
    plain_work = statistics.median(run["sync_cpu"] for run in runs[False])
    journaled_work = statistics.median(run["sync_cpu"] for run in runs[True])
    # The sync with the journal cannot end before its work spread evenly over every core would:
    # against the sync without it, the least ratio this much work allows here.
    work_floor = journaled_work / cores / plain
    rows = [
        ("initial sync without journal (median)", f"{plain:.2f} s", f"{n / plain:,.0f} msg/s"),
        ("initial sync with journal (median)", f"{journaled:.2f} s", f"{n / journaled:,.0f} msg/s"),
        ("server alone: FETCH 1:* summaries / + full bytes", f"{server[False]:.2f} s / {server[True]:.2f} s",
         f"{server[True] / server[False]:.2f}x: the floor for fetching the bytes at all"),
        ("ratio with / without", f"{ratio:.2f}x", f"target <= {TARGET_RATIO}x: {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}"),
        ("ratio run by run (median of each pair)", f"{paired:.2f}x", "each run with the journal / the run before it"),
        ("our process's CPU without / with journal", f"{plain_cpu:.2f} s / {journaled_cpu:.2f} s",
         f"{journaled_cpu / plain_cpu:.2f}x (less sensitive to a busy machine)"),
        ("the sync's CPU without / with journal", f"{plain_work:.2f} s / {journaled_work:.2f} s",
         f"ours, the parse workers, Dovecot{', PostgreSQL' if args.postgres else ''}; "
         f"{plain_work / cores / plain:.0%} / {journaled_work / cores / journaled:.0%} of {cores} cores"),
        ("least ratio this work allows", f"{work_floor:.2f}x",
         f"the CPU of a sync with the journal spread evenly over {cores} cores, against the sync without it"),
        ("archive entries after the sync", f"{figures['entries']:,}", "PASS" if figures["entries"] == n else "FAIL"),
        ("original bytes per message", f"{figures['original'] / n / 1024:.1f} KB", ""),
        ("stored (compressed) per message", f"{figures['stored'] / n / 1024:.1f} KB",
         f"{figures['stored'] / figures['original']:.0%} of the original"),
        ("database growth per message", f"{growth / n / 1024:.1f} KB", "entry + index + compressed bytes"),
        ("search text extraction (after sync)", f"{figures['index_s']:.2f} s", f"{figures['indexed']:,} entries"),
        ("archive verify (chain + every SHA-256)", f"{figures['verify_s']:.2f} s",
         f"{figures['verified']:,} entries {'ok' if figures['verify_ok'] else 'BROKEN'}"),
        (f"outbox: {args.out} mails sent", f"{out['seconds']:.2f} s",
         f"{out['entries']} out entries: {'PASS' if out['entries'] == args.out == out['sent'] else 'FAIL'}"),
    ]
    print(f"\nArchive bench: {info}; {'PostgreSQL' if args.postgres else 'SQLite'}; runs per variant: {args.runs}")
    listed = {journal: ", ".join(f"{run['seconds']:.2f}" for run in runs[journal]) for journal in runs}
    print(f"runs without: {listed[False]} s; with: {listed[True]} s\n")
    width = max(len(row[0]) for row in rows)
    print(f"| {'step':<{width}} | value | note |")
    print(f"|{'-' * (width + 2)}|-------|------|")
    for step, value, note in rows:
        print(f"| {step:<{width}} | {value} | {note} |")
    return 0 if ratio <= TARGET_RATIO and figures["entries"] == n and out["entries"] == args.out else 1


if __name__ == "__main__":
    sys.exit(main())
