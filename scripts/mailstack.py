#!/usr/bin/env python3
"""The project's local mail stack: two Dovecot instances and two SMTP submission relays on 127.0.0.1.

Integration tests and the demo (``make run``) talk to real servers through it:

* profile 1, "standard": ``/`` separator, no prefix, SPECIAL-USE folders (Drafts, Sent, Trash,
  Junk, Archive);
* profile 2, "hoster": a German hoster's layout, ``INBOX.`` prefix with ``.`` separator and no
  special-use flags ("INBOX.Sent Mails", "INBOX.Papierkorb", "INBOX.Entwürfe", "INBOX.Spam").

Each profile has its own Dovecot (IMAP + STARTTLS, IMAPS, LMTP, ManageSieve), its own user tables
(a passwd-file of fixed users plus an SQLite table for provisioning) and its own relay
(``smtp_relay.py``) that checks passwords with that Dovecot and delivers over LMTP. One state
directory holds one stack; a port offset lets a test stack run beside the demo's.

CLI::

    mailstack.py [--dir DIR] [--port-offset N] start|stop|status
    mailstack.py add-user EMAIL PASSWORD --profile N
    mailstack.py fill EMAIL PASSWORD --profile N [--corpus DIR] [--limit N] [--folder INBOX]

Only the standard library is used here (``fill`` imports imapclient when it runs).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import email.policy
import fcntl
import hashlib
import importlib.util
import os
import pwd
import random
import re
import shlex
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent
RELAY_SCRIPT = Path(__file__).resolve().parent / "smtp_relay.py"
SENDMAIL_SCRIPT = Path(__file__).resolve().parent / "stack_sendmail.py"
DEFAULT_STATE_DIR = "/tmp/tricoma-mailstack"
DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "corpora" / "ham"
APT_PACKAGES = ("dovecot-imapd", "dovecot-lmtpd", "dovecot-managesieved", "dovecot-sieve", "dovecot-sqlite")
MARKER_FILE = ".tricoma-mailstack"
LOCK_FILE = ".lock"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
REAP_GRACE = 3.0
EXIT_NOT_RUNNING = 3
GENERATED_COUNT = 300
APPEND_BATCH = 100
SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the NUL
LONGEST_SOCKET = "token-login/imap-urlauth-worker"  # longer than any socket Dovecot 2.3 makes in base_dir

SPECIAL_USE_FLAGS = {
    "drafts": "\\Drafts",
    "sent": "\\Sent",
    "trash": "\\Trash",
    "junk": "\\Junk",
    "archive": "\\Archive",
}

SQL_SCHEMA = """CREATE TABLE IF NOT EXISTS mailbox (
    email TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    quota_mb INTEGER NOT NULL DEFAULT 1024,
    active INTEGER NOT NULL DEFAULT 1
)"""


class MailStackError(Exception):
    """The mail stack could not do what was asked; the message says why."""


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """One mail server as clients see it.

    ``users`` maps each fixed user's address to its password; ``folders`` maps a role (drafts,
    sent, trash, junk, archive) to the full IMAP name a client lists, prefix included.
    ``special_use`` tells whether the server flags those folders (RFC 6154).
    """

    number: int
    name: str
    domain: str
    imap_port: int
    imaps_port: int
    lmtp_port: int
    sieve_port: int
    smtp_port: int
    users: Mapping[str, str] = field(hash=False)
    separator: str
    prefix: str
    folders: Mapping[str, str] = field(hash=False)
    special_use: bool
    host: str = HOST
    # IMAP connections one user may hold from one address; above the default, the profile's
    # Dovecot also gets the process and client limits for that many connections (push profile).
    max_connections: int = 200

    @property
    def ports(self) -> dict[str, int]:
        """Every listening port of this profile by service name."""
        return {
            "imap": self.imap_port,
            "imaps": self.imaps_port,
            "lmtp": self.lmtp_port,
            "sieve": self.sieve_port,
            "smtp": self.smtp_port,
        }

    @property
    def sent_folder(self) -> str:
        return self.folders["sent"]

    @property
    def trash_folder(self) -> str:
        return self.folders["trash"]

    @property
    def drafts_folder(self) -> str:
        return self.folders["drafts"]

    @property
    def junk_folder(self) -> str:
        return self.folders["junk"]


def make_profiles(port_offset: int = 0, push: bool = False) -> dict[int, Profile]:
    """Both profiles with their ports moved by ``port_offset`` (and, with ``push``, profile 3)."""
    off = port_offset
    standard = Profile(
        number=1,
        name="standard",
        domain="example.test",
        imap_port=10143 + off,
        imaps_port=10993 + off,
        lmtp_port=10024 + off,
        sieve_port=14190 + off,
        smtp_port=10587 + off,
        users={
            "alice@example.test": "alicepass",
            "bob@example.test": "bobpass",
            "carol@example.test": "carolpass",
            "dave@example.test": "davepass",
        },
        separator="/",
        prefix="",
        folders={"drafts": "Drafts", "sent": "Sent", "trash": "Trash", "junk": "Junk", "archive": "Archive"},
        special_use=True,
    )
    hoster = Profile(
        number=2,
        name="hoster",
        domain="hoster.test",
        imap_port=11143 + off,
        imaps_port=11993 + off,
        lmtp_port=11024 + off,
        sieve_port=15190 + off,
        smtp_port=11587 + off,
        users={"anna@hoster.test": "annapass", "ben@hoster.test": "benpass"},
        separator=".",
        prefix="INBOX.",
        folders={
            "sent": "INBOX.Sent Mails",
            "trash": "INBOX.Papierkorb",
            "drafts": "INBOX.Entwürfe",
            "junk": "INBOX.Spam",
        },
        special_use=False,
    )
    profiles = {p.number: p for p in (standard, hoster)}
    if push:
        profiles[3] = push_profile(off)
    for profile in profiles.values():
        for service, port in profile.ports.items():
            if not 0 < port < 65536:
                raise MailStackError(
                    f"port offset {port_offset} puts {profile.name} {service} on invalid port {port}"
                )
    return profiles


def push_profile(off: int) -> Profile:
    """Profile 3, "push": the standard layout, with limits for thousands of IDLE connections
    (the push engine's benchmark, bench/push_bench.py). Started only when asked for."""
    return Profile(
        number=3, name="push", domain="push.test", imap_port=21143 + off, imaps_port=21993 + off,
        lmtp_port=21024 + off, sieve_port=21190 + off, smtp_port=21587 + off,
        users={"paul@push.test": "paulpass"}, separator="/", prefix="",
        folders={"drafts": "Drafts", "sent": "Sent", "trash": "Trash", "junk": "Junk", "archive": "Archive"},
        special_use=True, max_connections=2000,
    )


def _connection_limits(profile: Profile) -> str:
    """Dovecot's limits for many connections: an imap process per connection (client_limit 1),
    clients for the services every imap process talks to, a short idle check interval."""
    if profile.max_connections <= 200:
        return ""
    n = profile.max_connections
    # The kernel allows 128 inotify instances per user id (fs.inotify.max_user_instances), and
    # every imap process in IDLE takes one; past that Dovecot checks the mailbox every
    # mailbox_idle_check_interval instead, 30 s by default: 1 s here. (imap_hibernate would hold
    # all idle clients in one process, but Dovecot 2.3.19 lost notifications for mail arriving
    # while a client was handed over, in this benchmark.)
    return f"""
default_client_limit = {2 * n + 500}
default_process_limit = {n + 100}
mailbox_idle_check_interval = 1 secs
service imap {{
  process_limit = {n + 100}
}}
"""


# --------------------------------------------------------------------------------------------
# Files of a state directory
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfilePaths:
    """Where one profile keeps its config, users, mail, logs and pid files."""

    root: Path
    config: Path
    users_file: Path
    sql_config: Path
    sql_db: Path
    base_dir: Path
    state_dir: Path
    mail_dir: Path
    dovecot_log: Path
    relay_log: Path
    dovecot_pidfile: Path
    relay_pidfile: Path

    @classmethod
    def under(cls, state_dir: Path, profile: Profile) -> ProfilePaths:
        root = state_dir / profile.name
        return cls(
            root=root,
            config=root / "dovecot.conf",
            users_file=root / "users",
            sql_config=root / "dovecot-sql.conf.ext",
            sql_db=root / "accounts.sqlite",
            base_dir=root / "run",
            state_dir=root / "state",
            mail_dir=root / "mail",
            dovecot_log=state_dir / "log" / f"{profile.name}-dovecot.log",
            relay_log=state_dir / "log" / f"{profile.name}-smtp.log",
            dovecot_pidfile=state_dir / "pids" / f"{profile.name}-dovecot.pid",
            relay_pidfile=state_dir / "pids" / f"{profile.name}-smtp.pid",
        )

    @property
    def auth_socket(self) -> Path:
        return self.base_dir / "auth-client"

    @property
    def sendmail(self) -> Path:
        """The wrapper Dovecot runs as ``sendmail`` (scripts/stack_sendmail.py)."""
        return self.root / "sendmail"


def dovecot_config(profile: Profile, paths: ProfilePaths, cert: Path, key: Path, instance: str) -> str:
    """A self-contained Dovecot 2.3 config for one profile (see shared/notes/mailstack.md)."""
    uid, gid = _mail_ids()
    return f"""# Written by scripts/mailstack.py for profile {profile.number} ({profile.name}); rewritten on start.
base_dir = {paths.base_dir}
state_dir = {paths.state_dir}
instance_name = {instance}
protocols = imap lmtp sieve
listen = {HOST}
log_path = {paths.dovecot_log}
login_greeting = Dovecot ready ({instance}).
verbose_proctitle = yes
auth_verbose = yes

ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
# tests try wrong passwords on purpose: no 2 s sleep after each failure (0.5 s remain) ...
auth_failure_delay = 0

first_valid_uid = {uid}
first_valid_gid = {gid}
mail_uid = {uid}
mail_gid = {gid}
# home (sieve scripts) must not be the Maildir++ root, or LMTP delivery with sieve fails
mail_location = maildir:~/Maildir

mail_plugins = $mail_plugins quota acl
imap_metadata = yes
mail_attribute_dict = file:%h/dovecot-attributes

{_namespace_config(profile)}

passdb {{
  driver = passwd-file
  args = username_format=%u {paths.users_file}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {paths.users_file}
  default_fields = uid={uid} gid={gid} home={paths.mail_dir}/%d/%n
}}
passdb {{
  driver = sql
  args = {paths.sql_config}
}}
userdb {{
  driver = sql
  args = {paths.sql_config}
}}

service imap-login {{
  inet_listener imap {{
    port = {profile.imap_port}
  }}
  inet_listener imaps {{
    port = {profile.imaps_port}
    ssl = yes
  }}
}}
# ... and no per-IP penalty delaying the next login from 127.0.0.1 by 2-15 s
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    port = {profile.lmtp_port}
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    port = {profile.sieve_port}
  }}
}}

protocol imap {{
  mail_plugins = $mail_plugins imap_quota imap_acl
  mail_max_userip_connections = {profile.max_connections}
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@{profile.domain}
}}
# Sieve's vacation replies and redirects: delivered to the stack's own users over LMTP
sendmail_path = {paths.sendmail}
plugin {{
  quota = maildir:User quota
  quota_rule = *:storage=1G
  quota_max_mail_size = 50M
  acl = vfile
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
{_connection_limits(profile)}"""


def _namespace_config(profile: Profile) -> str:
    """The inbox namespace; mailbox names in it are given without the namespace prefix."""
    lines = [
        "namespace inbox {",
        "  inbox = yes",
        f"  separator = {profile.separator}",
    ]
    if profile.prefix:
        lines.append(f"  prefix = {profile.prefix}")
    for role, folder in profile.folders.items():
        lines.append(f'  mailbox "{folder.removeprefix(profile.prefix)}" {{')
        if profile.special_use:
            lines.append(f"    special_use = {SPECIAL_USE_FLAGS[role]}")
        lines.append("    auto = subscribe")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines)


