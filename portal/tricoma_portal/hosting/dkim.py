"""DKIM: one RSA key pair per domain, and OpenDKIM's tables that make the milter sign with it.

OpenDKIM reads its KeyTable and SigningTable at start and again on SIGUSR1, so a new domain is
signed for without restarting Postfix (or OpenDKIM). The private key file is written 0600 for the
milter's user; the portal keeps its own (encrypted) copy in ``domains.dkim_private_key``.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import os
import pwd
import re
import signal
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048
OPENDKIM_USER = "opendkim"
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class DkimError(Exception):
    """A DKIM key could not be installed or the milter not told; the message says why."""


def new_selector(today: dt.date | None = None) -> str:
    """A selector naming the key's month (``tm202612``), so a later key can sit beside it."""
    today = today or dt.date.today()
    return f"tm{today:%Y%m}"


def generate_key(domain: str) -> tuple[str, str, str]:
    """A new key pair for ``domain``: ``(selector, private_pem, public_b64)``.

    ``public_b64`` is the ``p=`` value of the DKIM TXT record (DER SubjectPublicKeyInfo).
    """
    check_domain(domain)
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return new_selector(), private_pem, base64.b64encode(public_der).decode()


def txt_value(public_b64: str) -> str:
    """The DKIM TXT record's text for a public key."""
    return f"v=DKIM1; k=rsa; p={public_b64}"


def check_domain(domain: str) -> None:
    if not _DOMAIN.match(domain):
        raise DkimError(f"not a domain name: {domain!r}")


class OpenDkimTables:
    """The key files, KeyTable and SigningTable of one OpenDKIM, and its reload.

    One line per domain in each table; writing replaces a domain's earlier line, so installing
    a new key for a domain rotates it.
    """

    def __init__(self, keys_dir: Path, key_table: Path, signing_table: Path, pidfile: Path) -> None:
        self.keys_dir = keys_dir
        self.key_table = key_table
        self.signing_table = signing_table
        self.pidfile = pidfile

    def install(self, domain: str, selector: str, private_pem: str) -> None:
        """Write the key and both tables' lines for ``domain``, then make OpenDKIM re-read them."""
        check_domain(domain)
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", selector):
            raise DkimError(f"not a DKIM selector: {selector!r}")
        key_file = self.keys_dir / f"{domain}.{selector}.private"
        with self._locked():
            _write_for_milter(key_file, private_pem)
            self._set_lines(domain, f"{selector}._domainkey.{domain} {domain}:{selector}:{key_file}",
                            f"*@{domain} {selector}._domainkey.{domain}")  # fmt: skip
        self.reload()

    def remove(self, domain: str) -> None:
        """Stop signing for ``domain`` and delete its key files."""
        with self._locked():
            self._set_lines(domain, None, None)
            for key_file in self.keys_dir.glob(f"{domain}.*.private"):
                key_file.unlink()
        self.reload()

    def domains(self) -> list[str]:
        """The domains OpenDKIM signs for, from the SigningTable."""
        return sorted(_key_of(line) for line in _lines(self.signing_table))

    def reload(self) -> None:
        """SIGUSR1: OpenDKIM re-reads its config and both tables; Postfix is not involved."""
        try:
            pid = int(self.pidfile.read_text().split()[0])
            os.kill(pid, signal.SIGUSR1)
        except (OSError, ValueError, IndexError) as exc:
            raise DkimError(f"cannot signal OpenDKIM (pid file {self.pidfile}): {exc}") from exc

    def _set_lines(self, domain: str, key_line: str | None, signing_line: str | None) -> None:
        for table, line in ((self.key_table, key_line), (self.signing_table, signing_line)):
            kept = [old for old in _lines(table) if _key_of(old) != domain]
            if line is not None:
                kept.append(line)
            _replace(table, "".join(f"{entry}\n" for entry in kept))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.keys_dir.parent / ".tables.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


def _key_of(line: str) -> str:
    """The domain a KeyTable or SigningTable line is about."""
    first = line.split()[0]
    return first.split("._domainkey.", 1)[1] if "._domainkey." in first else first.removeprefix("*@")


def _lines(table: Path) -> list[str]:
    try:
        return [line for line in table.read_text().splitlines() if line.strip() and not line.startswith("#")]
    except FileNotFoundError:
        return []


def _replace(path: Path, text: str) -> None:
    """Write atomically: OpenDKIM may re-read the table at any moment."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    tmp.replace(path)


def _write_for_milter(key_file: Path, private_pem: str) -> None:
    tmp = key_file.with_name(f".{key_file.name}.tmp")
    tmp.touch(mode=0o600)
    tmp.chmod(0o600)
    tmp.write_text(private_pem)
    with contextlib.suppress(KeyError, PermissionError):
        entry = pwd.getpwnam(OPENDKIM_USER)
        os.chown(tmp, entry.pw_uid, entry.pw_gid)
    tmp.replace(key_file)
