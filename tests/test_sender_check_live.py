"""The sender check on the local mail stack: crafted mails delivered to a real Dovecot over LMTP,
synced, and opened in the reading view. Each mail raises exactly its warning (DKIM signed with
dkimpy and verified against a key made for the test, the receiving server's
Authentication-Results, display-name spoofing, a foreign Reply-To, a look-alike domain, a
changed IBAN), and well-behaved mail raises none. Also the ``known_senders`` hook's own test."""
from __future__ import annotations

import base64
import re
import smtplib
from email.message import EmailMessage

import dkim
import pytest
import sample_plugin
from app_fixtures import _fresh_account, login
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask_babel import force_locale
from sqlalchemy import select
from tricoma_mail_invoices import INVOICES, SUPPLIERS

from hostapp.extensions import db
from tricoma_mail_plugin import KnownSender, MailboxInfo, SenderWarning
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.mail.sender_warnings import known_senders
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox
from tricoma_mail_plugin.sender_check import CODES

SUPPLIER_DOMAIN = "mueller-buero.test"
SELECTOR = b"mail2026"
RECORDED_IBAN = "DE89 3704 0044 0532 0130 00"
OTHER_IBAN = "DE02 1203 0000 0000 2020 51"


class KeyTable:
    """DKIM keys by DNS name, in place of the DNS (``TRICOMA_MAIL_DKIM_LOOKUP``)."""

    def __init__(self) -> None:
        self.records: dict[bytes, bytes] = {}
        self.asked: list[bytes] = []

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        self.asked.append(name)
        return self.records.get(name.rstrip(b"."))


