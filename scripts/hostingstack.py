#!/usr/bin/env python3
"""The hosting stack of tricoma Postfächer: Postfix + Dovecot "hosted" + OpenDKIM + NSD on 127.0.0.1.

Postfix (its own instance) and Dovecot read domains, mailboxes, aliases and app passwords live
from the portal's database (SQLite by default, PostgreSQL with ``--database postgresql://…``), so
a change in the portal needs no reload. OpenDKIM signs submission mail with one key per domain;
the portal adds keys and signals it (SIGUSR1), Postfix is not touched. NSD serves zones the
portal or the tests write (``nsd-control addzone/reload``). The settings and pitfalls are those of
``../shared/notes/hosting-stack.md``.

Everything listens on 127.0.0.1; all state is under one directory (env TRICOMA_HOSTINGSTACK_DIR),
ports are a base plus an offset (env TRICOMA_HOSTINGSTACK_PORT_OFFSET) so the tests' stack runs
beside the demo's. ``stack.json`` in the state dir tells clients (the portal) every port and path.

CLI::

    hostingstack.py [--dir DIR] [--port-offset N] [--database URL] [--db-schema NAME] start|stop|status

Only the standard library is used here (and mailstack.py's helpers for certificates and processes).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mailstack import (
    MailStack,
    MailStackError,
    _cmdline,
    _dpkg_installed,
    _log_tail,
    _proc_state,
    _read_pid,
    apt_install,
    ensure_certificate,
)

HOST = "127.0.0.1"
DEFAULT_STATE_DIR = "/tmp/tricoma-hostingstack"
BASE_PORTS = {"smtp": 12025, "submission": 12587, "imap": 12143, "sieve": 12190, "milter": 12891, "dns": 12053}
APT_PACKAGES = (
    "postfix", "postfix-sqlite", "postfix-pgsql",
    "dovecot-core", "dovecot-imapd", "dovecot-lmtpd", "dovecot-managesieved", "dovecot-sieve",
    "dovecot-sqlite", "dovecot-pgsql",
    "opendkim", "nsd", "openssl",
)  # fmt: skip
MARKER_FILE = ".tricoma-hostingstack"
LOCK_FILE = ".lock"
MASTER_USER = "provisioner"
MAIL_HOST = "mail.hosting.test"  # the name clients and the MX record use for this stack
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
EXIT_NOT_RUNNING = 3
SERVICES = ("nsd", "opendkim", "dovecot", "postfix")


class HostingStackError(Exception):
    """The hosting stack could not do what was asked; the message says why."""


# --------------------------------------------------------------------------------------------
# The database Postfix and Dovecot read
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """Where the portal's tables are: a SQLite file, or a PostgreSQL database (and schema)."""

    url: str
    kind: str  # "sqlite" or "pgsql"
    path: str = ""
    host: str = HOST
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = ""
    schema: str = ""

    @classmethod
    def from_url(cls, url: str, schema: str = "") -> Database:
        """``sqlite:////abs/file.sqlite`` or ``postgresql[+driver]://user[:pw]@host[:port]/db``."""
        parts = urlsplit(url)
        scheme = parts.scheme.split("+")[0]
        if scheme == "sqlite":
            path = unquote(parts.path)
            if not path.startswith("//"):
                raise HostingStackError(f"the SQLite URL needs an absolute path (sqlite:////…): {url}")
            return cls(url=url, kind="sqlite", path=path[1:])
        if scheme in ("postgresql", "postgres"):
            if schema and not schema.replace("_", "").isalnum():
                raise HostingStackError(f"not a usable schema name: {schema!r}")
            return cls(
                url=url, kind="pgsql", host=parts.hostname or HOST, port=parts.port or 5432,
                user=unquote(parts.username or "postgres"), password=unquote(parts.password or ""),
                dbname=parts.path.lstrip("/"), schema=schema,
            )  # fmt: skip
        raise HostingStackError(f"unsupported database URL (sqlite or postgresql): {url}")

    def table(self, name: str) -> str:
        return f"{self.schema}.{name}" if self.schema else name


