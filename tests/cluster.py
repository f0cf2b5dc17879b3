"""A small installation on one machine for tests and the load test: gunicorn web servers and
``flask mail worker`` processes, started as real processes on one database and (optionally) one
Redis, each with its own log. Everything listens on 127.0.0.1 only."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def scratch_database(kind: str, folder: Path) -> tuple[str, Callable[[], None]]:
    """A fresh database for a bench: an SQLite file in ``folder``, or (``kind`` "postgres") a
    schema of its own on ``TRICOMA_TEST_DATABASE_URL`` or the local test database. Returns its
    URL and the function that drops it."""
    if kind != "postgres":
        return f"sqlite:///{folder / 'bench.sqlite'}", lambda: None
    base = os.environ.get("TRICOMA_TEST_DATABASE_URL", POSTGRES_URL)
    schema = f"tricoma_bench_{os.getpid()}_{int(time.time())}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


@dataclass
class Cluster:
    """``config``: app config keys (``TRICOMA_MAIL_…``, ``SECRET_KEY``…) given to every process
    as ``HOSTAPP_<key>`` environment variables; ``database_url`` the shared database."""

    database_url: str
    config: dict
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def environment(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("HOSTAPP_")}
        env["HOSTAPP_DATABASE_URL"] = self.database_url
        for key, value in self.config.items():
            # the host's own keys are set by their full name (see hostapp.create_app)
            name = key if key.startswith("HOSTAPP_") else f"HOSTAPP_{key}"
            env[name] = value if isinstance(value, str) else json.dumps(value)
        env.update(extra)
        return env

    def _spawn(self, name: str, command: list[str], **extra: str) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - kept open while it runs
        process = subprocess.Popen(command, cwd=REPO, env=self.environment(**extra), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        process.log_name = name
        self.processes.append(process)
        return process

    def start_web(self, port: int, workers: int = 1, threads: int = 4) -> subprocess.Popen:
        """A gunicorn master with ``workers`` worker processes on 127.0.0.1:``port``."""
        return self._spawn(f"web-{port}", [str(VENV_BIN / "gunicorn"), "-c", "python:hostapp.gunicorn_conf",
                                           "hostapp.wsgi:app"],
                           TRICOMA_BIND=f"127.0.0.1:{port}", TRICOMA_WEB_WORKERS=str(workers),
                           TRICOMA_WEB_THREADS=str(threads), TRICOMA_GRACEFUL_SECONDS="10")

    def start_worker(self, number: int) -> subprocess.Popen:
        return self._spawn(f"worker-{number}", [str(VENV_BIN / "flask"), "--app", "hostapp", "mail", "worker"])

    def wait_ready(self, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the web server on port {port} did not get ready; see {self.log_dir}")

    def stop(self, process: subprocess.Popen, timeout: float = 20.0) -> int:
        """SIGTERM (a graceful stop), then SIGKILL after ``timeout``. Returns the exit code."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        return process.returncode

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            self.stop(process)
            try:  # whatever a killed master left behind in its session
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def worker_pids(master: subprocess.Popen) -> list[int]:
    """The pids of a gunicorn master's worker processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{master.pid}\n" in status:
                found.append(int(entry.name))
    return found