def sql_config(paths: ProfilePaths) -> str:
    """Dovecot's SQLite passdb/userdb queries over the ``mailbox`` table."""
    uid, gid = _mail_ids()
    return f"""driver = sqlite
connect = {paths.sql_db}
default_pass_scheme = SSHA512
password_query = SELECT email AS user, password FROM mailbox WHERE email = '%u' AND active = 1
user_query = SELECT '{paths.mail_dir}/%d/%n' AS home, {uid} AS uid, {gid} AS gid, \
  '*:storage=' || quota_mb || 'M' AS quota_rule FROM mailbox WHERE email = '%u' AND active = 1
iterate_query = SELECT email AS user FROM mailbox WHERE active = 1
"""


def _mail_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("mail")
    return entry.pw_uid, entry.pw_gid


def passwd_file(users: Mapping[str, str]) -> str:
    """Dovecot passwd-file lines with {PLAIN} passwords."""
    return "".join(f"{email}:{{PLAIN}}{password}::::::\n" for email, password in users.items())


def ssha512(password: str) -> str:
    """A Dovecot ``{SSHA512}`` hash: base64(sha512(password + salt) + salt)."""
    salt = os.urandom(16)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------

# Popen objects of the daemons this process started, so stopped ones get reaped (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ServiceStatus:
    """One daemon of the stack as ``status`` reports it."""

    profile: Profile
    service: str
    pid: int | None
    running: bool
    ports: Mapping[str, int] = field(hash=False)


