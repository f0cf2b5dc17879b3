"""``HostingStack``: the portal's client of the running hosting stack (scripts/hostingstack.py).

Postfix and Dovecot read the portal's tables live, so making a mailbox live is one UPDATE; this
client then proves it with a real IMAP login, and it removes a mailbox's mail on purge. It also
hands DKIM keys to OpenDKIM and zones to the stack's NSD. Everything about the stack (ports,
paths) comes from the ``stack.json`` it writes into its state dir.
"""
from __future__ import annotations

import contextlib
import imaplib
import json
import os
import pwd
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
from sqlalchemy import Engine, create_engine, select, update

from ..models import AppPassword, Mailbox, utcnow
from .dkim import OpenDkimTables
from .dns_records import DnsRecord, zone_text

ACTIVATION_TIMEOUT = 10.0  # the target: IMAP login works within 10 s of "create"
RETRY_PAUSE = 0.05
IMAP_TIMEOUT = 5.0
ZONE_LOAD_TIMEOUT = 5.0
ZONE_SETTLED_ANSWERS = 5
MAIL_USER = "mail"  # Dovecot's mail_uid in the stack

_mailboxes = Mailbox.__table__
_app_passwords = AppPassword.__table__


class ProvisioningError(Exception):
    """A mailbox could not be made live or removed; the message is the reason shown to people."""


