"""The OAuth2 mail server of the tests: a Dovecot whose only passdb is ``oauth2`` and an SMTP
submission relay (``smtp_relay.py --oauth``) that hands XOAUTH2/OAUTHBEARER to that Dovecot.

Beside the two password profiles of ``mailstack.py`` (left as they are), in a state directory of
its own. Every login's token is checked by RFC 7662 introspection against an authorization
server the caller runs (the tests' ``tests/oauth_server.py``), with Dovecot's auth cache off and
no per-IP auth penalty, so that expiry and revocation take effect at once (see
shared/notes/oauth-stack.md). Users need no table: any address whose token the authorization
server vouches for may log in, and LMTP accepts mail for any address.

Used by the tests as a library (``OAuthMailStack(...).start(introspection_url, ...)``);
only the standard library is used.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mailstack import (
    HOST,
    RELAY_SCRIPT,
    MailStackError,
    _alive,
    _cmdline,
    _dovecot_binary,
    _greeting,
    _log_tail,
    _mail_ids,
    _read_pid,
    _signal,
    _spawn_detached,
)

START_TIMEOUT = 20.0


@dataclass(frozen=True)
class OAuthPorts:
    imap: int
    lmtp: int
    smtp: int

    @classmethod
    def with_offset(cls, offset: int) -> OAuthPorts:
        # 16xxx: the hosting stack of the same test session has 12xxx
        return cls(imap=16143 + offset, lmtp=16124 + offset, smtp=16587 + offset)


def dovecot_config(root: Path, ports: OAuthPorts, instance: str) -> str:
    uid, gid = _mail_ids()
    return f"""# Written by scripts/oauth_mailstack.py; rewritten on start.
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap lmtp
listen = {HOST}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = xoauth2 oauthbearer
auth_verbose = yes
auth_failure_delay = 0
# 0: every login asks the authorization server, so a revoked or expired token fails at once.
auth_cache_size = 0
first_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{root}/mail/%d/%n/Maildir
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \\Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \\Trash
    auto = subscribe
  }}
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf.ext
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%d/%n allow_all_users=yes
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {ports.imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {HOST}
    port = {ports.lmtp}
  }}
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
# Without this Dovecot delays an address's logins by 2, 4, 8, 15 s after failures: a 5-second
# token would expire while it waits.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def oauth2_config(introspection_url: str, client_id: str, client_secret: str, scope: str) -> str:
    return f"""introspection_mode = post
introspection_url = {introspection_url}
client_id = {client_id}
client_secret = {client_secret}
username_attribute = email
active_attribute = active
active_value = true
scope = {scope}
force_introspection = yes
timeout_msecs = 5000
"""


class OAuthMailStack:
    """One state directory's OAuth2 Dovecot and relay."""

    def __init__(self, state_dir: str | os.PathLike[str], port_offset: int = 0) -> None:
        self.root = Path(state_dir).resolve()
        self.ports = OAuthPorts.with_offset(port_offset)
        self.instance = f"tricoma-oauth-{port_offset}"
        self._relay_pid: int | None = None

    @property
    def dovecot_log(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def relay_log(self) -> Path:
        return self.root / "smtp.log"

    def start(self, introspection_url: str, client_id: str, client_secret: str, scope: str = "mail") -> None:
        """Write the config (asking ``introspection_url`` as ``client_id``), start both and wait."""
        binary = _dovecot_binary()
        if binary is None:
            raise MailStackError("dovecot is not installed (scripts/bootstrap installs it)")
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        for sub in ("run", "state", "mail"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        uid, gid = _mail_ids()
        os.chown(self.root / "mail", uid, gid)
        (self.root / "dovecot.conf").write_text(dovecot_config(self.root, self.ports, self.instance))
        (self.root / "oauth2.conf.ext").write_text(oauth2_config(introspection_url, client_id, client_secret, scope))
        # dovecot forks its master and exits; the master writes run/master.pid
        launcher = _spawn_detached([binary, "-c", str(self.root / "dovecot.conf")], self.root / "dovecot.out")
        if launcher.wait(timeout=30) != 0:
            raise MailStackError(f"oauth dovecot failed to start:\n{_log_tail(self.root / 'dovecot.out')}"
                                 f"\n{_log_tail(self.dovecot_log)}")
        relay = _spawn_detached([
            sys.executable, str(RELAY_SCRIPT), "--port", str(self.ports.smtp),
            "--auth-socket", str(self.root / "run" / "auth-client"), "--lmtp", str(self.ports.lmtp),
            "--hostname", "smtp.oauth.test", "--oauth"], self.relay_log)
        self._relay_pid = relay.pid
        (self.root / "relay.pid").write_text(str(relay.pid))
        deadline = time.monotonic() + START_TIMEOUT
        pending = {"imap": self.ports.imap, "lmtp": self.ports.lmtp, "smtp": self.ports.smtp}
        while pending:
            for name, port in list(pending.items()):
                if _greeting(port, use_tls=False).startswith((b"* OK", b"220")):
                    del pending[name]
            if pending and time.monotonic() > deadline:
                self.stop()
                raise MailStackError(f"oauth stack: {', '.join(pending)} not ready:\n{_log_tail(self.dovecot_log)}"
                                     f"\n{_log_tail(self.relay_log)}")
            if pending:
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop what a start in this state directory left running (by its pid files), then
        remove the pid files. A pid counts only while its process is still this stack's: a pid
        file outlives its process, and with pid numbers reused a stale one named an unrelated
        process (it stopped a whole part of the test suite running beside it)."""
        relay_pid = self._relay_pid or _read_pid(self.root / "relay.pid")
        master = _read_pid(self.root / "run" / "master.pid")
        ours = [pid for pid, marker in ((relay_pid, f"{RELAY_SCRIPT.name} --port {self.ports.smtp} "),
                                        (master, str(self.root / "dovecot.conf")))
                if pid and _alive(pid) and marker in _cmdline(pid) + " "]
        for pid in ours:
            _signal(pid, signal.SIGTERM)
        for pid in ours:
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        for pidfile in (self.root / "relay.pid", self.root / "run" / "master.pid"):
            pidfile.unlink(missing_ok=True)
        self._relay_pid = None
