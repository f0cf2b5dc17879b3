"""Mailboxes on the real hosting stack: live within seconds, mail to each address, unknown
addresses refused, app passwords, purge. Postfix and Dovecot read the portal's tables live."""
from __future__ import annotations

import imaplib
import smtplib
import socket
import subprocess
import time
from pathlib import Path

import pytest
from hostingstack_fixture import imap_session, inbox_messages, message, submission
from sqlalchemy import select, update
from tricoma_portal.hosting.passwords import hash_password, new_app_password
from tricoma_portal.hosting.provisioning import ProvisioningError
from tricoma_portal.models import AppPassword, Domain, Mailbox

LIVE_WITHIN = 10.0


def _master_pids(stack) -> dict[str, int | None]:
    return {s.service: s.pid for s in stack.daemons.status()}


def _inbound(stack) -> smtplib.SMTP:
    """A session on the stack's MX port, as another mail server would open it."""
    client = smtplib.SMTP(stack.host, stack.ports["smtp"], timeout=10)
    client.ehlo("sender.example")
    return client


def test_created_mailbox_works_for_imap_and_submission_within_10_s_and_gets_mail_for_both_addresses(
    hostingstack, hosted_domain, hosted_mailbox
):
    pids_before = _master_pids(hostingstack)
    domain = hosted_domain()
    created = time.monotonic()
    box = hosted_mailbox(domain, "anna", addresses=(f"vertrieb@{domain}",))
    login_seconds = hostingstack.client.activate_mailbox(box.id, password=box.password)
    with imap_session(hostingstack, box.login, box.password) as imap:
        assert imap.select("INBOX")[0] == "OK"
    with submission(hostingstack, box.login, box.password) as smtp:
        smtp.send_message(message(box.login, box.login, "from submission"))
    assert time.monotonic() - created < LIVE_WITHIN
    assert login_seconds < LIVE_WITHIN

    with hostingstack.engine.connect() as conn:
        row = conn.execute(select(Mailbox.state, Mailbox.active, Mailbox.activated_at).where(Mailbox.id == box.id)).one()
    assert (row.state, row.active) == ("active", 1) and row.activated_at is not None

    inbound = _inbound(hostingstack)
    for address in box.addresses:
        inbound.send_message(message("kunde@sender.example", address, f"to {address}"))
    inbound.quit()
    for address in box.addresses:
        assert len(inbox_messages(hostingstack, box.login, box.password, subject=f"to {address}", wait_for=1)) == 1
    assert len(inbox_messages(hostingstack, box.login, box.password, subject="from submission", wait_for=1)) == 1
    # all of it without a restart or reload of Postfix or Dovecot
    assert _master_pids(hostingstack) == pids_before


def test_unknown_address_of_a_hosted_domain_is_refused_at_rcpt_and_not_stored(
    hostingstack, hosted_domain, hosted_mailbox
):
    domain = hosted_domain()
    box = hosted_mailbox(domain, "bernd")
    hostingstack.client.activate_mailbox(box.id)
    inbound = _inbound(hostingstack)
    inbound.mail("kunde@sender.example")
    code, reply = inbound.rcpt(f"niemand@{domain}")
    inbound.quit()
    assert 500 <= code < 600, reply
    assert b"User unknown" in reply
    # nothing queued for it, nothing delivered
    queue = hostingstack.daemons.paths.queue
    assert not [f for sub in ("incoming", "active", "deferred") for f in (queue / sub).rglob("*") if f.is_file()]
    assert inbox_messages(hostingstack, box.login, box.password) == []
    assert not (Path(hostingstack.client.info["mail_root"]) / domain / "niemand").exists()


def test_app_password_works_for_imap_and_submission_and_a_revoked_one_is_refused(
    hostingstack, hosted_domain, hosted_mailbox
):
    domain = hosted_domain()
    box = hosted_mailbox(domain, "erp")
    hostingstack.client.activate_mailbox(box.id)
    app_passwords = {}
    with hostingstack.engine.begin() as conn:
        for label in ("ERP", "Phone"):
            selector, full = new_app_password()
            conn.execute(AppPassword.__table__.insert().values(
                mailbox_id=box.id, label=label, selector=selector, password_hash=hash_password(full),
                active=1, tenant_id=hostingstack.tenant_id))
            app_passwords[label] = (selector, full)

    for _, full in app_passwords.values():
        with imap_session(hostingstack, box.login, full) as imap:
            assert imap.select("INBOX")[0] == "OK"
        with submission(hostingstack, box.login, full) as smtp:
            assert smtp.noop()[0] == 250

    revoked_selector, revoked = app_passwords["Phone"]
    with hostingstack.engine.begin() as conn:
        conn.execute(update(AppPassword).where(AppPassword.selector == revoked_selector).values(active=0))
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"), imap_session(hostingstack, box.login, revoked):
            pass
    with pytest.raises(smtplib.SMTPAuthenticationError) as refused, submission(hostingstack, box.login, revoked):
            pass
    assert refused.value.smtp_code == 535
    # the other app password and the mailbox's own password still work
    with imap_session(hostingstack, box.login, app_passwords["ERP"][1]):
        pass
    with imap_session(hostingstack, box.login, box.password):
        pass


