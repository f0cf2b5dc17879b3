"""Checkpoints of SQLite's log in a thread of their own (hostapp/sqlite_checkpoints.py): a commit
that takes the log past SQLite's threshold returns without copying it into the database file;
the thread does that once the writing pauses, or under steady writing after a while."""
from __future__ import annotations

import os
import sqlite3
import struct
import threading
import time

import pytest
from sqlalchemy import create_engine, event, text

from hostapp import sqlite_checkpoints, sqlite_tuning
from polling import wait_for

pytestmark = pytest.mark.db_independent  # its own SQLite files: the PostgreSQL run skips it

PAGE = 4096
ROWS_PAST_THRESHOLD = 1300  # a 4 KiB page each: past SQLite's default of 1,000 pages of log


def tuned_engine(path, page_size: int = PAGE):
    with sqlite3.connect(path) as made:  # a file made before keeps its page size
        made.execute(f"PRAGMA page_size = {page_size}")
        made.execute("CREATE TABLE blob (x BLOB)")
    engine = create_engine(f"sqlite:///{path}")
    sqlite_tuning.tune(engine)
    return engine


def write_rows(engine, count: int) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO blob (x) VALUES (:x)"), [{"x": os.urandom(3000)} for _ in range(count)])


@pytest.mark.parametrize("page_size", [PAGE, sqlite_tuning.PAGE_SIZE])
def test_connections_checkpoint_by_themselves_only_past_the_backstop(tmp_path, page_size):
    engine = tuned_engine(tmp_path / "db.sqlite", page_size)
    try:
        with engine.connect() as connection:
            pages = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
        assert pages == sqlite_checkpoints.BACKSTOP_BYTES // page_size
        assert pages * page_size == sqlite_checkpoints.BACKSTOP_BYTES > 1000 * page_size
    finally:
        engine.dispose()


def test_a_big_commit_returns_before_the_checkpoint_which_the_thread_runs_once_writing_pauses(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 1.0)  # time to look before it runs
    path = tmp_path / "db.sqlite"
    engine = tuned_engine(path)
    try:
        write_rows(engine, 1)
        sqlite_checkpoints.flush()
        before = path.stat().st_size
        write_rows(engine, ROWS_PAST_THRESHOLD)
        # With SQLite's default the commit above copied its 5 MB of log into the file itself.
        assert path.stat().st_size == before
        assert os.path.getsize(f"{path}-wal") > ROWS_PAST_THRESHOLD * PAGE
        assert any(thread.name == "sqlite-checkpoints" for thread in threading.enumerate())
        assert wait_for(lambda: path.stat().st_size > ROWS_PAST_THRESHOLD * 3000, every=0.02)
    finally:
        engine.dispose()


def test_steady_writing_is_checkpointed_without_waiting_for_a_pause(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 0.5)
    monkeypatch.setattr(sqlite_checkpoints, "MAX_DEFER_SECONDS", 0.3)
    done = []
    checkpoint = sqlite_checkpoints.checkpoint
    monkeypatch.setattr(sqlite_checkpoints, "checkpoint", lambda path: done.append(path) or checkpoint(path))
    path = tmp_path / "db.sqlite"
    engine = tuned_engine(path)
    try:
        ended = time.monotonic() + 1.5
        while time.monotonic() < ended:  # a commit every 50 ms: never quiet for 0.5 s
            write_rows(engine, 1)
            time.sleep(0.05)
        assert done.count(os.path.realpath(path)) >= 2
    finally:
        engine.dispose()


def test_flush_checkpoints_at_once_and_a_removed_database_is_not_made_again(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 0.2)
    kept, removed = tmp_path / "kept.sqlite", tmp_path / "removed.sqlite"
    engines = [tuned_engine(kept), tuned_engine(removed)]
    try:
        for engine in engines:
            write_rows(engine, 300)
        engines[1].dispose()  # its last connection checkpoints and removes the log
        for name in ("", "-wal", "-shm"):
            if os.path.exists(f"{removed}{name}"):
                os.remove(f"{removed}{name}")
        sqlite_checkpoints.flush()
        assert kept.stat().st_size > 300 * 3000
        time.sleep(0.5)
        assert not removed.exists()
    finally:
        for engine in engines:
            engine.dispose()