# --------------------------------------------------------------------------------------------
# Config files (see shared/notes/hosting-stack.md for why each setting is there)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paths:
    """Every file and folder of one state dir."""

    root: Path

    def __getattr__(self, name: str) -> Path:  # only for the names below
        layout = {
            "etc": "etc", "postfix_dir": "etc/postfix", "dovecot_dir": "etc/dovecot",
            "opendkim_dir": "etc/opendkim", "dkim_keys": "etc/opendkim/keys", "nsd_dir": "etc/nsd",
            "zones": "etc/nsd/zones", "queue": "spool/postfix", "postfix_data": "data/postfix",
            "mail": "mail", "run": "run", "dovecot_run": "run/dovecot", "opendkim_run": "run/opendkim",
            "nsd_run": "run/nsd", "dovecot_state": "state/dovecot", "nsd_state": "state/nsd",
            "log": "log", "tls": "tls", "db": "db", "stack_json": "stack.json",
        }  # fmt: skip
        if name not in layout:
            raise AttributeError(name)
        return self.root / layout[name]


def postfix_main_cf(p: Paths, ports: dict[str, int], db: Database) -> str:
    maps = {name: f"proxy:{db.kind}:{p.postfix_dir}/{db.kind}-{name}.cf"
            for name in ("domains", "mailboxes", "aliases", "sender-login")}  # fmt: skip
    return f"""# Written by scripts/hostingstack.py; rewritten on start.
compatibility_level = 3.6
queue_directory = {p.queue}
data_directory = {p.postfix_data}
maillog_file = {p.log}/postfix.log
maillog_file_prefixes = {p.log}
syslog_name = postfix-hosting-{ports['smtp']}
inet_interfaces = {HOST}
inet_protocols = ipv4
myhostname = {MAIL_HOST}
mydomain = hosting.test
myorigin = $myhostname
mydestination =
mynetworks = {HOST}/32
local_transport = error:5.1.1 local delivery disabled
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
# the portal's tables, queried live on every lookup (no postmap, no reload)
virtual_mailbox_domains = {maps['domains']}
virtual_mailbox_maps = {maps['mailboxes']}
virtual_alias_maps = {maps['aliases']}
smtpd_sender_login_maps = {maps['sender-login']}
virtual_transport = lmtp:unix:{p.dovecot_run}/lmtp
smtpd_reject_unlisted_recipient = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {p.dovecot_run}/auth-postfix
smtpd_sasl_auth_enable = no
smtpd_tls_cert_file = {p.tls}/mail.crt
smtpd_tls_key_file = {p.tls}/mail.key
smtpd_tls_security_level = may
smtp_tls_security_level = may
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
# unsigned mail is deferred, not sent, while the milter is away
milter_default_action = tempfail
milter_protocol = 6
non_smtpd_milters = inet:{HOST}:{ports['milter']}
"""