@dataclass(frozen=True)
class _Service:
    profile: Profile
    service: str
    pidfile: Path
    marker: str  # text in /proc/PID/cmdline that proves the pid is ours


def _proc_state(pid: int) -> str | None:
    """The process state letter from /proc, or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _alive(pid: int) -> bool:
    """True while ``pid`` runs; zombies count as gone (PID 1 here may never reap them)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]
        return False
    state = _proc_state(pid)
    return state is not None and state not in ("Z", "X")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _group_states(pgid: int) -> list[str]:
    """State letters of the processes in process group ``pgid``, zombies included."""
    states = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            states.append(fields[0])
    return states


def _group_alive(pgid: int) -> bool:
    """True while any live (non-zombie) process is in process group ``pgid``."""
    return any(state not in ("Z", "X") for state in _group_states(pgid))


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _spawn_detached(cmd: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a daemon detached from us: stdin /dev/null, output to ``log``, no inherited fds."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            close_fds=True,
            start_new_session=True,
        )


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path} is missing)"
    return "\n".join(f"  {line}" for line in text[-lines:]) or f"({path} is empty)"


# --------------------------------------------------------------------------------------------
# Network checks
# --------------------------------------------------------------------------------------------

_GREETINGS = {"imap": b"* OK", "imaps": b"* OK", "lmtp": b"220", "sieve": b'"IMPLEMENTATION"', "smtp": b"220"}


def client_ssl_context(cafile: Path | None = None) -> ssl.SSLContext:
    """A client TLS context that trusts ``cafile`` (the stack's own certificate), or verifies nothing."""
    if cafile is not None:
        return ssl.create_default_context(cafile=str(cafile))
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _greeting(port: int, use_tls: bool, timeout: float = 2.0) -> bytes:
    """The first line a server on 127.0.0.1:``port`` sends, or b"" when it does not answer."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            if use_tls:
                with client_ssl_context().wrap_socket(sock, server_hostname="localhost") as tls:
                    return tls.recv(512)
            return sock.recv(512)
    except OSError:
        return b""


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


# --------------------------------------------------------------------------------------------
# Installing packages and the certificate
# --------------------------------------------------------------------------------------------


def _dpkg_installed(package: str) -> bool:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True, check=False
    )
    return result.returncode == 0 and result.stdout.strip().endswith(" installed")


def _dovecot_binary() -> str | None:
    """Dovecot lives in /usr/sbin, which the PATH of a non-login shell may lack."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


def ensure_packages() -> None:
    """Install Dovecot's Debian packages when any is missing (apt, as root, services not started)."""
    if shutil.which("dpkg-query") is None:
        if _dovecot_binary() is None:
            raise MailStackError("dovecot is not installed and this is not a Debian system")
        return
    missing = [p for p in APT_PACKAGES if not _dpkg_installed(p)]
    if shutil.which("openssl") is None:
        missing.append("openssl")
    if not missing:
        return
    apt_install(missing, "mailstack")