def new_key(table: KeyTable, domain: str) -> bytes:
    """A fresh RSA key for ``domain``: its public half published in ``table``, the private returned."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    table.records[SELECTOR + b"._domainkey." + domain.encode()] = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def message(subject: str, sender: str, body: str = "Guten Tag,\nanbei unsere Rechnung.\n",
            **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "einkauf@example.test"
    mail["Subject"] = subject
    mail["Date"] = "Fri, 04 Dec 2026 09:00:00 +0100"
    mail["Message-ID"] = f"<{subject.replace(' ', '-')}@sender.test>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def signed(mail: EmailMessage, private_key: bytes) -> bytes:
    raw = mail.as_bytes()
    signature = dkim.sign(raw, SELECTOR, SUPPLIER_DOMAIN.encode(), private_key,
                          include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return signature + raw


def crafted_mails(private_key: bytes) -> dict[str, tuple[bytes, list[str]]]:
    """Subject → (raw message, the warnings it must raise)."""
    supplier = f"Müller Bürobedarf GmbH <rechnung@{SUPPLIER_DOMAIN}>"
    tampered = signed(message("dkim broken", supplier), private_key).replace(b"anbei unsere", b"anbei Ihre")
    return {
        "dkim good": (signed(message("dkim good", supplier), private_key), []),
        "dkim broken": (tampered, ["dkim_fail"]),
        # The receiving server's verdict counts, not our own check: this mail's own signature is
        # broken too, yet the trusted header says DMARC passed.
        "authres pass": (b"Authentication-Results: mx.stack.test; dkim=pass header.d=" + SUPPLIER_DOMAIN.encode()
                         + b"; dmarc=pass header.from=" + SUPPLIER_DOMAIN.encode() + b"\r\n"
                         + tampered.replace(b"dkim broken", b"authres pass"), []),
        "authres fail": (b"Authentication-Results: mx.stack.test (Postfix); spf=fail (not permitted) smtp.mailfrom="
                         b"bounce@" + SUPPLIER_DOMAIN.encode() + b"; dkim=none; dmarc=fail (p=reject) "
                         b"header.from=" + SUPPLIER_DOMAIN.encode() + b"\r\n"
                         + message("authres fail", supplier).as_bytes(), ["dmarc_fail"]),
        "display name": (message("display name", "Müller Bürobedarf GmbH <mueller.buero@gmail.com>").as_bytes(),
                         ["display_name"]),
        "reply to": (message("reply to", supplier, Reply_To="Buchhaltung <zahlung@konto-service.test>").as_bytes(),
                     ["reply_to"]),
        "list reply to": (message("list reply to", supplier, Reply_To="kunden@lists.test",
                                  List_Id="Kundeninfo <kunden.lists.test>").as_bytes(), []),
        "look alike": (message("look alike", "Buchhaltung <rechnung@mueIler-buero.test>").as_bytes(), ["lookalike"]),
        "new iban": (message("new iban", supplier, body=f"Bitte zahlen Sie ab sofort auf {OTHER_IBAN}.\n").as_bytes(),
                     ["bank_account"]),
        "same iban": (message("same iban", supplier, body=f"Unser Konto: {RECORDED_IBAN}\n").as_bytes(), []),
    }


def deliver(profile, recipient: str, raw: bytes) -> None:
    with smtplib.LMTP(profile.host, profile.lmtp_port, timeout=30) as lmtp:
        lmtp.sendmail("bounce@sender.test", [recipient], raw)


@pytest.fixture
def known_supplier(app):
    with app.app_context():
        db.session.execute(SUPPLIERS.insert().values(name="Müller Bürobedarf GmbH", email=f"rechnung@{SUPPLIER_DOMAIN}",
                                                     iban=RECORDED_IBAN))
        db.session.add(INVOICES.tables.Customer(name="Kunde AG", email="info@kunde.test", address=""))
        db.session.commit()


def test_crafted_mails_raise_exactly_their_warning(app, mailstack, make_mailbox, known_supplier):
    keys = KeyTable()
    private_key = new_key(keys, SUPPLIER_DOMAIN)
    app.config["TRICOMA_MAIL_DKIM_LOOKUP"] = keys
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    mails = crafted_mails(private_key)
    for raw, _expected in mails.values():
        deliver(mailstack.profile(1), email, raw)
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend, ["INBOX"])
        rows = {row.subject: row.id for row in db.session.scalars(
            select(CachedMessage).join(CachedFolder).where(CachedFolder.mailbox_id == mailbox_id))}
    assert set(rows) == set(mails)
    client = app.test_client()
    login(client, "owner")
    shown = {}
    for subject, message_pk in rows.items():
        page = client.get(f"/mail/m/{mailbox_id}/messages/{message_pk}").get_data(as_text=True)
        shown[subject] = re.findall(r'data-warning="([a-z_]+)"', page)
        if shown[subject]:
            assert "Be careful with this message" in page
    assert shown == {subject: expected for subject, (_raw, expected) in mails.items()}
    assert SELECTOR + b"._domainkey." + SUPPLIER_DOMAIN.encode() + b"." in keys.asked  # our own check ran

    # Each warning says why, in English and in German.
    page = client.get(f"/mail/m/{mailbox_id}/messages/{rows['new iban']}").get_data(as_text=True)
    assert OTHER_IBAN in page and RECORDED_IBAN in page and "Müller Bürobedarf GmbH" in page
    details = (("domain", "x.test"), ("authenticated", "y.test"), ("name", "N"), ("address", "a@x.test"),
               ("known", "k.test"), ("reply_to", "r@x.test"), ("found", "F"), ("recorded", "R"))
    with app.test_request_context():
        english = {code: SenderWarning(code, details).message for code in CODES}
        with force_locale("de"):
            german = {code: SenderWarning(code, details).message for code in CODES}
    assert all(english[code] != german[code] for code in CODES)
    assert "a@x.test" in german["display_name"] and "a@x.test" in english["display_name"]
    assert "DKIM-Prüfung fehlgeschlagen" in german["dkim_fail"] and "telefonisch" in german["bank_account"]


def test_without_a_configured_lookup_no_key_is_looked_up(app, mailstack, make_mailbox, known_supplier):
    """Real DNS lookups only when configured: by default a signed mail is not verified by us."""
    keys = KeyTable()
    private_key = new_key(keys, SUPPLIER_DOMAIN)
    email, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, email, password)
    raw, _ = crafted_mails(private_key)["dkim broken"]
    deliver(mailstack.profile(1), email, raw)
    with app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        with service.backend_for(mailbox) as backend:
            sync.sync_mailbox(mailbox, backend, ["INBOX"])
        message_pk = db.session.scalar(select(CachedMessage.id).join(CachedFolder)
                                       .where(CachedFolder.mailbox_id == mailbox_id))
    client = app.test_client()
    login(client, "owner")
    page = client.get(f"/mail/m/{mailbox_id}/messages/{message_pk}").get_data(as_text=True)
    assert "data-warning" not in page and keys.asked == []


def test_hook_known_senders(app):
    """Every enabled plugin's contacts are merged, each plugin asked with the mailbox's value;
    the invoices app answers with its customers and suppliers."""
    with app.app_context():
        mailbox = Mailbox(title="Einkauf", email="einkauf@example.test")
        db.session.add(mailbox)
        db.session.add(INVOICES.tables.Customer(name="Kunde AG", email="info@kunde.test", address=""))
        db.session.execute(SUPPLIERS.insert().values(name="Lieferant GmbH", email="rechnung@lieferant.test",
                                                     iban="DE02 1203 0000 0000 2020 51"))
        db.session.commit()
        sample_plugin.calls.clear()
        known = known_senders(mailbox)
        info = MailboxInfo.of(mailbox)
    assert ("known_senders", {"mailbox": info}) in sample_plugin.calls
    assert KnownSender("Kunde AG", ("info@kunde.test",), (), "customer") in known
    assert KnownSender("Lieferant GmbH", ("rechnung@lieferant.test",), ("DE02 1203 0000 0000 2020 51",),
                       "supplier") in known
    assert any(sender.name == "Sample Supplies Ltd" for sender in known)