def postfix_master_cf(ports: dict[str, int]) -> str:
    # chroot "n" everywhere: a chrooted smtpd/proxymap could not open the database or the sockets
    return f"""# Written by scripts/hostingstack.py; rewritten on start.
{HOST}:{ports['smtp']} inet n - n - - smtpd
  -o syslog_name=postfix-hosting/inbound
{HOST}:{ports['submission']} inet n - n - - smtpd
  -o syslog_name=postfix-hosting/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_milters=inet:{HOST}:{ports['milter']}
  -o milter_macro_daemon_name=ORIGINATING
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def postfix_map_queries(db: Database) -> dict[str, str]:
    """The query of each Postfix map (``%s`` full address, ``%u`` local part, ``%d`` domain)."""
    domains, mailboxes, aliases = db.table("domains"), db.table("mailboxes"), db.table("aliases")
    return {
        "domains": f"SELECT name FROM {domains} WHERE name = '%s' AND active = 1",
        # only existence counts (delivery is LMTP)
        "mailboxes": (
            f"SELECT m.domain || '/' || m.local_part || '/' FROM {mailboxes} m JOIN {domains} d "
            "ON d.name = m.domain WHERE m.local_part = '%u' AND m.domain = '%d' AND m.active = 1 AND d.active = 1"
        ),
        "aliases": (
            f"SELECT m.local_part || '@' || m.domain FROM {aliases} a JOIN {mailboxes} m ON m.id = a.mailbox_id "
            "WHERE a.address = '%s' AND a.active = 1 AND m.active = 1"
        ),
        # who may use MAIL FROM:<%s> on submission: the mailbox itself, or the owner of the address
        "sender-login": (
            f"SELECT local_part || '@' || domain FROM {mailboxes} WHERE local_part = '%u' AND domain = '%d' "
            f"AND active = 1 UNION SELECT m.local_part || '@' || m.domain FROM {aliases} a JOIN {mailboxes} m "
            "ON m.id = a.mailbox_id WHERE a.address = '%s' AND a.active = 1 AND m.active = 1"
        ),
    }


def postfix_map_cf(db: Database, query: str) -> str:
    if db.kind == "sqlite":
        connection = f"dbpath = {db.path}\n"
    else:
        # no "domain =" line: in a pgsql map it leaks the domain row into the result (note, pitfall)
        connection = f"hosts = {db.host}:{db.port}\nuser = {db.user}\npassword = {db.password}\ndbname = {db.dbname}\n"
    return f"# Written by scripts/hostingstack.py\n{connection}query = {query}\n"


def dovecot_conf(p: Paths, ports: dict[str, int], instance: str) -> str:
    mail = pwd.getpwnam("mail")
    return f"""# Written by scripts/hostingstack.py: the "hosted" profile; rewritten on start.
instance_name = {instance}
base_dir = {p.dovecot_run}
state_dir = {p.dovecot_state}
log_path = {p.log}/dovecot.log
protocols = imap lmtp sieve
listen = {HOST}
auth_verbose = yes
auth_mechanisms = plain login
# no auth cache (auth_cache_size = 0): a portal change counts at the next login
# tests and the portal's own checks fail logins on purpose: no per-IP penalty from 127.0.0.1
auth_failure_delay = 0
auth_master_user_separator = *
ssl = yes
ssl_cert = <{p.tls}/mail.crt
ssl_key = <{p.tls}/mail.key
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
mail_uid = {mail.pw_uid}
mail_gid = {mail.pw_gid}
first_valid_uid = {mail.pw_uid}
first_valid_gid = {mail.pw_gid}
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins quota
# IDLE, CONDSTORE/QRESYNC, MOVE and SPECIAL-USE are on in Dovecot 2.3's IMAP by default

{_namespace()}

# the stack's own login for the portal's "is it live?" check: {MASTER_USER} with user*{MASTER_USER}
passdb {{
  driver = passwd-file
  master = yes
  args = {p.dovecot_dir}/master-users
  pass = yes
}}
passdb {{
  driver = sql
  args = {p.dovecot_dir}/sql.conf.ext
}}
# app passwords, tried when the main password did not match
passdb {{
  driver = sql
  args = {p.dovecot_dir}/sql-app.conf.ext
}}
userdb {{
  driver = sql
  args = {p.dovecot_dir}/sql.conf.ext
}}