def apt_install(packages: Sequence[str], who: str) -> None:
    """``apt-get install`` ``packages`` as root, with Debian's service starts held back."""
    if os.geteuid() != 0:
        raise MailStackError(f"missing packages {' '.join(packages)}; run as root or apt-get install them")
    print(f"{who}: installing {' '.join(packages)} ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
    with _services_not_started():
        for cmd in (apt + ["update"], apt + ["install", "-y", "--no-install-recommends", *packages]):
            result = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
            if result.returncode != 0:
                raise MailStackError(f"{' '.join(cmd)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


@contextlib.contextmanager
def _services_not_started() -> Iterator[None]:
    """Keep Debian's postinst from starting the system Dovecot on all interfaces (policy-rc.d 101)."""
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text("#!/bin/sh\n# written by tricoma scripts/mailstack.py during apt-get install\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)


def ensure_certificate(cert: Path, key: Path) -> None:
    """A self-signed certificate for localhost and 127.0.0.1, renewed when it expires within a day."""
    if cert.exists() and key.exists():
        check = subprocess.run(
            ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(cert)], capture_output=True, check=False
        )
        if check.returncode == 0:
            return
    cert.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
         "-subj", "/CN=localhost", "-addext", f"subjectAltName=DNS:localhost,IP:{HOST}",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise MailStackError(f"openssl could not make the certificate:\n{result.stderr}")
    key.chmod(0o600)


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------


class MailStack:
    """One state directory's mail stack: both profiles' Dovecot and SMTP relay.

    Example::

        stack = MailStack("/tmp/tricoma-mailstack-test-300", port_offset=300)
        stack.start()
        stack.standard.imap_port   # 10443
        stack.stop()
    """

    def __init__(self, state_dir: str | os.PathLike[str] = DEFAULT_STATE_DIR, port_offset: int = 0,
                 push_profile: bool = False) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.port_offset = port_offset
        self.profiles = make_profiles(port_offset, push=push_profile)
        self.cert = self.state_dir / "ssl" / "cert.pem"
        self.key = self.state_dir / "ssl" / "key.pem"

    def __repr__(self) -> str:
        return f"MailStack({str(self.state_dir)!r}, port_offset={self.port_offset})"

    @property
    def standard(self) -> Profile:
        return self.profiles[1]

    @property
    def hoster(self) -> Profile:
        return self.profiles[2]

    def profile(self, number: int) -> Profile:
        """Profile 1 or 2, with a clear error for any other number."""
        try:
            return self.profiles[number]
        except KeyError:
            raise MailStackError(f"no profile {number}; profiles are {sorted(self.profiles)}") from None

    def paths(self, profile: Profile) -> ProfilePaths:
        return ProfilePaths.under(self.state_dir, profile)

    def ssl_context(self, verify: bool = True) -> ssl.SSLContext:
        """A client TLS context for this stack: trusting its self-signed certificate, or verifying nothing."""
        return client_ssl_context(self.cert if verify else None)

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Start both profiles and wait until every port answers; False when already running."""
        self._check_state_dir()
        with self._locked():
            if self.running():
                return False
            self._stop()  # leftovers of a half-started stack in this state dir
            self._check_prerequisites()
            ensure_packages()
            self._check_ports_free()
            self._write_files()
            try:
                for profile in self.profiles.values():
                    self._start_dovecot(profile)
                for profile in self.profiles.values():
                    self._start_relay(profile)
                self._wait_ready()
            except BaseException:
                self._stop()
                raise
            return True

    def stop(self) -> list[int]:
        """Stop every daemon of this state dir by pid and wait until they are gone; idempotent.

        Returns the pids that were stopped.
        """
        if not self.state_dir.is_dir():
            return []
        with self._locked():
            return self._stop()

    def status(self) -> list[ServiceStatus]:
        """Every daemon with its pid and whether it runs."""
        result = []
        for svc in self._services():
            pid = _read_pid(svc.pidfile)
            running = pid is not None and _alive(pid) and svc.marker in _cmdline(pid)
            ports = (
                {"smtp": svc.profile.smtp_port}
                if svc.service == "smtp"
                else {k: v for k, v in svc.profile.ports.items() if k != "smtp"}
            )
            result.append(ServiceStatus(svc.profile, svc.service, pid, running, ports))
        return result

    def running(self) -> bool:
        """True when every daemon of the stack runs."""
        return all(s.running for s in self.status())

    def pids(self) -> list[int]:
        """Pids of the daemons that run now."""
        return [s.pid for s in self.status() if s.running and s.pid is not None]

    def destroy(self) -> None:
        """Stop the stack and delete its state dir (only a dir this module made)."""
        if not self.state_dir.is_dir():
            return
        self._check_state_dir()
        with self._locked():
            self._stop()
            shutil.rmtree(self.state_dir)

    # ---- users and mail --------------------------------------------------------------------

    def add_user(self, email: str, password: str, profile: int = 1, quota_mb: int = 1024) -> None:
        """Provision a user in the profile's SQLite table; Dovecot and SMTP accept it at once."""
        prof = self.profile(profile)
        if not re.fullmatch(r"[^@\s'\"\\]+@[^@\s'\"\\]+\.[^@\s'\"\\]+", email):
            raise MailStackError(f"not a usable address: {email!r}")
        if email.lower() in prof.users:
            raise MailStackError(f"{email} is a fixed user of profile {profile} ({prof.name})")
        with self._user_db(prof) as db:
            db.execute(
                "INSERT INTO mailbox (email, password, quota_mb, active) VALUES (?, ?, ?, 1) "
                "ON CONFLICT(email) DO UPDATE SET password = excluded.password, "
                "quota_mb = excluded.quota_mb, active = 1",
                (email.lower(), ssha512(password), quota_mb),
            )

    def remove_user(self, email: str, profile: int = 1) -> None:
        """Delete a provisioned user from the profile's SQLite table (its mail stays on disk)."""
        with self._user_db(self.profile(profile)) as db:
            db.execute("DELETE FROM mailbox WHERE email = ?", (email.lower(),))

    def fill(
        self,
        email: str,
        password: str,
        profile: int = 1,
        corpus: str | os.PathLike[str] | None = None,
        limit: int | None = None,
        folder: str = "INBOX",
    ) -> int:
        """Append mail to ``folder`` over IMAP; returns how many messages were appended.

        Messages come from ``corpus`` (default ../shared/corpora/ham), or are generated when the
        default corpus is missing.
        """
        corpus_dir = Path(corpus) if corpus is not None else DEFAULT_CORPUS
        if corpus_dir.is_dir():
            messages = load_corpus(corpus_dir, limit)
        elif corpus is not None:
            raise MailStackError(f"corpus folder {corpus_dir} does not exist")
        else:
            messages = generate_messages(limit if limit is not None else GENERATED_COUNT, recipient=email)
        return append_messages(self.profile(profile), email, password, folder, messages)

    # ---- internals -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One start/stop/destroy at a time per state dir."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / LOCK_FILE, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _check_state_dir(self) -> None:
        """Refuse to write into, or delete, a non-empty dir that this module did not make."""
        if (
            self.state_dir.is_dir()
            and not (self.state_dir / MARKER_FILE).exists()
            and any(p.name != LOCK_FILE for p in self.state_dir.iterdir())
        ):
            raise MailStackError(f"{self.state_dir} is not empty and not a mail stack state dir")

    def _stop(self) -> list[int]:
        targets: list[tuple[int, int | None]] = []
        for svc in self._services():
            pid = _read_pid(svc.pidfile)
            if pid is not None and _alive(pid) and svc.marker in _cmdline(pid):
                targets.append((pid, _pgid(pid)))
                _signal(pid, signal.SIGTERM)
        self._await_exit(targets)
        for svc in self._services():
            svc.pidfile.unlink(missing_ok=True)
        return [pid for pid, _ in targets]

    def _instance(self, profile: Profile) -> str:
        suffix = f"-{self.port_offset}" if self.port_offset else ""
        return f"tricoma-{profile.name}{suffix}"

    def _services(self) -> list[_Service]:
        services = []
        for profile in self.profiles.values():
            paths = self.paths(profile)
            services.append(_Service(profile, "dovecot", paths.dovecot_pidfile, str(paths.config)))
            services.append(_Service(profile, "smtp", paths.relay_pidfile, str(paths.auth_socket)))
        return services

    def _check_prerequisites(self) -> None:
        if importlib.util.find_spec("aiosmtpd") is None:
            raise MailStackError(f"the SMTP relay needs aiosmtpd, which {sys.executable} lacks")
        longest = max(len(str(self.paths(p).base_dir / LONGEST_SOCKET)) for p in self.profiles.values())
        if longest > SOCKET_PATH_MAX:
            raise MailStackError(f"state dir {self.state_dir} is too long for Dovecot's unix sockets")

    def _check_ports_free(self) -> None:
        busy = [
            f"{p.name} {service} {port}"
            for p in self.profiles.values()
            for service, port in p.ports.items()
            if _port_in_use(port)
        ]
        if busy:
            raise MailStackError(
                f"ports in use: {', '.join(busy)} (another mail stack with port offset {self.port_offset}, or one "
                "whose ports overlap these, such as a benchmark's stack kept with --keep; or another program)"
            )

    def _write_files(self) -> None:
        for sub in ("log", "pids"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.state_dir / MARKER_FILE).write_text("state dir of tricoma scripts/mailstack.py\n")
        ensure_certificate(self.cert, self.key)
        uid, gid = _mail_ids()
        for profile in self.profiles.values():
            paths = self.paths(profile)
            for directory in (paths.root, paths.base_dir, paths.state_dir, paths.mail_dir):
                directory.mkdir(parents=True, exist_ok=True)
            os.chown(paths.mail_dir, uid, gid)
            paths.config.write_text(dovecot_config(profile, paths, self.cert, self.key, self._instance(profile)))
            self._write_sendmail(profile)
            paths.users_file.write_text(passwd_file(profile.users))
            paths.sql_config.write_text(sql_config(paths))
            with self._user_db(profile):
                pass

    @contextlib.contextmanager
    def _user_db(self, profile: Profile) -> Iterator[sqlite3.Connection]:
        db_path = self.paths(profile).sql_db
        db_path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(db_path)
        try:
            with db:
                db.execute(SQL_SCHEMA)
                yield db
        finally:
            db.close()
        db_path.chmod(0o644)

    def _start_dovecot(self, profile: Profile) -> None:
        paths = self.paths(profile)
        binary = _dovecot_binary()
        if binary is None:
            raise MailStackError("dovecot is not installed")
        master_pidfile = paths.base_dir / "master.pid"
        master_pidfile.unlink(missing_ok=True)
        # a socket left by an older config would make auth log "Connection refused" (penalty is off)
        (paths.base_dir / "anvil-auth-penalty").unlink(missing_ok=True)
        # dovecot forks its master and exits; the master writes base_dir/master.pid
        launcher = _spawn_detached([binary, "-c", str(paths.config)], paths.dovecot_log)
        if launcher.wait(timeout=30) != 0:
            raise MailStackError(
                f"dovecot ({profile.name}) failed to start:\n{_log_tail(paths.dovecot_log)}"
            )
        deadline = time.monotonic() + START_TIMEOUT
        while (pid := _read_pid(master_pidfile)) is None:
            if time.monotonic() > deadline:
                raise MailStackError(f"dovecot ({profile.name}) wrote no {master_pidfile}")
            time.sleep(0.02)
        paths.dovecot_pidfile.write_text(f"{pid}\n")

    def _routes(self, profile: Profile) -> list[Profile]:
        """Where mail for a recipient is offered: the own profile first, then the others."""
        return [profile] + [p for p in self.profiles.values() if p.number != profile.number]

    def _write_sendmail(self, profile: Profile) -> None:
        lmtp = " ".join(f"--lmtp {target.lmtp_port}" for target in self._routes(profile))
        wrapper = self.paths(profile).sendmail
        # Dovecot runs it as the mail user, who may not reach a virtualenv's Python: the system's
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(python)} {shlex.quote(str(SENDMAIL_SCRIPT))} '
                           f'{lmtp} "$@"\n')
        wrapper.chmod(0o755)

    def _start_relay(self, profile: Profile) -> None:
        paths = self.paths(profile)
        routes = self._routes(profile)
        cmd = [
            sys.executable, str(RELAY_SCRIPT),
            "--port", str(profile.smtp_port),
            "--auth-socket", str(paths.auth_socket),
            "--hostname", f"smtp.{profile.domain}",
            "--tls-cert", str(self.cert),
            "--tls-key", str(self.key),
        ]  # fmt: skip
        for target in routes:
            cmd += ["--lmtp", str(target.lmtp_port)]
        child = _spawn_detached(cmd, paths.relay_log)
        _children[child.pid] = child
        paths.relay_pidfile.write_text(f"{child.pid}\n")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = {
            (profile, service): port
            for profile in self.profiles.values()
            for service, port in profile.ports.items()
        }
        while pending:
            for (profile, service), port in list(pending.items()):
                if _greeting(port, use_tls=service == "imaps").startswith(_GREETINGS[service]):
                    del pending[(profile, service)]
            if not pending:
                return
            dead = [s for s in self.status() if not s.running]
            if dead or time.monotonic() > deadline:
                self._raise_not_ready(pending, dead)
            time.sleep(0.05)

    def _raise_not_ready(self, pending: Mapping[tuple[Profile, str], int], dead: list[ServiceStatus]) -> None:
        waiting = ", ".join(f"{p.name} {service} {port}" for (p, service), port in pending.items())
        logs = []
        for profile in {p for p, _ in pending} | {s.profile for s in dead}:
            paths = self.paths(profile)
            logs.append(f"{paths.dovecot_log}:\n{_log_tail(paths.dovecot_log)}")
            logs.append(f"{paths.relay_log}:\n{_log_tail(paths.relay_log)}")
        reason = f"died: {', '.join(f'{s.profile.name} {s.service}' for s in dead)}" if dead else (
            f"no answer within {START_TIMEOUT:.0f} s"
        )
        raise MailStackError(f"mail stack did not come up ({reason}); waiting for {waiting}\n" + "\n".join(logs))

    def _await_exit(self, targets: list[tuple[int, int | None]]) -> None:
        """Wait for each pid (and its process group) to go; SIGKILL what is left after STOP_TIMEOUT."""
        deadline = time.monotonic() + STOP_TIMEOUT

        def gone(pid: int, pgid: int | None) -> bool:
            return not _alive(pid) and (pgid is None or not _group_alive(pgid))

        while not all(gone(*t) for t in targets):
            if time.monotonic() > deadline:
                for pid, pgid in targets:
                    if pgid is not None and _group_alive(pgid):
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(pgid, signal.SIGKILL)
                    _signal(pid, signal.SIGKILL)
                deadline = time.monotonic() + STOP_TIMEOUT
            time.sleep(0.05)
        for pid, _ in targets:
            child = _children.pop(pid, None)
            if child is not None:
                child.wait()
        # Daemonized Dovecot belongs to PID 1, which may reap it a second later; wait a little so
        # that `ps` right after `stop` shows nothing left (zombies alone would be harmless).
        deadline = time.monotonic() + REAP_GRACE
        while time.monotonic() < deadline and any(
            _proc_state(pid) is not None or (pgid is not None and _group_states(pgid)) for pid, pgid in targets
        ):
            time.sleep(0.05)


