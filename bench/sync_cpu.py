"""The CPU a sync takes in all, whatever else the machine runs: read from /proc for the processes
it keeps busy (the benchmarks' "least ratio this work allows": that CPU spread evenly over every
core is as fast as the sync could ever end here)."""
from __future__ import annotations

import os
from pathlib import Path


class SyncCpu:
    """CPU seconds used so far by the processes a sync keeps busy, whatever else the machine
    runs: this process and its children (the parse workers), the mail stack's Dovecot (its master
    with every process under it, and what ended ones used) and, on PostgreSQL, the server
    processes of the connections named ``application_name`` — looked up at each reading, so a
    connection that closes during the sync is missed (the app's pool keeps them open)."""

    def __init__(self, dovecot_pidfile: Path, application_name: str | None = None,
                 database_url: str | None = None) -> None:
        self.roots = [os.getpid(), int(dovecot_pidfile.read_text().split()[0])]
        self.application_name, self.database_url = application_name, database_url

    def seconds(self) -> float:
        by_parent: dict[int, list[int]] = {}
        used: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            # after the name: state, ppid, …, utime (12th), stime, cutime, cstime
            by_parent.setdefault(int(fields[1]), []).append(int(entry))
            used[int(entry)] = sum(int(value) for value in fields[11:15])
        ticks, waiting = 0, list(self.roots) + self._database_pids()
        seen: set[int] = set()
        while waiting:
            pid = waiting.pop()
            if pid in seen or pid not in used:
                continue
            seen.add(pid)
            ticks += used[pid]
            waiting.extend(by_parent.get(pid, ()))
        return ticks / os.sysconf("SC_CLK_TCK")

    def _database_pids(self) -> list[int]:
        if self.application_name is None:
            return []
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return list(connection.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                               {"name": self.application_name}))
        finally:
            engine.dispose()


def application_name_url(url: str, name: str) -> str:
    """``url`` (PostgreSQL) with its connections named ``name``, for :class:`SyncCpu` to find."""
    return url + ("&" if "?" in url else "?") + f"application_name={name}"
