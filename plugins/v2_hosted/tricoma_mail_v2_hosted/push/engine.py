"""The push engine: one event loop holding an IDLE connection per watched folder.

Each watched folder is a task on the loop (not a thread): it connects, IDLEs, reports changes,
leaves and re-enters IDLE before the server's timeout, reconnects with exponential backoff after
an error, and falls back to polling (NOOP) when the server has no IDLE. The set of watched
folders is refreshed from a source function, so mailboxes added or removed while the engine
runs are picked up. What a change means (sync the folder, tell the browsers) is the caller's
``on_change``.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tricoma_mail_plugin import ServerSettings

from .idle_client import IdleConnection, IdleError

log = logging.getLogger(__name__)

RENEW_IDLE_AFTER = 25 * 60  # RFC 2177: servers may end an IDLE after 30 minutes
POLL_INTERVAL = 60.0
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 300.0
STABLE_AFTER = 60.0  # a connection that held this long resets the backoff
PARALLEL_CONNECTS = 50  # logins under way at once: a thousand at a time only earn timeouts


@dataclass(frozen=True)
class WatchTarget:
    """One folder of one mailbox to watch. ``key`` names it; targets with one key are one."""

    mailbox_id: int
    folder: str
    server: ServerSettings = field(repr=False)

    @property
    def key(self) -> tuple[int, str]:
        return (self.mailbox_id, self.folder)


@dataclass
class EngineStats:
    """What the engine holds right now, for the CLI's status line and the benchmark."""

    watching: int = 0
    idling: int = 0
    polling: int = 0
    reconnects: int = 0
    changes: int = 0


OnChange = Callable[[WatchTarget, str], Awaitable[None] | None]


@dataclass(frozen=True)
class EngineTiming:
    renew_idle_after: float = RENEW_IDLE_AFTER
    poll_interval: float = POLL_INTERVAL
    backoff_first: float = BACKOFF_FIRST
    backoff_max: float = BACKOFF_MAX
    stable_after: float = STABLE_AFTER
    parallel_connects: int = PARALLEL_CONNECTS


def backoff_delays(first: float, most: float, jitter: Callable[[], float] = random.random):
    """Endless delays: ``first``, doubling up to ``most``, each with up to 20 % jitter so that
    a thousand watchers cut off by one server restart do not all come back in the same second."""
    delay = first
    while True:
        yield delay * (1 + 0.2 * jitter())
        delay = min(delay * 2, most)


class PushEngine:
    """Watches many folders on one loop. ``await engine.run(source)`` until cancelled."""

    def __init__(self, on_change: OnChange, timing: EngineTiming = EngineTiming(),
                 on_connected: OnChange | None = None) -> None:
        self._on_change = on_change
        self._on_connected = on_connected
        self.timing = timing
        self.stats = EngineStats()
        self._tasks: dict[tuple[int, str], tuple[WatchTarget, asyncio.Task]] = {}
        self._connecting: asyncio.Semaphore | None = None

    # -- the set of watched folders ------------------------------------------------------------
    async def run(self, source: Callable[[], Awaitable[list[WatchTarget]]],
                  refresh_every: float | Callable[[], float] = 30.0) -> None:
        """Watch what ``source`` returns, asking it again every ``refresh_every`` seconds (or as
        many as it returns, asked anew each time)."""
        try:
            while True:
                try:
                    self.apply(await source())
                except Exception:
                    log.exception("the list of folders to watch could not be read")
                await asyncio.sleep(refresh_every() if callable(refresh_every) else refresh_every)
        finally:
            await self.stop()

    def apply(self, targets: list[WatchTarget]) -> None:
        """Start watchers for new targets, stop those no longer wanted, restart changed ones."""
        wanted = {target.key: target for target in targets}
        for key, (target, task) in list(self._tasks.items()):
            if key not in wanted or wanted[key] != target:
                task.cancel()
                del self._tasks[key]
        for key, target in wanted.items():
            if key not in self._tasks:
                self._tasks[key] = (target, asyncio.create_task(self._watch(target), name=f"watch {key}"))
        self.stats.watching = len(self._tasks)

    async def stop(self) -> None:
        pending = {task for _target, task in self._tasks.values()}
        self._tasks.clear()
        while pending:  # a task that let a cancel pass (a library that swallows one) is told again
            for task in pending:
                task.cancel()
            _done, pending = await asyncio.wait(pending, timeout=1.0)
        self.stats.watching = 0

    # -- one folder ------------------------------------------------------------------------------
    async def _watch(self, target: WatchTarget) -> None:
        timing = self.timing
        delays = backoff_delays(timing.backoff_first, timing.backoff_max)
        loop = asyncio.get_running_loop()
        while True:
            connection = IdleConnection(target.server, target.folder)
            started = loop.time()
            mode = None
            try:
                if self._connecting is None:
                    self._connecting = asyncio.Semaphore(timing.parallel_connects)
                async with self._connecting:
                    await connection.connect()
                mode = "idling" if connection.supports_idle else "polling"
                setattr(self.stats, mode, getattr(self.stats, mode) + 1)
                if self._on_connected is not None:
                    await _maybe_await(self._on_connected(target, "connected"))
                await self._hold(connection, target)
            except asyncio.CancelledError:
                raise
            except (TimeoutError, IdleError, OSError, ValueError) as error:
                log.info("watcher %s: %s; reconnecting", target.key, error)
            except Exception:
                log.exception("watcher %s stopped on an unexpected error; reconnecting", target.key)
            finally:
                if mode:
                    setattr(self.stats, mode, getattr(self.stats, mode) - 1)
                await connection.close()
            if loop.time() - started >= timing.stable_after:
                delays = backoff_delays(timing.backoff_first, timing.backoff_max)
            self.stats.reconnects += 1
            await asyncio.sleep(next(delays))

    async def _hold(self, connection: IdleConnection, target: WatchTarget) -> None:
        async def changed(kind: str) -> None:
            self.stats.changes += 1
            await _maybe_await(self._on_change(target, kind))

        while True:
            if connection.supports_idle:
                await connection.idle(changed, self.timing.renew_idle_after)
            else:
                await asyncio.sleep(self.timing.poll_interval)
                await connection.poll(changed)


async def _maybe_await(result) -> None:
    if asyncio.iscoroutine(result):
        await result
