"""Checking a login's password: the same work whether or not the name exists, and never more
than a few hashes at once.

* An unknown name is checked against a dummy hash made with the configured method, so a wrong
  name takes as long as a wrong password: timing tells nobody which names exist.
* Password hashing is deliberately slow (scrypt: tens to hundreds of milliseconds of CPU and
  32 MB of memory each). At most ``HOSTAPP_LOGIN_HASH_CONCURRENCY`` checks run at once per
  process (default: half the CPUs, at least one) and at most ``HOSTAPP_LOGIN_HASH_QUEUE`` wait
  for a turn, each at most ``HOSTAPP_LOGIN_HASH_WAIT_SECONDS``; anything beyond is refused with
  :class:`HashingBusy` (the login page answers 503), so a flood of logins leaves the CPUs to the
  pages of the people already logged in.
* The checks run on a few threads of their own at a lower priority
  (``HOSTAPP_LOGIN_HASH_NICENESS``, default 10, on Linux): when the CPUs are short, the
  scheduler serves the pages first.
"""
from __future__ import annotations

import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app
from werkzeug.security import check_password_hash, generate_password_hash


class HashingBusy(Exception):
    """Too many password checks are running or waiting: try again in a moment."""


class HashGate:
    """A few low-priority threads for password checks, with a bounded queue in front of them."""

    def __init__(self, running: int, queue: int, wait_seconds: float, niceness: int = 0) -> None:
        running = max(1, running)
        self._slots = threading.BoundedSemaphore(running)
        self._queue = max(0, queue)
        self._wait_seconds = wait_seconds
        self._waiting = 0
        self._lock = threading.Lock()
        self._niceness = niceness
        self._pool = ThreadPoolExecutor(running, thread_name_prefix="password-check",
                                        initializer=self._lower_priority)

    def run(self, function, *args):
        """``function(*args)`` on a check thread, once a slot is free; raises
        :class:`HashingBusy` when the queue is full or the wait too long."""
        self._enter()
        try:
            return self._pool.submit(function, *args).result()
        finally:
            self._slots.release()

    def _enter(self) -> None:
        if self._slots.acquire(blocking=False):
            return
        with self._lock:
            if self._waiting >= self._queue:
                raise HashingBusy()
            self._waiting += 1
        try:
            if not self._slots.acquire(timeout=self._wait_seconds):
                raise HashingBusy()
        finally:
            with self._lock:
                self._waiting -= 1

    def _lower_priority(self) -> None:
        # Linux applies a niceness given for a thread id to that thread alone.
        if self._niceness and hasattr(os, "setpriority") and hasattr(threading, "get_native_id"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._niceness)
            except OSError:
                pass


def default_concurrency() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; with ``None`` (no such user) the same
    work is done against a dummy hash and the answer is ``False``. Raises :class:`HashingBusy`."""
    state = _state()
    if password_hash is None:
        method = current_app.config["HOSTAPP_PASSWORD_HASH_METHOD"]
        state["gate"].run(_check_against_dummy, state["dummy"], method, password)
        return False
    return state["gate"].run(check_password_hash, password_hash, password)


def init_app(app: Flask) -> None:
    """One gate per app (so per process), made before the first request."""
    config = app.config
    gate = HashGate(config["HOSTAPP_LOGIN_HASH_CONCURRENCY"] or default_concurrency(),
                    config["HOSTAPP_LOGIN_HASH_QUEUE"], config["HOSTAPP_LOGIN_HASH_WAIT_SECONDS"],
                    config["HOSTAPP_LOGIN_HASH_NICENESS"])
    app.extensions["hostapp_password_checks"] = {"gate": gate, "dummy": {}}


def _state() -> dict:
    return current_app.extensions["hostapp_password_checks"]


def _check_against_dummy(dummies: dict[str, str], method: str, password: str) -> None:
    # The dummy is made on first use, on a check thread like any check.
    if method not in dummies:
        dummies[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(dummies[method], password)