service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {ports['imap']}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service managesieve-login {{
  inet_listener sieve {{
    address = {HOST}
    port = {ports['sieve']}
  }}
}}
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0600
    user = postfix
    group = postfix
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota
  mail_max_userip_connections = 100
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
  postmaster_address = postmaster@hosting.test
}}
# Sieve's vacation replies and redirects go out through the stack's own Postfix (mail to hosted
# addresses comes back over LMTP; without this Dovecot would call the machine's sendmail)
submission_host = {HOST}:{ports['smtp']}
plugin {{
  quota = count:User quota
  quota_vsizes = yes
  quota_rule = *:storage=1G
  quota_grace = 0
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
"""


def _namespace() -> str:
    """The inbox namespace with the five special-use folders, created and subscribed at login."""
    lines = ["namespace inbox {", "  inbox = yes", "  separator = /"]
    for folder in ("Drafts", "Sent", "Trash", "Junk", "Archive"):
        # a block opener must end its line (pitfall 7)
        lines += [f"  mailbox {folder} {{", f"    special_use = \\{folder}", "    auto = subscribe", "  }"]
    return "\n".join([*lines, "}"])


def dovecot_sql_conf(p: Paths, db: Database, app_passwords: bool) -> str:
    domains, mailboxes = db.table("domains"), db.table("mailboxes")
    if db.kind == "sqlite":
        header = f"driver = sqlite\nconnect = {db.path}\n"
    else:
        password = f" password={db.password}" if db.password else ""
        header = f"driver = pgsql\nconnect = host={db.host} port={db.port} dbname={db.dbname} user={db.user}{password}\n"
    active = "m.active = 1 AND d.active = 1"
    joined = f"{mailboxes} m JOIN {domains} d ON d.name = m.domain"
    if app_passwords:
        # Dovecot 2.3 refuses a passdb query with several rows: the first 8 characters of the
        # password (%w) select the one app password row, whose hash covers the whole password.
        return header + (
            "default_pass_scheme = SHA512-CRYPT\n"
            f"password_query = SELECT m.local_part || '@' || m.domain AS user, a.password_hash AS password "
            f"FROM {db.table('app_passwords')} a JOIN {mailboxes} m ON m.id = a.mailbox_id "
            f"JOIN {domains} d ON d.name = m.domain "
            f"WHERE a.selector = substr('%w', 1, 8) AND m.local_part = '%n' AND m.domain = '%d' "
            f"AND a.active = 1 AND {active}\n"
        )
    return header + (
        "default_pass_scheme = SHA512-CRYPT\n"
        f"password_query = SELECT m.local_part || '@' || m.domain AS user, m.password_hash AS password "
        f"FROM {joined} WHERE m.local_part = '%n' AND m.domain = '%d' AND {active}\n"
        f"user_query = SELECT '{p.mail}/' || m.domain || '/' || m.local_part AS home, "
        f"'*:bytes=' || m.quota AS quota_rule FROM {joined} "
        f"WHERE m.local_part = '%n' AND m.domain = '%d' AND {active}\n"
        f"iterate_query = SELECT m.local_part || '@' || m.domain AS user FROM {joined} WHERE {active}\n"
    )


def opendkim_conf(p: Paths, ports: dict[str, int]) -> str:
    return f"""# Written by scripts/hostingstack.py; rewritten on start.
Mode s
Socket inet:{ports['milter']}@{HOST}
PidFile {p.opendkim_run}/opendkim.pid
UserID opendkim:opendkim
UMask 007
Syslog no
Canonicalization relaxed/simple
OversignHeaders From
SignatureAlgorithm rsa-sha256
InternalHosts {HOST}
# the keys sit below a 1777 temp folder in tests; they are 0600 opendkim in a 0750 folder
RequireSafeKeys no
# the portal adds a domain: key file + one line in each table, then SIGUSR1 (re-reads both)
KeyTable file:{p.opendkim_dir}/KeyTable
SigningTable refile:{p.opendkim_dir}/SigningTable
"""


def nsd_conf(p: Paths, ports: dict[str, int]) -> str:
    return f"""# Written by scripts/hostingstack.py; rewritten on start.
server:
    ip-address: {HOST}@{ports['dns']}
    port: {ports['dns']}
    do-ip6: no
    username: nsd
    chroot: ""
    zonesdir: "{p.zones}"
    database: ""
    zonelistfile: "{p.nsd_state}/zone.list"
    xfrdfile: "{p.nsd_state}/xfrd.state"
    xfrdir: "{p.nsd_state}"
    pidfile: "{p.nsd_run}/nsd.pid"
    logfile: "{p.log}/nsd.log"
    server-count: 1
    hide-version: yes
    verbosity: 1
remote-control:
    control-enable: yes
    control-interface: {p.nsd_run}/nsd.ctl
# zones are added at run time: nsd-control addzone NAME hosted (zone file NAME.zone)
pattern:
    name: hosted
    zonefile: "%s.zone"
"""


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    return _proc_state(pid) not in (None, "Z", "X")


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (NSD and Postfix fork worker trees)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return tree


def _run(cmd: Sequence[str], log: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command with no terminal streams held open (Dovecot keeps stderr: pitfall 8)."""
    out = open(log, "a") if log is not None else subprocess.PIPE  # noqa: SIM115
    try:
        result = subprocess.run(list(cmd), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                text=True, check=False, timeout=60)  # fmt: skip
    finally:
        if log is not None:
            out.close()
    if check and result.returncode != 0:
        detail = result.stdout or (log.read_text(errors="replace")[-2000:] if log else "")
        raise HostingStackError(f"{' '.join(cmd)} failed (exit {result.returncode}):\n{detail}")
    return result


def _listening(port: int, udp: bool = False) -> bool:
    if udp:  # a DNS query for the root SOA: NSD answers REFUSED, which proves it serves
        query = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x06\x00\x01"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.3)
            try:
                sock.sendto(query, (HOST, port))
                return sock.recv(512)[:2] == b"\x12\x34"
            except OSError:
                return False
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def ensure_packages() -> None:
    """Install the stack's Debian packages when any is missing (as root; services not started)."""
    if shutil.which("dpkg-query") is None:
        raise HostingStackError("the hosting stack needs Debian's packages (dpkg-query not found)")
    missing = [p for p in APT_PACKAGES if not _dpkg_installed(p)]
    if not missing:
        return
    # "No configuration": no /etc/postfix/main.cf, no system Postfix
    subprocess.run(["debconf-set-selections"], input="postfix postfix/main_mailer_type select No configuration\n",
                   text=True, check=False, capture_output=True)  # fmt: skip
    try:
        apt_install(missing, "hostingstack")
    except MailStackError as exc:
        raise HostingStackError(str(exc)) from exc


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    pid: int | None
    running: bool


class HostingStack:
    """One state directory's hosting stack.

    Example::

        stack = HostingStack("/tmp/tricoma-hostingstack-test-800", port_offset=800,
                             database="sqlite:////tmp/portal.sqlite")
        stack.start()
        stack.ports["imap"]   # 12943
        stack.stop()
    """

    def __init__(
        self,
        state_dir: str | os.PathLike[str] = DEFAULT_STATE_DIR,
        port_offset: int = 0,
        database: str | None = None,
        db_schema: str = "",
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.paths = Paths(self.state_dir)
        self.port_offset = port_offset
        self.ports = {name: port + port_offset for name, port in BASE_PORTS.items()}
        if not all(0 < port < 65536 for port in self.ports.values()):
            raise HostingStackError(f"port offset {port_offset} gives invalid ports {self.ports}")
        self.database = Database.from_url(database or f"sqlite:///{self.paths.db}/portal.sqlite", db_schema)

    def __repr__(self) -> str:
        return f"HostingStack({str(self.state_dir)!r}, port_offset={self.port_offset})"

    @property
    def instance(self) -> str:
        return f"tricoma-hosted-{self.port_offset}"

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> bool:
        """Set up and start every daemon, wait until each answers; False when all already ran."""
        self._check_state_dir()
        with self._locked():
            if self.running():
                return False
            self._stop()  # leftovers of a half-started stack
            ensure_packages()
            self._check_ports_free()
            self.setup()
            try:
                for service in SERVICES:
                    getattr(self, f"_start_{service}")()
                self._wait_ready()
            except BaseException:
                self._stop()
                raise
            return True

    def stop(self) -> list[int]:
        """Stop every daemon with its own stop command and wait for its whole process tree."""
        if not self.state_dir.is_dir():
            return []
        with self._locked():
            return self._stop()

    def status(self) -> list[ServiceStatus]:
        result = []
        for service in SERVICES:
            pid = self._pid(service)
            result.append(ServiceStatus(service, pid, pid is not None))
        return result

    def running(self) -> bool:
        return all(s.running for s in self.status())

    def destroy(self) -> None:
        """Stop the stack and empty its state dir (only a dir this module made; it stays marked)."""
        self._check_state_dir()
        with self._locked():
            self._stop()
            (self.state_dir / MARKER_FILE).write_text("state dir of tricoma scripts/hostingstack.py\n")
            for entry in self.state_dir.iterdir():
                if entry.name not in (LOCK_FILE, MARKER_FILE):
                    shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()

    # ---- set-up ----------------------------------------------------------------------------

    def setup(self) -> None:
        """Folders, certificate, configs, the master login and stack.json; idempotent."""
        p = self.paths
        (self.state_dir / MARKER_FILE).write_text("state dir of tricoma scripts/hostingstack.py\n")
        for folder in (p.etc, p.postfix_dir, p.dovecot_dir, p.opendkim_dir, p.nsd_dir, p.run, p.dovecot_run,
                       p.dovecot_state, p.log, p.tls, p.db):  # fmt: skip
            folder.mkdir(parents=True, exist_ok=True)
        self._own(p.mail, "mail", 0o750)
        self._own(p.opendkim_run, "opendkim", 0o750)
        self._own(p.dkim_keys, "opendkim", 0o750)
        for folder in (p.nsd_run, p.nsd_state, p.zones):
            self._own(folder, "nsd", 0o755)
        p.db.chmod(0o755)
        # Postfix: root-owned queue before set-permissions (pitfall 1), data dir owned by postfix
        p.queue.mkdir(parents=True, exist_ok=True)
        os.chown(p.queue, 0, 0)
        p.queue.chmod(0o755)
        self._own(p.postfix_data, "postfix", 0o700)
        ensure_certificate(p.tls / "mail.crt", p.tls / "mail.key")
        (p.tls / "mail.key").chmod(0o640)
        os.chown(p.tls / "mail.key", 0, pwd.getpwnam("postfix").pw_gid)

        db = self.database
        (p.postfix_dir / "main.cf").write_text(postfix_main_cf(p, self.ports, db))
        (p.postfix_dir / "master.cf").write_text(postfix_master_cf(self.ports))
        for name, query in postfix_map_queries(db).items():
            (p.postfix_dir / f"{db.kind}-{name}.cf").write_text(postfix_map_cf(db, query))
        (p.dovecot_dir / "dovecot.conf").write_text(dovecot_conf(p, self.ports, self.instance))
        self._write_private(p.dovecot_dir / "sql.conf.ext", dovecot_sql_conf(p, db, app_passwords=False), "dovecot")
        self._write_private(p.dovecot_dir / "sql-app.conf.ext", dovecot_sql_conf(p, db, app_passwords=True), "dovecot")
        secret_file = p.dovecot_dir / "master.secret"
        if not secret_file.exists():
            self._write_private(secret_file, secrets.token_urlsafe(24), "root")
        self._write_private(
            p.dovecot_dir / "master-users", f"{MASTER_USER}:{{PLAIN}}{secret_file.read_text()}\n", "dovecot"
        )
        (p.opendkim_dir / "opendkim.conf").write_text(opendkim_conf(p, self.ports))
        for table in ("KeyTable", "SigningTable"):
            (p.opendkim_dir / table).touch()
        (p.nsd_dir / "nsd.conf").write_text(nsd_conf(p, self.ports))
        if db.kind == "sqlite" and Path(db.path).exists():
            Path(db.path).chmod(0o644)  # proxymap reads as postfix, auth as dovecot (pitfall 15)
        _run(["postfix", "-c", str(p.postfix_dir), "set-permissions"], log=p.log / "setup.log")
        _run(["postfix", "-c", str(p.postfix_dir), "check"], log=p.log / "setup.log")
        p.stack_json.write_text(json.dumps(self.describe(), indent=2) + "\n")

    def describe(self) -> dict[str, object]:
        """What a client needs to use this stack (written to stack.json)."""
        p = self.paths
        return {
            "host": HOST,
            "mail_host": MAIL_HOST,
            "ports": self.ports,
            "state_dir": str(self.state_dir),
            "database": asdict(self.database) | {"password": ""},
            "mail_root": str(p.mail),
            "cert": str(p.tls / "mail.crt"),
            "dovecot_config": str(p.dovecot_dir / "dovecot.conf"),
            "master_user": MASTER_USER,
            "master_secret_file": str(p.dovecot_dir / "master.secret"),
            "opendkim": {
                "keys_dir": str(p.dkim_keys),
                "key_table": str(p.opendkim_dir / "KeyTable"),
                "signing_table": str(p.opendkim_dir / "SigningTable"),
                "pidfile": str(p.opendkim_run / "opendkim.pid"),
            },
            "nsd": {"config": str(p.nsd_dir / "nsd.conf"), "zones_dir": str(p.zones), "pattern": "hosted"},
            "postfix_config": str(p.postfix_dir),
        }

    @staticmethod
    def _own(folder: Path, user: str, mode: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        folder.chmod(mode)

    @staticmethod
    def _write_private(path: Path, text: str, group_user: str) -> None:
        """A file only root and ``group_user``'s group can read (password hashes, secrets)."""
        path.touch(mode=0o640)
        path.chmod(0o640)
        os.chown(path, 0, pwd.getpwnam(group_user).pw_gid)
        path.write_text(text)

    # ---- daemons ---------------------------------------------------------------------------

    def _pidfile(self, service: str) -> Path:
        p = self.paths
        return {
            "nsd": p.nsd_run / "nsd.pid",
            "opendkim": p.opendkim_run / "opendkim.pid",
            "dovecot": p.dovecot_run / "master.pid",
            "postfix": p.queue / "pid" / "master.pid",
        }[service]

    def _pid(self, service: str) -> int | None:
        """The running master pid of ``service`` in this state dir, or None."""
        pid = _read_pid(self._pidfile(service))
        if pid is None or not _alive(pid):
            return None
        marker = {"nsd": "nsd", "opendkim": "opendkim", "dovecot": "dovecot", "postfix": "master"}[service]
        return pid if marker in _cmdline(pid) else None

    def _start_nsd(self) -> None:
        conf = str(self.paths.nsd_dir / "nsd.conf")
        _run(["nsd-checkconf", conf])
        _run(["nsd", "-c", conf], log=self.paths.log / "start.log")

    def _start_opendkim(self) -> None:
        _run(["opendkim", "-x", str(self.paths.opendkim_dir / "opendkim.conf")], log=self.paths.log / "start.log")

    def _start_dovecot(self) -> None:
        (self.paths.dovecot_run / "anvil-auth-penalty").unlink(missing_ok=True)
        _run(["dovecot", "-c", str(self.paths.dovecot_dir / "dovecot.conf")], log=self.paths.log / "start.log")

    def _start_postfix(self) -> None:
        _run(["postfix", "-c", str(self.paths.postfix_dir), "start"], log=self.paths.log / "start.log")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        pending = dict(self.ports)
        while pending:
            for name, port in list(pending.items()):
                if _listening(port, udp=name == "dns"):
                    del pending[name]
            if not pending:
                return
            if time.monotonic() > deadline:
                logs = "\n".join(f"{log}:\n{_log_tail(self.paths.log / log)}"
                                 for log in ("start.log", "postfix.log", "dovecot.log", "nsd.log"))  # fmt: skip
                raise HostingStackError(f"no answer within {START_TIMEOUT:.0f} s on {pending}\n{logs}")
            time.sleep(0.03)

    def _stop(self) -> list[int]:
        """Each daemon's own stop, all at once, then wait until every process of each tree is gone."""
        p = self.paths
        trees: dict[int, set[int]] = {}
        for service in SERVICES:
            pid = self._pid(service)
            if pid is None:
                continue
            trees[pid] = _descendants(pid)
            if service == "postfix":
                _run(["postfix", "-c", str(p.postfix_dir), "stop"], check=False)
            elif service == "dovecot":
                _run(["doveadm", "-c", str(p.dovecot_dir / "dovecot.conf"), "stop"], check=False)
            elif service == "nsd":
                _run(["nsd-control", "-c", str(p.nsd_dir / "nsd.conf"), "stop"], check=False)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while any(_alive(pid) for tree in trees.values() for pid in tree):
            if time.monotonic() > deadline:
                for pid in (pid for tree in trees.values() for pid in tree if _alive(pid)):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + STOP_TIMEOUT
            time.sleep(0.05)
        return sorted(trees)

    # ---- guards ----------------------------------------------------------------------------

    # one start/stop/destroy at a time per state dir: the same lock file as the mail stack's
    _locked = MailStack._locked

    def _check_state_dir(self) -> None:
        if (
            self.state_dir.is_dir()
            and not (self.state_dir / MARKER_FILE).exists()
            and any(p.name != LOCK_FILE for p in self.state_dir.iterdir())
        ):
            raise HostingStackError(f"{self.state_dir} is not empty and not a hosting stack state dir")

    def _check_ports_free(self) -> None:
        busy = [f"{name} {port}" for name, port in self.ports.items() if _listening(port, udp=name == "dns")]
        if busy:
            raise HostingStackError(f"ports in use: {', '.join(busy)} (another stack with offset {self.port_offset}?)")


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dir", default=argparse.SUPPRESS, help="state dir (env TRICOMA_HOSTINGSTACK_DIR)")
    common.add_argument("--port-offset", type=int, default=argparse.SUPPRESS,
                        help="added to every port (env TRICOMA_HOSTINGSTACK_PORT_OFFSET)")  # fmt: skip
    common.add_argument("--database", default=argparse.SUPPRESS,
                        help="the portal's database URL (env TRICOMA_HOSTINGSTACK_DATABASE; "
                             "default a SQLite file in the state dir)")  # fmt: skip
    common.add_argument("--db-schema", default=argparse.SUPPRESS,
                        help="PostgreSQL schema of the tables (env TRICOMA_HOSTINGSTACK_DB_SCHEMA)")  # fmt: skip
    parser = argparse.ArgumentParser(prog="hostingstack", description=__doc__.split("\n\n")[0], parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start", parents=[common], help="install if needed, configure and start")
    commands.add_parser("stop", parents=[common], help="stop the stack of this state dir")
    commands.add_parser("status", parents=[common], help="show each daemon; exit 3 unless all run")
    return parser


def _stack_from_args(args: argparse.Namespace) -> HostingStack:
    env = os.environ.get
    return HostingStack(
        getattr(args, "dir", None) or env("TRICOMA_HOSTINGSTACK_DIR") or DEFAULT_STATE_DIR,
        getattr(args, "port_offset", None) or int(env("TRICOMA_HOSTINGSTACK_PORT_OFFSET") or 0),
        getattr(args, "database", None) or env("TRICOMA_HOSTINGSTACK_DATABASE"),
        getattr(args, "db_schema", None) or env("TRICOMA_HOSTINGSTACK_DB_SCHEMA") or "",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        stack = _stack_from_args(args)
        if args.command == "start":
            started = time.monotonic()
            if not stack.start():
                print(f"hosting stack already running in {stack.state_dir}")
                return 0
            ports = "  ".join(f"{name} {port}" for name, port in stack.ports.items())
            print(f"hosting stack started in {time.monotonic() - started:.2f} s in {stack.state_dir}\n"
                  f"  on {HOST}: {ports}\n  database: {stack.database.url}")  # fmt: skip
        elif args.command == "stop":
            pids = stack.stop()
            print(f"hosting stack stopped (pids {' '.join(map(str, pids))})" if pids else "hosting stack was not running")
        else:
            statuses = stack.status()
            for s in statuses:
                print(f"{s.service:<9} {'running  pid ' + str(s.pid) if s.running else 'stopped'}")
            return 0 if all(s.running for s in statuses) else EXIT_NOT_RUNNING
    except HostingStackError as exc:
        print(f"hostingstack: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