class HostingStack:
    """The running stack of one state dir, bound to the portal's database.

    ``engine`` must reach the same tables Postfix and Dovecot read (for PostgreSQL with a schema,
    give ``db_schema``: the engine then maps the models' tables into it).
    """

    def __init__(self, state_dir: str | os.PathLike[str], engine: Engine,
                 resolver: tuple[str, int] | None = None, db_schema: str | None = None) -> None:  # fmt: skip
        self.state_dir = Path(state_dir)
        try:
            self.info: dict[str, Any] = json.loads((self.state_dir / "stack.json").read_text())
        except (OSError, ValueError) as exc:
            raise ProvisioningError(f"no hosting stack in {self.state_dir} (start scripts/hostingstack): {exc}") from exc
        self.engine = engine.execution_options(schema_translate_map={None: db_schema}) if db_schema else engine
        self.host: str = self.info["host"]
        self.ports: dict[str, int] = self.info["ports"]
        self.resolver = resolver or (self.host, self.ports["dns"])
        opendkim = self.info["opendkim"]
        self.dkim_tables = OpenDkimTables(Path(opendkim["keys_dir"]), Path(opendkim["key_table"]),
                                          Path(opendkim["signing_table"]), Path(opendkim["pidfile"]))  # fmt: skip

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HostingStack:
        """From the portal's config: ``TRICOMA_PORTAL_HOSTING_STATE_DIR``,
        ``TRICOMA_PORTAL_DATABASE_URL``, optional ``TRICOMA_PORTAL_DNS_RESOLVER`` ("host:port")
        and ``TRICOMA_PORTAL_DB_SCHEMA``."""
        resolver = None
        if config.get("TRICOMA_PORTAL_DNS_RESOLVER"):
            host, _, port = str(config["TRICOMA_PORTAL_DNS_RESOLVER"]).rpartition(":")
            resolver = (host, int(port))
        engine = create_engine(config["TRICOMA_PORTAL_DATABASE_URL"], pool_pre_ping=True)
        return cls(config["TRICOMA_PORTAL_HOSTING_STATE_DIR"], engine, resolver, config.get("TRICOMA_PORTAL_DB_SCHEMA"))

    # ---- what the pages and the API show ---------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """How mail programs reach the stack, and the names DNS records point to."""
        return {
            "imap_host": self.host,
            "imap_port": self.ports["imap"],
            "imap_security": "starttls",
            "smtp_host": self.host,
            "smtp_port": self.ports["submission"],
            "smtp_security": "starttls",
            "sieve_port": self.ports["sieve"],
            "inbound_smtp_port": self.ports["smtp"],
            "mx_host": self.info["mail_host"],
            "web_host": self.info["mail_host"],
            "dns_host": self.resolver[0],
            "dns_port": self.resolver[1],
        }

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context trusting the stack's self-signed certificate."""
        return ssl.create_default_context(cafile=self.info["cert"])

    # ---- mailboxes -------------------------------------------------------------------------

    def activate_mailbox(self, mailbox_id: int, password: str | None = None,
                         timeout: float = ACTIVATION_TIMEOUT) -> float:  # fmt: skip
        """Make the mailbox live and return the seconds until an IMAP login worked.

        Sets ``active = 1`` (Postfix and Dovecot see it at their next lookup), makes its home
        folder, then logs in over IMAP: with ``password`` when given (proves the stored hash too),
        else as the stack's master user. On failure the row gets ``state = 'failed'``, the reason
        and ``active = 0``, and ProvisioningError says why.
        """
        started = time.monotonic()
        login = self._set_active(mailbox_id, True)
        self._make_home(login)
        error = "no login attempt"
        while True:
            try:
                self.imap_login(login, password)
            except (OSError, imaplib.IMAP4.error) as exc:
                error = str(exc)
            else:
                elapsed = time.monotonic() - started
                self._set_state(mailbox_id, state="active", activated_at=utcnow(), failure_reason=None)
                return elapsed
            if time.monotonic() - started > timeout:
                reason = f"IMAP login for {login} did not work within {timeout:.0f} s: {error}"
                self._set_state(mailbox_id, state="failed", failure_reason=reason, active=0)
                raise ProvisioningError(reason)
            time.sleep(RETRY_PAUSE)

    def purge_mailbox(self, mailbox_id: int) -> None:
        """Take the mailbox off the servers and delete its mail: logins and delivery fail after
        this returns. The rows stay for the portal to delete."""
        login = self._set_active(mailbox_id, False)
        with self.engine.begin() as conn:
            conn.execute(update(_app_passwords).where(_app_passwords.c.mailbox_id == mailbox_id).values(active=0))
        # open IMAP sessions keep their process; end them before the folder goes
        subprocess.run(["doveadm", "-c", self.info["dovecot_config"], "kick", login],
                       capture_output=True, check=False, timeout=30)  # fmt: skip
        home = self.home(login)
        if home.exists():
            shutil.rmtree(home)
        with contextlib.suppress(OSError):
            home.parent.rmdir()  # the domain's folder, when this was its last mailbox

    def home(self, login: str) -> Path:
        """The mailbox's home folder (its Maildir is inside), as Dovecot's user_query names it."""
        local_part, domain = login.rsplit("@", 1)
        return Path(self.info["mail_root"]) / domain / local_part

    def imap_login(self, login: str, password: str | None = None) -> None:
        """One IMAP LOGIN over STARTTLS; raises imaplib.IMAP4.error or OSError when it fails.
        Without ``password`` it logs in as the stack's master user on behalf of ``login``."""
        if password is None:
            secret = Path(self.info["master_secret_file"]).read_text().strip()
            login, password = f"{login}*{self.info['master_user']}", secret
        with imaplib.IMAP4(self.host, self.ports["imap"], timeout=IMAP_TIMEOUT) as client:
            client.starttls(self.ssl_context())
            client.login(login, password)
            client.logout()

    def _set_active(self, mailbox_id: int, active: bool) -> str:
        """Flip ``active`` and return the mailbox's login address."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(_mailboxes.c.local_part, _mailboxes.c.domain).where(_mailboxes.c.id == mailbox_id)
            ).one_or_none()
            if row is None:
                raise ProvisioningError(f"there is no mailbox {mailbox_id}")
            conn.execute(update(_mailboxes).where(_mailboxes.c.id == mailbox_id).values(active=int(active)))
        return f"{row.local_part}@{row.domain}"

    def _set_state(self, mailbox_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(_mailboxes).where(_mailboxes.c.id == mailbox_id).values(**values))

    def _make_home(self, login: str) -> None:
        home = self.home(login)
        home.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(KeyError, PermissionError):
            entry = pwd.getpwnam(MAIL_USER)
            for folder in (home.parent, home):
                os.chown(folder, entry.pw_uid, entry.pw_gid)

    # ---- DKIM and DNS ----------------------------------------------------------------------

    def install_dkim_key(self, domain_name: str, selector: str, private_pem: str) -> None:
        """OpenDKIM signs mail from ``domain_name`` with this key from now on (no restart)."""
        self.dkim_tables.install(domain_name, selector, private_pem)

    def remove_dkim_key(self, domain_name: str) -> None:
        self.dkim_tables.remove(domain_name)

    def publish_zone(self, domain_name: str, records: Iterable[DnsRecord]) -> None:
        """Serve ``records`` as the zone of ``domain_name`` from the stack's NSD (added or
        reloaded at once; the demo and the tests use it, a customer's DNS may be elsewhere)."""
        zones_dir = Path(self.info["nsd"]["zones_dir"])
        zone_file = zones_dir / f"{domain_name}.zone"
        known = zone_file.exists()
        serial = max(int(time.time()), self._served_serial(domain_name) + 1)
        tmp = zone_file.with_name(f".{zone_file.name}.tmp")
        tmp.write_text(zone_text(domain_name, records, serial=serial))
        tmp.chmod(0o644)
        self._nsd("checkzone", domain_name, str(tmp))
        tmp.replace(zone_file)
        if known:
            self._nsd_control("reload", domain_name)
        else:
            self._nsd_control("addzone", domain_name, self.info["nsd"]["pattern"])
        # nsd-control returns before the new server processes have the zone, and the old ones
        # answer a little longer: wait until several answers in a row carry the new serial
        deadline = time.monotonic() + ZONE_LOAD_TIMEOUT
        in_a_row = 0
        while in_a_row < ZONE_SETTLED_ANSWERS:
            in_a_row = in_a_row + 1 if self._served_serial(domain_name) == serial else 0
            if time.monotonic() > deadline:
                raise ProvisioningError(f"NSD did not serve zone {domain_name} serial {serial} within {ZONE_LOAD_TIMEOUT:.0f} s")
            time.sleep(0.01)

    def _served_serial(self, domain_name: str) -> int:
        """The SOA serial the stack's NSD answers for ``domain_name`` (0: not served)."""
        query = dns.message.make_query(domain_name, "SOA")
        try:
            answer = dns.query.udp(query, self.host, port=self.ports["dns"], timeout=1.0)
        except (dns.exception.DNSException, OSError):
            return 0
        return next((rdata.serial for rrset in answer.answer for rdata in rrset if rrset.rdtype == dns.rdatatype.SOA), 0)

    def withdraw_zone(self, domain_name: str) -> None:
        self._nsd_control("delzone", domain_name)
        (Path(self.info["nsd"]["zones_dir"]) / f"{domain_name}.zone").unlink(missing_ok=True)

    def _nsd_control(self, *args: str) -> None:
        self._nsd("control", "-c", self.info["nsd"]["config"], *args)

    @staticmethod
    def _nsd(tool: str, *args: str) -> None:
        result = subprocess.run([f"nsd-{tool}", *args], capture_output=True, text=True, check=False, timeout=30)
        if result.returncode != 0 or "error" in result.stdout.lower():
            raise ProvisioningError(f"nsd-{tool} {' '.join(args)}: {(result.stdout + result.stderr).strip()}")
