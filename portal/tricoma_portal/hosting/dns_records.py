"""The DNS records a hosted domain needs, for the domain page, "Check DNS" and the local zone.

Mail: MX to the stack's mail host, SPF allowing it, the domain's DKIM key, a DMARC policy.
Client set-up: autoconfig (Thunderbird) and autodiscover (Outlook) host names, and the RFC 6186
SRV records for IMAP and submission (``_imaps._tcp`` says "not offered": the stack has STARTTLS
on the IMAP port only).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .dkim import txt_value

TTL = 300
MX_PREFERENCE = 10
SPF_VALUE = "v=spf1 mx -all"
DMARC_VALUE = "v=DMARC1; p=quarantine; adkim=r; aspf=r"
TXT_CHUNK = 255  # one TXT string holds at most 255 bytes; longer values are split


@dataclass(frozen=True)
class DnsRecord:
    """One record as the domain page shows it: ``name`` without the final dot, ``value`` in zone
    file syntax (without TXT quotes), ``kind`` a stable key, ``purpose`` an English sentence."""

    type: str
    name: str
    value: str
    purpose: str
    kind: str


def records_for(domain_name: str, selector: str, public_b64: str, settings: Mapping[str, object]) -> list[DnsRecord]:
    """Every record ``domain_name`` needs to receive, send and be set up with this stack.

    ``settings`` is ``HostingStack.settings()``: ``mx_host`` (the mail server's DNS name, also the
    SRV target), ``web_host`` (autoconfig/autodiscover; default ``mx_host``) and the ports.
    """
    domain = domain_name.lower().rstrip(".")
    mail_host = _fqdn(str(settings["mx_host"]))
    web_host = _fqdn(str(settings.get("web_host") or settings["mx_host"]))
    return [
        DnsRecord("MX", domain, f"{MX_PREFERENCE} {mail_host}", "Incoming mail goes to this server.", "mx"),
        DnsRecord("TXT", domain, SPF_VALUE, "SPF: this server may send mail for the domain.", "spf"),
        DnsRecord("TXT", f"{selector}._domainkey.{domain}", txt_value(public_b64),
                  "DKIM: the public key receivers check signatures with.", "dkim"),
        DnsRecord("TXT", f"_dmarc.{domain}", DMARC_VALUE, "DMARC: what receivers do with unsigned mail.", "dmarc"),
        DnsRecord("CNAME", f"autoconfig.{domain}", web_host, "Thunderbird finds the settings here.", "autoconfig"),
        DnsRecord("CNAME", f"autodiscover.{domain}", web_host, "Outlook finds the settings here.", "autodiscover"),
        DnsRecord("SRV", f"_imap._tcp.{domain}", f"0 1 {settings['imap_port']} {mail_host}",
                  "Mail programs find the IMAP server (STARTTLS).", "srv_imap"),
        DnsRecord("SRV", f"_imaps._tcp.{domain}", "0 0 0 .", "IMAP over implicit TLS is not offered.", "srv_imaps"),
        DnsRecord("SRV", f"_submission._tcp.{domain}",
                  f"0 1 {settings['smtp_port']} {mail_host}",
                  "Mail programs find the sending server (STARTTLS).", "srv_submission"),
        DnsRecord("SRV", f"_autodiscover._tcp.{domain}", f"0 1 443 {web_host}",
                  "Outlook finds the autodiscover service.", "srv_autodiscover"),
    ]  # fmt: skip


def zone_text(domain_name: str, records: Iterable[DnsRecord], serial: int, nameserver_ip: str = "127.0.0.1") -> str:
    """A zone file for ``domain_name`` holding ``records`` (for the stack's own NSD)."""
    domain = domain_name.lower().rstrip(".")
    lines = [
        f"$ORIGIN {domain}.",
        f"$TTL {TTL}",
        f"@ IN SOA ns1.{domain}. hostmaster.{domain}. ( {serial} 3600 900 604800 {TTL} )",
        "@ IN NS ns1",
        f"ns1 IN A {nameserver_ip}",
    ]
    for record in records:
        value = _quoted(record.value) if record.type == "TXT" else record.value
        lines.append(f"{record.name}. IN {record.type} {value}")
    return "\n".join(lines) + "\n"


def _quoted(text: str) -> str:
    """TXT text as one or more quoted strings of at most 255 bytes (a DKIM key needs several)."""
    chunks = [text[i:i + TXT_CHUNK] for i in range(0, len(text), TXT_CHUNK)] or [""]
    return "( " + " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks) + " )"


def _fqdn(host: str) -> str:
    return host if host.endswith(".") else f"{host}."
