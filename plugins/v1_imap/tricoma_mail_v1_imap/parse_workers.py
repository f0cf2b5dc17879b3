"""Summaries parsed in worker processes, so that a big sync uses the second core.

Parsing FETCH answers into summaries is pure Python: in a thread it holds the interpreter lock
the sync's storing thread needs, so on two cores a sync took parse time plus store time. Worker
processes parse while the sync's process reads the next answer and stores the batch before.
The pool is made at the first big sync of a process (a forked gunicorn or queue worker makes its
own), with the forkserver start method (a fork of a process with threads may copy a held lock),
and starts in the background: until its workers run (each imports the plugin and core, a second
or two of CPU, and then holds about 100 MB), where processes cannot be made at all and after a
worker died, answers are parsed in the sync's process.
"""
from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import fields

from tricoma_mail_plugin import MessageSummary

from .fetch_parser import merge_fetched, parse_answer
from .summaries import summary_from_fetch, tuple_of

log = logging.getLogger(__name__)

#: New messages from which a sync parses in the worker process (fewer: the pool is not even made).
PROCESSES_FROM = 2_000
#: Worker processes: parsing is the longest of a sync's three stages (read, parse, store), so two
#: batches are parsed at once while this process reads and stores.
WORKERS = 2

Parsed = dict[int, tuple[tuple, int | None]]  # uid → (the fields of its summary, the index of its full bytes)


def parse_answers(answers: Sequence[tuple[bytes, bytes]]) -> Parsed:
    """The summaries of FETCH answers, each ``(tag, answer bytes)``; in the worker process or, as
    the fallback, in the caller's. Each summary comes as the tuple of its fields
    (:func:`summary_of`): a tuple crosses between processes in a quarter of the time. With it, the
    index of the message's full bytes where the answer was read by ``read_answer_apart`` (a
    sync for the journal: the bytes stay in the sync's process, only their index travels), else
    ``None``."""
    merged: dict[int, dict] = {}
    for tag, answer in answers:
        merge_fetched(merged, parse_answer(answer, tag))
    parsed: Parsed = {}
    for uid, data in merged.items():
        index = data.get(b"BODY[]")
        parsed[uid] = (summary_from_fetch(uid, data, tuple_of), int(index) if index is not None else None)
    return parsed


def summary_of(values: tuple) -> MessageSummary:
    """The summary of a worker's tuple: what ``MessageSummary(*values)`` makes, without the frozen
    dataclass's ``object.__setattr__`` per field (half the time; the sync's process makes one per
    new message, and its interpreter lock is a sync's narrowest stage)."""
    if len(values) != len(_FIELD_NAMES):  # not every field: the dataclass fills in or refuses
        return MessageSummary(*values)
    summary = _new(MessageSummary)
    summary.__dict__.update(zip(_FIELD_NAMES, values))
    return summary


_FIELD_NAMES = tuple(field.name for field in fields(MessageSummary))
_new = object.__new__


def _ready() -> bool:
    return True


def _settle() -> None:
    """Run once in each worker, after the imports that loading this function took (core and
    the plugin): those objects live as long as the worker, so the collector is told to leave
    them out of its full collections (``gc.freeze``), which otherwise walked all of them, about
    190,000, for a tenth of a second every few thousand parsed messages."""
    gc.collect()
    gc.freeze()


class ParsePool:
    """``WORKERS`` worker processes, made at the first big sync of a process."""

    def __init__(self) -> None:
        self._made: tuple[int, ProcessPoolExecutor, list[Future]] | None = None  # (pid, pool, warm-ups)
        self._failed_in: int | None = None  # the pid in which processes could not be made
        self._lock = threading.Lock()

    def ready(self) -> ProcessPoolExecutor | None:
        """The pool once its workers run; ``None`` before (the first call in a process starts
        it), where processes cannot be made and after a worker died."""
        pid = os.getpid()
        made = self._made
        if made is None or made[0] != pid:
            if self._failed_in == pid:
                return None
            made = self._start(pid)
            if made is None:
                return None
        _pid, pool, warm_ups = made
        if not all(warm_up.done() for warm_up in warm_ups):
            return None
        failed = next((warm_up.exception() for warm_up in warm_ups if warm_up.exception() is not None), None)
        if failed is not None:
            self._give_up(pid, failed)
            return None
        return pool

    def _start(self, pid: int) -> tuple[int, ProcessPoolExecutor, list[Future]] | None:
        with self._lock:
            if self._made is not None and self._made[0] == pid:
                return self._made
            try:
                pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("forkserver"),
                                           initializer=_settle)
                self._made = (pid, pool, [pool.submit(_ready) for _worker in range(WORKERS)])
            except (OSError, ValueError, RuntimeError, NotImplementedError) as error:
                self._give_up(pid, error)
                return None
            return self._made

    def _give_up(self, pid: int, error: BaseException) -> None:
        log.warning("no worker process for parsing (%s): a sync parses in its own process", error)
        self._failed_in, self._made = pid, None

    def broken(self, error: BaseException) -> None:
        """A worker died under a batch (killed, out of memory): this process parses its answers
        itself from now on."""
        made, self._made = self._made, None
        self._give_up(os.getpid(), error)
        if made is not None:
            made[1].shutdown(wait=False, cancel_futures=True)


parse_pool = ParsePool()
