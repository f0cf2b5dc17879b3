"""Our own DKIM verification (RFC 6376) with dkimpy, for mail that arrived without the receiving
server's ``Authentication-Results``.

The public keys come from a ``lookup(name, timeout=…)`` function that returns the TXT record of
``name`` (bytes) or ``None``: the real DNS only where the operator configured it, a table of keys
in tests."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import dkim
import dkim.dnsplug

DnsLookup = Callable[..., "bytes | str | None"]
MAX_SIGNATURES = 5  # a message with more is not checked further: each costs a lookup
_quiet = logging.getLogger(__name__)
_quiet.addHandler(logging.NullHandler())
_quiet.propagate = False


@dataclass(frozen=True)
class DkimSignature:
    """One signature of the message: its signing domain ``d=`` and whether it verified."""

    domain: str
    valid: bool


def verify_signatures(raw: bytes, lookup: DnsLookup, timeout: int = 5) -> list[DkimSignature]:
    """Every DKIM signature of ``raw`` (topmost first, at most ``MAX_SIGNATURES``), verified."""

    def txt(name, timeout=timeout):
        record = lookup(name, timeout=timeout)
        return record.encode() if isinstance(record, str) else record

    try:
        checker = dkim.DKIM(raw, logger=_quiet, timeout=timeout)
    except Exception:  # noqa: BLE001 - a message dkimpy cannot read has no signature we can check
        return []
    count = sum(1 for name, _value in checker.headers if name.lower() == b"dkim-signature")
    signatures = []
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            valid = bool(checker.verify(idx=index, dnsfunc=txt))
        except Exception:  # noqa: BLE001 - dkimpy raises on malformed signatures and keys: not valid
            valid = False
        domain = checker.domain.decode("ascii", "replace") if isinstance(checker.domain, bytes) else ""
        checker.domain = None
        signatures.append(DkimSignature(domain.lower(), valid))
    return signatures


def real_dns_lookup(name: bytes, timeout: int = 5) -> bytes | None:
    """The TXT record of ``name`` from the real DNS (dkimpy's resolver, on dnspython)."""
    return dkim.dnsplug.get_txt(name, timeout=timeout)