def test_purged_mailbox_cannot_log_in_and_its_maildir_is_gone(hostingstack, hosted_domain, hosted_mailbox):
    pids_before = _master_pids(hostingstack)
    domain = hosted_domain()
    box = hosted_mailbox(domain, "weg")
    hostingstack.client.activate_mailbox(box.id, password=box.password)
    inbound = _inbound(hostingstack)
    inbound.send_message(message("kunde@sender.example", box.login, "kept until purge"))
    inbound.quit()
    assert inbox_messages(hostingstack, box.login, box.password, wait_for=1)
    maildir = hostingstack.client.home(box.login) / "Maildir"
    assert maildir.is_dir()
    session = imaplib.IMAP4(hostingstack.host, hostingstack.ports["imap"], timeout=10)
    session.login(box.login, box.password)  # an open session is ended by the purge

    hostingstack.client.purge_mailbox(box.id)

    assert not hostingstack.client.home(box.login).exists()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"), imap_session(hostingstack, box.login, box.password):
            pass
    with pytest.raises((imaplib.IMAP4.abort, OSError, imaplib.IMAP4.error)):
        session.select("INBOX")
        session.noop()
    inbound = _inbound(hostingstack)
    inbound.mail("kunde@sender.example")
    assert inbound.rcpt(box.login)[0] == 550
    inbound.quit()
    assert _master_pids(hostingstack) == pids_before


def test_activation_fails_with_the_reason_when_the_domain_is_not_active(hostingstack, hosted_domain, hosted_mailbox):
    domain = hosted_domain()
    with hostingstack.engine.begin() as conn:
        conn.execute(update(Domain).where(Domain.name == domain).values(active=0))
    box = hosted_mailbox(domain, "nie")
    with pytest.raises(ProvisioningError, match="did not work within"):
        hostingstack.client.activate_mailbox(box.id, password=box.password, timeout=0.5)
    with hostingstack.engine.connect() as conn:
        row = conn.execute(select(Mailbox.state, Mailbox.active, Mailbox.failure_reason).where(Mailbox.id == box.id)).one()
    assert (row.state, row.active) == ("failed", 0)
    assert box.login in row.failure_reason


def test_hosted_profile_offers_the_imap_extensions_quota_and_managesieve(hostingstack, hosted_domain, hosted_mailbox):
    box = hosted_mailbox(hosted_domain(), "profil", quota=5 * 2**20)
    hostingstack.client.activate_mailbox(box.id)
    with imap_session(hostingstack, box.login, box.password) as imap:
        capabilities = set(imap.capability()[1][0].decode().split())  # those after LOGIN
        assert {"IDLE", "CONDSTORE", "QRESYNC", "MOVE", "SPECIAL-USE", "QUOTA"} <= capabilities
        folders = b" ".join(imap.list()[1])
        for flag in (rb"\Drafts", rb"\Sent", rb"\Trash", rb"\Junk", rb"\Archive"):
            assert flag in folders
        quota = imap.getquotaroot("INBOX")[1]
    assert b"STORAGE 0 5120" in b" ".join(q for q in quota[1] if q)  # the mailbox's own quota, in KiB
    with socket.create_connection((hostingstack.host, hostingstack.ports["sieve"]), timeout=5) as sieve:
        assert b'"IMPLEMENTATION"' in sieve.recv(1024)


def test_stack_listens_on_loopback_only_and_a_second_start_starts_nothing(hostingstack):
    assert hostingstack.daemons.start() is False
    listening = subprocess.run(["ss", "-ltnuH"], capture_output=True, text=True, check=True).stdout
    ours = [line.split()[4] for line in listening.splitlines()
            if line.split()[4].rsplit(":", 1)[-1] in {str(p) for p in hostingstack.ports.values()}]  # fmt: skip
    assert len(ours) >= len(hostingstack.ports)  # DNS listens on UDP and TCP
    assert all(address.startswith("127.0.0.1:") for address in ours)
