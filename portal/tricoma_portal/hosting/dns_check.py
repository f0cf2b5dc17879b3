""""Check DNS": ask a resolver for each record a domain needs and say which is missing or wrong.

The comparison is about what mail needs, not about the exact text: an SPF record may hold more
mechanisms than ours, a DMARC record more tags (a report address), an MX list more hosts; a DKIM
record must carry our key.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.rdatatype
import dns.resolver

from .dns_records import DnsRecord

TIMEOUT = 3.0
MISSING = "missing"
WRONG = "wrong"
ERROR = "error"


@dataclass(frozen=True)
class CheckResult:
    """One expected record: ``ok``, what the resolver answered (``found``, one value per record
    there) and, when not ok, ``reason`` (missing / wrong / error) and ``problem`` naming it."""

    record: DnsRecord
    ok: bool
    found: tuple[str, ...] = ()
    reason: str | None = None
    problem: str | None = None


def check(
    domain_name: str, expected: Iterable[DnsRecord], resolver: tuple[str, int], timeout: float = TIMEOUT
) -> list[CheckResult]:
    """Check each of ``expected`` for ``domain_name`` against the DNS server at ``resolver`` =
    (host, port), asked directly (no recursion of ours, no cache)."""
    client = dns.resolver.Resolver(configure=False)
    client.nameservers = [resolver[0]]
    client.port = resolver[1]
    client.lifetime = timeout
    return [_check_one(client, record, resolver) for record in expected]


def _check_one(client: dns.resolver.Resolver, record: DnsRecord, resolver: tuple[str, int]) -> CheckResult:
    label = f"{record.type} record {record.name}"
    try:
        answer = client.resolve(record.name, record.type, search=False, raise_on_no_answer=False)
        found = tuple(_text(rdata) for rdata in answer.rrset or () if rdata.rdtype == dns.rdatatype.from_text(record.type))
    except dns.resolver.NXDOMAIN:
        found = ()
    except dns.exception.DNSException as exc:
        where = f"{resolver[0]}:{resolver[1]}"
        return CheckResult(record, False, (), ERROR, f"{label}: no answer from the DNS server {where} ({exc}).")
    relevant = _relevant(record, found)
    if not relevant:
        return CheckResult(record, False, found, MISSING, f"{label} is missing (expected: {record.value}).")
    if record.kind == "spf" and len(relevant) > 1:
        return CheckResult(record, False, found, WRONG, f"{label}: there are {len(relevant)} SPF records; "
                                                         "receivers ignore all of them, keep one.")  # fmt: skip
    if any(_matches(record, value) for value in relevant):
        return CheckResult(record, True, found)
    shown = "; ".join(relevant)
    return CheckResult(record, False, found, WRONG, f"{label} is wrong: expected {record.value}, found {shown}.")


def _text(rdata: object) -> str:
    strings = getattr(rdata, "strings", None)
    if strings is not None:  # TXT: the strings of one record form one text
        return b"".join(strings).decode(errors="replace")
    return rdata.to_text()  # type: ignore[attr-defined]


_TXT_FAMILY = {"spf": "v=spf1", "dmarc": "v=dmarc1", "dkim": "v=dkim1"}


def _relevant(record: DnsRecord, found: tuple[str, ...]) -> list[str]:
    """The answers that are about what ``record`` is for (a domain has other TXT records too)."""
    family = _TXT_FAMILY.get(record.kind)
    if family is None:
        return list(found)
    return [value for value in found if value.strip().lower().startswith(family) or
            (record.kind == "dkim" and "p=" in value)]  # fmt: skip


def _matches(record: DnsRecord, found: str) -> bool:
    if record.kind == "spf":
        return set(record.value.lower().split()) <= set(found.lower().split())
    if record.kind in ("dkim", "dmarc"):
        expected, present = _tags(record.value), _tags(found)
        return all(present.get(tag) == value for tag, value in expected.items())
    if record.type == "MX":
        return _host(record.value.split()[-1]) == _host(found.split()[-1])
    if record.type == "SRV":  # priority and weight are the domain owner's choice
        want, have = record.value.split(), found.split()
        return len(have) == 4 and want[2] == have[2] and _host(want[3]) == _host(have[3])
    return _host(record.value) == _host(found)


def _tags(text: str) -> dict[str, str]:
    tags = {}
    for part in text.split(";"):
        if "=" in part:
            tag, value = part.split("=", 1)
            tags[tag.strip().lower()] = "".join(value.split()) if tag.strip().lower() == "p" else value.strip()
    return tags


def _host(name: str) -> str:
    return name.lower().rstrip(".") or "."