def test_a_forked_child_starts_with_no_files_waiting_and_a_thread_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 30.0)  # the parent's file waits meanwhile
    engine = tuned_engine(tmp_path / "db.sqlite")
    try:
        write_rows(engine, 1)
        parent = sqlite_checkpoints._checkpointer
        assert parent._waiting
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:
            fresh = sqlite_checkpoints._checkpointer
            os.write(writing, b"1" if fresh is not parent and not fresh._waiting and fresh._thread is None else b"0")
            os._exit(0)
        os.close(writing)
        os.waitpid(child, 0)
        assert os.read(reading, 1) == b"1"
        os.close(reading)
    finally:
        sqlite_checkpoints.flush()
        engine.dispose()


def test_the_file_is_known_however_the_url_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 30.0)
    monkeypatch.chdir(tmp_path)
    tuned_engine(tmp_path / "db.sqlite").dispose()
    urls = ["sqlite:///db.sqlite", f"sqlite:///file:{tmp_path / 'db.sqlite'}?mode=rw&uri=true"]
    try:
        for url in urls:
            engine = create_engine(url)
            sqlite_tuning.tune(engine)
            try:
                write_rows(engine, 1)
                assert os.path.realpath(tmp_path / "db.sqlite") in sqlite_checkpoints._checkpointer._waiting, url
            finally:
                engine.dispose()
            sqlite_checkpoints.flush()
    finally:
        sqlite_checkpoints.flush()


def unchecked_frames(path) -> int:
    """Frames of the log not yet in the database file, from the -shm file's header (mxFrame -
    nBackfill): a look that does not checkpoint, as PRAGMA wal_checkpoint would."""
    with open(f"{path}-shm", "rb") as shm:
        head = shm.read(100)
    return struct.unpack_from("=I", head, 16)[0] - struct.unpack_from("=I", head, 96)[0]


def test_a_commit_still_writing_when_the_thread_is_due_is_checkpointed_too(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 0.0)  # due at once: during the commit if it were marked before
    path = tmp_path / "db.sqlite"
    engine = tuned_engine(path)

    @event.listens_for(engine, "connect")
    def large_cache(dbapi_connection, _record):  # nothing spills before COMMIT: the commit writes it all
        dbapi_connection.execute("PRAGMA cache_size = -100000")

    try:
        write_rows(engine, ROWS_PAST_THRESHOLD)
        assert wait_for(lambda: unchecked_frames(path) == 0, every=0.02)
    finally:
        engine.dispose()


def test_flush_waits_for_the_checkpoint_the_thread_runs_and_then_checkpoints_what_came_after(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 0.0)
    started, go_on = threading.Event(), threading.Event()
    checkpoint = sqlite_checkpoints.checkpoint

    def held(path):
        if threading.current_thread().name == "sqlite-checkpoints" and not started.is_set():
            started.set()
            go_on.wait(10)
        return checkpoint(path)

    monkeypatch.setattr(sqlite_checkpoints, "checkpoint", held)
    path = tmp_path / "db.sqlite"
    engine = tuned_engine(path)
    try:
        write_rows(engine, 10)
        assert started.wait(10)  # the thread is in its checkpoint
        monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 30.0)
        write_rows(engine, 10)  # the last commit: waits for a checkpoint
        flushed = threading.Event()
        threading.Thread(target=lambda: (sqlite_checkpoints.flush(), flushed.set()), daemon=True).start()
        assert not flushed.wait(0.3)  # flush() waits for the thread's checkpoint
        go_on.set()
        assert flushed.wait(10)
        assert unchecked_frames(path) == 0
    finally:
        go_on.set()
        engine.dispose()


def test_a_busy_checkpoint_is_tried_again(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 0.05)
    found = []
    checkpoint = sqlite_checkpoints.checkpoint

    def busy_once(path):  # another connection's checkpoint, begun before the last commit
        found.append(sqlite_checkpoints.BUSY if not found else checkpoint(path))
        return found[-1]

    monkeypatch.setattr(sqlite_checkpoints, "checkpoint", busy_once)
    path = tmp_path / "db.sqlite"
    engine = tuned_engine(path)
    try:
        write_rows(engine, 10)
        assert wait_for(lambda: unchecked_frames(path) == 0, every=0.02)
        assert found[:2] == [sqlite_checkpoints.BUSY, sqlite_checkpoints.DONE]
    finally:
        engine.dispose()


def test_a_file_uri_is_checkpointed_like_a_path(tmp_path, monkeypatch):
    monkeypatch.setattr(sqlite_checkpoints, "QUIET_SECONDS", 0.05)
    path = tmp_path / "db.sqlite"
    tuned_engine(path).dispose()
    engine = create_engine(f"sqlite:///file:{path}?uri=true")
    sqlite_tuning.tune(engine)
    try:
        write_rows(engine, 10)
        assert wait_for(lambda: unchecked_frames(path) == 0, every=0.02)
    finally:
        engine.dispose()