def _pgid(pid: int) -> int | None:
    """The process group of ``pid`` when that group is its own (so killing the group is safe)."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return None
    return pgid if pgid != os.getpgid(0) else None


# --------------------------------------------------------------------------------------------
# Mail to fill mailboxes with
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedMessage:
    """A raw message to append, with its internal date (None: server time) and flags."""

    raw: bytes
    date: dt.datetime | None
    flags: tuple[str, ...] = ()


def _flags(rng: random.Random) -> tuple[str, ...]:
    """Flags of a typical mailbox: most read, some answered, a few flagged."""
    flags = []
    if rng.random() < 0.7:
        flags.append("\\Seen")
    if rng.random() < 0.1:
        flags.append("\\Answered")
    if rng.random() < 0.05:
        flags.append("\\Flagged")
    return tuple(flags)


def _header_date(raw: bytes) -> dt.datetime | None:
    """The Date header as an aware datetime, or None when missing or unparseable."""
    value = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw).get("Date")
    if not value:
        return None
    try:
        date = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return date if date.tzinfo else date.replace(tzinfo=dt.timezone.utc)


def load_corpus(directory: Path, limit: int | None = None) -> list[SeedMessage]:
    """Raw RFC 5322 files of ``directory`` in name order, mbox "From " lines stripped, CRLF endings."""
    rng = random.Random(20020822)
    messages = []
    for path in sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")):
        if limit is not None and len(messages) >= limit:
            break
        raw = path.read_bytes()
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1] if b"\n" in raw else b""
        if not raw.strip():
            continue
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        messages.append(SeedMessage(raw, _header_date(raw), _flags(rng)))
    return messages


_PEOPLE = (
    ("Jürgen Meier", "juergen.meier@lieferant.test"),
    ("Sabine Krüger", "s.krueger@kanzlei-krueger.test"),
    ("Thomas Weiß", "weiss@werkzeugbau.test"),
    ("Claire Dubois", "claire.dubois@fournisseur.test"),
    ("Hans Müller", "hans.mueller@kunde-gmbh.test"),
    ("Priya Natarajan", "priya@logistics.test"),
    ("Lena Schäfer", "lena.schaefer@agentur.test"),
    ("Mark Johnson", "mjohnson@partner.test"),
    ("Buchhaltung", "buchhaltung@kunde-gmbh.test"),
    ("Newsletter Fachhandel", "news@fachhandel.test"),
)

_TOPICS = (
    "Rechnung {n} vom {date}",
    "Angebot für Projekt {n}",
    "Lieferverzögerung Auftrag {n}",
    "Änderung der Lieferadresse",
    "Grüße aus Köln – Termin nächste Woche",
    "Order confirmation #{n}",
    "Meeting notes {date}",
    "Mahnung: offene Posten {n}",
    "Café-Treffen am Freitag?",
    "Quarterly report Q{q}",
    "Reklamation Artikel {n}",
    "Überweisung eingegangen",
    "Invitation: product demo",
    "Preisliste {year} – Übersicht",
    "Frage zur Bestellung {n}",
)

_PARAGRAPHS = (
    "vielen Dank für Ihre Nachricht. Wir haben den Vorgang geprüft und melden uns bis Ende der Woche.",
    "anbei finden Sie die gewünschten Unterlagen. Bitte prüfen Sie die Positionen und geben Sie uns kurz Bescheid.",
    "thanks for the quick reply. Could you confirm the delivery date and the number of pallets?",
    "die Ware ist heute eingetroffen, allerdings fehlen zwei Kartons. Können Sie das bitte nachliefern?",
    "as discussed on the phone, here is a short summary of the open points and who takes care of them.",
    "bitte beachten Sie, dass sich unsere Bankverbindung zum nächsten Monat ändert.",
    "wir freuen uns auf das Treffen. Für Kaffee und Kuchen ist gesorgt.",
    "the invoice total does not match the order; it looks like the discount was not applied.",
)

_ZONES = tuple(dt.timezone(dt.timedelta(hours=h)) for h in (1, 2, 0, -5, 5.5, 9))

_PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
_PDF_MINIMAL = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def generate_messages(count: int, recipient: str = "alice@example.test", seed: int = 4711) -> list[SeedMessage]:
    """``count`` deterministic, realistic messages to ``recipient``.

    About 30 % are replies (In-Reply-To/References), 25 % multipart/alternative, 15 % carry a small
    attachment, and many subjects and names are non-ASCII (RFC 2047 encoded on output).
    """
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 2, 8, 0, tzinfo=dt.timezone.utc)
    sent: list[tuple[str, str]] = []  # (message-id, subject) of earlier messages, for replies
    messages = []
    for i in range(count):
        when = (start + dt.timedelta(minutes=i * 97 + rng.randrange(60))).astimezone(rng.choice(_ZONES))
        msg = _generated_message(i, rng, recipient, when, sent)
        messages.append(SeedMessage(msg.as_bytes(policy=email.policy.SMTP), when, _flags(rng)))
        sent.append((msg["Message-ID"], str(msg["Subject"])))
    return messages


def _generated_message(
    i: int, rng: random.Random, recipient: str, when: dt.datetime, earlier: list[tuple[str, str]]
) -> EmailMessage:
    name, address = rng.choice(_PEOPLE)
    msg = EmailMessage()
    msg["From"] = f"{name} <{address}>"
    msg["To"] = recipient
    if rng.random() < 0.2:
        msg["Cc"] = "{} <{}>".format(*rng.choice(_PEOPLE))
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<seed-{i:05d}@{address.split('@')[1]}>"
    if earlier and rng.random() < 0.3:
        parent_id, parent_subject = rng.choice(earlier[-40:])
        msg["Subject"] = parent_subject if parent_subject.startswith("Re: ") else f"Re: {parent_subject}"
        msg["In-Reply-To"] = parent_id
        msg["References"] = parent_id
    else:
        topic = rng.choice(_TOPICS)
        msg["Subject"] = topic.format(
            n=10000 + i, date=when.strftime("%d.%m.%Y"), q=(when.month - 1) // 3 + 1, year=when.year
        )
    text = _body_text(rng, name)
    msg.set_content(text)
    if rng.random() < 0.25:
        html = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
        msg.add_alternative(f"<html><body>{html}</body></html>", subtype="html")
    if rng.random() < 0.15:
        _attach(msg, rng, i)
    for n, part in enumerate(p for p in msg.walk() if p.is_multipart()):
        part.set_boundary(f"=_seed{i}_{n}")  # email picks random boundaries; keep output reproducible
    return msg


def _body_text(rng: random.Random, sender_name: str) -> str:
    paragraphs = rng.sample(_PARAGRAPHS, k=rng.randint(1, 3))
    return "Hallo,\n\n" + "\n\n".join(paragraphs) + f"\n\nViele Grüße\n{sender_name}\n"


def _attach(msg: EmailMessage, rng: random.Random, i: int) -> None:
    kind = rng.choice(("csv", "pdf", "png"))
    if kind == "csv":
        rows = "\n".join(
            f"{n};Artikel {n};{rng.randint(1, 50)};{rng.randint(100, 9999) / 100:.2f}" for n in range(20)
        )
        msg.add_attachment(f"Pos;Bezeichnung;Menge;Preis\n{rows}\n".encode(), maintype="text", subtype="csv",
                           filename=f"positionen-{i}.csv")  # fmt: skip
    elif kind == "pdf":
        msg.add_attachment(_PDF_MINIMAL, maintype="application", subtype="pdf", filename=f"Rechnung-{i}.pdf")
    else:
        msg.add_attachment(_PNG_1X1, maintype="image", subtype="png", filename="logo.png")


def append_messages(
    profile: Profile, email: str, password: str, folder: str, messages: Iterable[SeedMessage]
) -> int:
    """MULTIAPPEND ``messages`` in batches to ``folder`` (created when missing) over plain IMAP."""
    from imapclient import IMAPClient  # only ``fill`` needs it
    from imapclient.exceptions import IMAPClientError, LoginError

    count = 0
    try:
        with IMAPClient(profile.host, port=profile.imap_port, ssl=False, timeout=60) as client:
            client.login(email, password)
            if not client.folder_exists(folder):
                client.create_folder(folder)
                client.subscribe_folder(folder)
            for batch in _batches(messages, APPEND_BATCH):
                client.multiappend(folder, [_append_item(m) for m in batch])
                count += len(batch)
    except LoginError as exc:
        raise MailStackError(f"{email} cannot log in to profile {profile.number} ({profile.name}): {exc}") from exc
    except (IMAPClientError, OSError) as exc:
        where = f"{profile.host}:{profile.imap_port}"
        raise MailStackError(f"IMAP append at {where} failed after {count} messages: {exc}") from exc
    return count


def _append_item(message: SeedMessage) -> dict[str, object]:
    item: dict[str, object] = {"msg": message.raw, "flags": message.flags}
    if message.date is not None:
        item["date"] = message.date
    return item


def _batches(items: Iterable[SeedMessage], size: int) -> Iterator[list[SeedMessage]]:
    batch: list[SeedMessage] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _format_status(statuses: Iterable[ServiceStatus]) -> str:
    lines = []
    for s in statuses:
        ports = "  ".join(f"{name} {port}" for name, port in s.ports.items())
        state = f"running  pid {s.pid}" if s.running else "stopped"
        lines.append(f"{s.profile.number} {s.profile.name:<9} {s.service:<8} {state:<20} {ports}")
    return "\n".join(lines)


def _format_profiles(stack: MailStack) -> str:
    lines = []
    for p in stack.profiles.values():
        users = ", ".join(f"{email}/{password}" for email, password in p.users.items())
        lines.append(
            f"profile {p.number} ({p.name}) on {p.host}: IMAP+STARTTLS {p.imap_port}, IMAPS {p.imaps_port}, "
            f"SMTP {p.smtp_port}, LMTP {p.lmtp_port}, ManageSieve {p.sieve_port}\n  users: {users}"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: options given after the command must not reset those given before it
    common.add_argument("--dir", default=argparse.SUPPRESS, help="state dir (env TRICOMA_MAILSTACK_DIR)")
    common.add_argument(
        "--port-offset",
        type=int,
        default=argparse.SUPPRESS,
        help="added to every port (env TRICOMA_MAILSTACK_PORT_OFFSET)",
    )
    parser = argparse.ArgumentParser(prog="mailstack", description=__doc__.split("\n\n")[0], parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", parents=[common], help="install if needed, configure and start both profiles")
    commands.add_parser("stop", parents=[common], help="stop the stack of this state dir")
    commands.add_parser("status", parents=[common], help="show each daemon; exit 3 unless all run")
    add_user = commands.add_parser(
        "add-user", parents=[common], help="provision a user in a profile's SQLite table"
    )
    add_user.add_argument("email")
    add_user.add_argument("password")
    add_user.add_argument("--profile", type=int, default=1, choices=(1, 2))
    add_user.add_argument("--quota-mb", type=int, default=1024)
    fill = commands.add_parser("fill", parents=[common], help="append corpus or generated mail over IMAP")
    fill.add_argument("email")
    fill.add_argument("password")
    fill.add_argument("--profile", type=int, default=1, choices=(1, 2))
    fill.add_argument("--corpus", help=f"folder of raw RFC 5322 files (default {DEFAULT_CORPUS})")
    fill.add_argument("--limit", type=int, help="append at most this many messages")
    fill.add_argument("--folder", default="INBOX")
    return parser


def _stack_from_args(args: argparse.Namespace) -> MailStack:
    state_dir = getattr(args, "dir", None) or os.environ.get("TRICOMA_MAILSTACK_DIR") or DEFAULT_STATE_DIR
    offset = getattr(args, "port_offset", None)
    if offset is None:
        offset = int(os.environ.get("TRICOMA_MAILSTACK_PORT_OFFSET") or 0)
    return MailStack(state_dir, offset)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        stack = _stack_from_args(args)
        return _run(stack, args)
    except MailStackError as exc:
        print(f"mailstack: error: {exc}", file=sys.stderr)
        return 1


def _run(stack: MailStack, args: argparse.Namespace) -> int:
    if args.command == "start":
        if not stack.start():
            print(f"mail stack already running (pids {' '.join(map(str, stack.pids()))})")
            return 0
        print(f"mail stack started in {stack.state_dir} (pids {' '.join(map(str, stack.pids()))})")
        print(_format_profiles(stack))
    elif args.command == "stop":
        pids = stack.stop()
        print(f"mail stack stopped (pids {' '.join(map(str, pids))})" if pids else "mail stack was not running")
    elif args.command == "status":
        statuses = stack.status()
        print(_format_status(statuses))
        return 0 if all(s.running for s in statuses) else EXIT_NOT_RUNNING
    elif args.command == "add-user":
        stack.add_user(args.email, args.password, args.profile, args.quota_mb)
        print(f"added {args.email} to profile {args.profile} ({stack.profile(args.profile).name})")
    elif args.command == "fill":
        count = stack.fill(args.email, args.password, args.profile, args.corpus, args.limit, args.folder)
        print(f"appended {count} messages to {args.email} {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
