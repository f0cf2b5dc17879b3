"""The local mail stack (scripts/mailstack.py) against real Dovecot and the SMTP relay."""
from __future__ import annotations

import datetime as dt
import email
import email.header
import email.policy
import email.utils
import smtplib
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import mailstack as mailstack_module
import corpora
import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.imapclient import SENT
from mailstack import MailStack, Profile
from mailstack_fixture import SCRIPTS_DIR, TEST_PORT_OFFSET, open_imap, open_smtp

pytestmark = [pytest.mark.live, pytest.mark.db_independent]

CLI = SCRIPTS_DIR / "mailstack"
LIFECYCLE_OFFSET = TEST_PORT_OFFSET + 100  # 400 beside the session stack's 300
LIFECYCLE_DIR = Path(f"/tmp/tricoma-mailstack-test-{LIFECYCLE_OFFSET}")  # short: Dovecot's socket paths
REQUIRED_CAPABILITIES = {b"SPECIAL-USE", b"CONDSTORE", b"QRESYNC", b"MOVE", b"UIDPLUS", b"IDLE"}
SPECIAL_USE = {b"\\Drafts", b"\\Sent", b"\\Trash", b"\\Junk", b"\\Archive", b"\\All", b"\\Flagged"}


def wait_for_subject(client: IMAPClient, subject: str, folder: str = "INBOX", timeout: float = 5.0) -> list[int]:
    """UIDs of messages with ``subject`` in ``folder``, polling until one arrives or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        client.select_folder(folder, readonly=True)
        uids = client.search(["SUBJECT", subject])
        if uids or time.monotonic() > deadline:
            return uids
        time.sleep(0.1)


def plain_message(sender: str, recipients: list[str], subject: str) -> bytes:
    return (
        f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4().hex}@test>\r\n\r\nHello from the mail stack test.\r\n"
    ).encode()


def first_user(profile: Profile) -> tuple[str, str]:
    return next(iter(profile.users.items()))


def assert_imap_login_refused(profile: Profile, user: str, password: str) -> None:
    client = open_imap(profile)
    try:
        with pytest.raises(LoginError):
            client.login(user, password)
    finally:
        client.logout()


# ---- IMAP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 2])
@pytest.mark.parametrize("security", ["plain", "starttls", "ssl"])
def test_imap_answers_plain_starttls_and_imaps(mailstack: MailStack, number: int, security: str) -> None:
    profile = mailstack.profile(number)
    user, password = first_user(profile)
    client = open_imap(profile, security, mailstack.ssl_context(verify=False))
    try:
        if security == "plain":
            assert b"STARTTLS" in client.capabilities()
        client.login(user, password)
        assert client.select_folder("INBOX")[b"UIDVALIDITY"]
    finally:
        client.logout()


def test_tls_certificate_covers_127_0_0_1(mailstack: MailStack) -> None:
    """Clients that trust the generated certificate verify it, hostname 127.0.0.1 included."""
    profile = mailstack.standard
    for security in ("starttls", "ssl"):
        client = open_imap(profile, security, mailstack.ssl_context(verify=True))
        client.logout()
    with pytest.raises(ssl.SSLCertVerificationError):
        open_imap(profile, "ssl", ssl.create_default_context())


def test_wrong_imap_password_is_refused_without_penalty(mailstack: MailStack, imap_client) -> None:
    profile = mailstack.standard
    assert_imap_login_refused(profile, "bob@example.test", "wrong")
    started = time.monotonic()
    imap_client(1, "bob@example.test")
    assert time.monotonic() - started < 1.5, "the next login from 127.0.0.1 must not be delayed"


def test_standard_capabilities(imap_client) -> None:
    capabilities = set(imap_client(1).capabilities())
    assert REQUIRED_CAPABILITIES <= capabilities


def test_standard_lists_special_use_folders(mailstack: MailStack, imap_client) -> None:
    client = imap_client(1)
    folders = {name: set(flags) for flags, delimiter, name in client.list_folders()}
    assert {delimiter for _, delimiter, _ in client.list_folders()} == {b"/"}
    expected = {
        "Drafts": b"\\Drafts", "Sent": b"\\Sent", "Trash": b"\\Trash", "Junk": b"\\Junk", "Archive": b"\\Archive"
    }
    for name, flag in expected.items():
        assert flag in folders[name], name
    assert client.find_special_folder(SENT) == mailstack.standard.sent_folder == "Sent"
    assert {name for _, _, name in client.list_sub_folders()} >= set(expected)


def test_hoster_lists_german_folders_without_special_use(mailstack: MailStack, imap_client) -> None:
    profile = mailstack.hoster
    client = imap_client(2)
    assert client.namespace().personal == (("INBOX.", "."),)
    listing = client.list_folders()
    names = {name for _, _, name in listing}
    assert {"INBOX", "INBOX.Sent Mails", "INBOX.Papierkorb", "INBOX.Entwürfe", "INBOX.Spam"} <= names
    assert set(profile.folders.values()) <= names
    assert {delimiter for _, delimiter, _ in listing} == {b"."}
    assert not any(set(flags) & SPECIAL_USE for flags, _, _ in listing)
    subscribed = {name for _, _, name in client.list_sub_folders()}
    assert {"INBOX.Sent Mails", "INBOX.Papierkorb", "INBOX.Entwürfe", "INBOX.Spam"} <= subscribed


def test_hoster_sends_non_ascii_folder_in_modified_utf7(imap_client) -> None:
    client = imap_client(2)
    client.folder_encode = False
    assert b"INBOX.Entw&APw-rfe" in {name for _, _, name in client.list_folders()}


@pytest.mark.parametrize("number", [1, 2])
def test_lmtp_and_managesieve_answer(mailstack: MailStack, number: int) -> None:
    profile = mailstack.profile(number)
    with smtplib.LMTP(profile.host, profile.lmtp_port, timeout=10) as lmtp:
        assert lmtp.ehlo()[0] == 250
    with socket.create_connection((profile.host, profile.sieve_port), timeout=10) as sock:
        assert sock.recv(512).startswith(b'"IMPLEMENTATION"')


# ---- SMTP ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 2])
def test_smtp_requires_auth(mailstack: MailStack, number: int) -> None:
    profile = mailstack.profile(number)
    user, password = first_user(profile)
    with open_smtp(profile) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail(user, [user], plain_message(user, [user], "no auth"))
        assert refused.value.smtp_code == 530
    with open_smtp(profile) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError) as wrong:
            smtp.login(user, "wrong-password")
        assert wrong.value.smtp_code == 535
    with open_smtp(profile) as smtp:
        assert smtp.login(user, password)[0] == 235


@pytest.mark.parametrize(
    ("number", "sender", "recipient"),
    [
        (1, "alice@example.test", "bob@example.test"),
        (2, "anna@hoster.test", "ben@hoster.test"),
        (1, "alice@example.test", "anna@hoster.test"),
        (2, "ben@hoster.test", "carol@example.test"),
    ],
)
def test_smtp_mail_arrives_in_inbox(
    mailstack: MailStack, smtp_client, imap_client, number: int, sender: str, recipient: str
) -> None:
    subject = f"stack test {uuid.uuid4().hex}"
    refused = smtp_client(number, sender).sendmail(sender, [recipient], plain_message(sender, [recipient], subject))
    assert refused == {}
    target = next(p for p in mailstack.profiles.values() if recipient in p.users)
    inbox = imap_client(target, recipient)
    uids = wait_for_subject(inbox, subject)
    assert len(uids) == 1
    raw = inbox.fetch(uids, [b"RFC822"])[uids[0]][b"RFC822"]
    delivered = email.message_from_bytes(raw, policy=email.policy.default)
    assert delivered["Delivered-To"] == recipient


@pytest.mark.parametrize(
    "recipient", ["ghost@example.test", "ghost@hoster.test", "someone@example.com", "postmaster@localhost"]
)
def test_smtp_refuses_non_local_recipients(smtp_client, recipient: str) -> None:
    smtp = smtp_client(1)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail("alice@example.test", [recipient], plain_message("alice@example.test", [recipient], "nope"))
    assert refused.value.recipients[recipient][0] == 550


def test_smtp_delivers_to_local_and_refuses_the_rest(smtp_client, imap_client) -> None:
    subject = f"mixed {uuid.uuid4().hex}"
    recipients = ["dave@example.test", "nobody@example.org"]
    refused = smtp_client(1).sendmail("alice@example.test", recipients, plain_message("alice", recipients, subject))
    assert list(refused) == ["nobody@example.org"] and refused["nobody@example.org"][0] == 550
    assert wait_for_subject(imap_client(1, "dave@example.test"), subject)


def test_smtp_starttls(mailstack: MailStack, smtp_client, imap_client) -> None:
    subject = f"starttls {uuid.uuid4().hex}"
    smtp = smtp_client(2, "ben@hoster.test", security="starttls")
    smtp.sendmail("ben@hoster.test", ["anna@hoster.test"], plain_message("ben", ["anna@hoster.test"], subject))
    assert wait_for_subject(imap_client(2, "anna@hoster.test"), subject)


# ---- provisioning and filling ----------------------------------------------------------------


@pytest.mark.parametrize("number", [1, 2])
def test_added_user_logs_in_without_restart(mailstack: MailStack, imap_client, number: int) -> None:
    profile = mailstack.profile(number)
    pids = mailstack.pids()
    user, password = f"new-{uuid.uuid4().hex[:8]}@{profile.domain}", "s3cret-passwort"
    result = subprocess.run(
        [str(CLI), "add-user", user, password, "--profile", str(number),
         "--dir", str(mailstack.state_dir), "--port-offset", str(mailstack.port_offset)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    try:
        client = imap_client(profile, user, password)
        expected_folders = set(profile.folders.values())
        assert expected_folders <= {name for _, _, name in client.list_folders()}
        with open_smtp(profile) as smtp:
            assert smtp.login(user, password)[0] == 235
        assert_imap_login_refused(profile, user, "wrong")
        assert mailstack.pids() == pids
    finally:
        mailstack.remove_user(user, number)
    assert_imap_login_refused(profile, user, password)


def test_add_user_refuses_fixed_users(mailstack: MailStack) -> None:
    with pytest.raises(mailstack_module.MailStackError):
        mailstack.add_user("alice@example.test", "other", 1)


def test_fill_from_corpus_keeps_header_dates(mailstack: MailStack, fresh_user, imap_client) -> None:
    corpora.require(mailstack_module.DEFAULT_CORPUS)
    user, password = fresh_user(2)
    assert mailstack.fill(user, password, profile=2, limit=5, folder="INBOX.Seed") == 5
    client = imap_client(2, user, password)
    client.select_folder("INBOX.Seed", readonly=True)
    uids = client.search(["ALL"])
    assert len(uids) == 5
    first = client.fetch(uids[:1], [b"INTERNALDATE", b"BODY.PEEK[HEADER.FIELDS (DATE)]", b"RFC822"])[uids[0]]
    assert not first[b"RFC822"].startswith(b"From ")
    header_date = email.utils.parsedate_to_datetime(
        email.message_from_bytes(first[b"BODY[HEADER.FIELDS (DATE)]"])["Date"]
    )
    internal = first[b"INTERNALDATE"]  # imapclient gives naive local time
    assert internal.astimezone(dt.timezone.utc) == header_date.astimezone(dt.timezone.utc)


def test_fill_generates_mail_without_corpus(
    mailstack: MailStack, fresh_user, imap_client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(mailstack_module, "DEFAULT_CORPUS", tmp_path / "missing")
    user, password = fresh_user(1)
    assert mailstack.fill(user, password, profile=1, limit=40) == 40
    client = imap_client(1, user, password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    fetched = client.fetch(uids, [b"ENVELOPE", b"BODYSTRUCTURE", b"FLAGS", b"INTERNALDATE"])
    subjects = [
        str(email.header.make_header(email.header.decode_header(f[b"ENVELOPE"].subject.decode())))
        for f in fetched.values()
    ]
    assert len(uids) == 40
    assert any(not s.isascii() for s in subjects)
    assert any(f[b"BODYSTRUCTURE"].is_multipart for f in fetched.values())
    assert any(b"\\Seen" in f[b"FLAGS"] for f in fetched.values())
    assert all(f[b"INTERNALDATE"].year == 2024 for f in fetched.values())


def test_generated_mail_is_deterministic() -> None:
    first = mailstack_module.generate_messages(30)
    assert [m.raw for m in first] == [m.raw for m in mailstack_module.generate_messages(30)]
    assert any(b"In-Reply-To:" in m.raw for m in first)


def test_fill_refuses_a_missing_corpus(mailstack: MailStack, tmp_path: Path) -> None:
    with pytest.raises(mailstack_module.MailStackError, match="does not exist"):
        mailstack.fill("alice@example.test", "alicepass", corpus=tmp_path / "nothing")


# ---- lifecycle -------------------------------------------------------------------------------


def _cli(stack: MailStack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args, "--dir", str(stack.state_dir), "--port-offset", str(stack.port_offset)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _live_processes_mentioning(*needles: str) -> list[str]:
    """Command lines of live (non-zombie) processes that contain any of ``needles``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state not in ("Z", "X") and any(n in cmdline for n in needles):
            found.append(f"{entry.name}: {cmdline}")
    return found


@pytest.mark.usefixtures("mailstack_lock")
def test_start_status_stop_lifecycle() -> None:
    """A second stack (offset 400) goes through the CLI; the session stack is left alone."""
    stack = MailStack(LIFECYCLE_DIR, LIFECYCLE_OFFSET)
    stack.destroy()
    instances = [f"tricoma-{p.name}-{LIFECYCLE_OFFSET}/" for p in stack.profiles.values()]
    try:
        started = _cli(stack, "start")
        assert started.returncode == 0, started.stderr
        pids = stack.pids()
        assert len(pids) == 4

        status = _cli(stack, "status")
        assert status.returncode == 0 and all(str(pid) in status.stdout for pid in pids)

        again = _cli(stack, "start")
        assert again.returncode == 0
        assert "mail stack already running (pids" in again.stdout
        assert stack.start() is False and stack.pids() == pids
        with pytest.raises(mailstack_module.MailStackError, match="ports in use"):
            MailStack(f"{LIFECYCLE_DIR}-twin", LIFECYCLE_OFFSET).start()

        stopped = _cli(stack, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert _live_processes_mentioning(str(stack.state_dir), *instances) == []
        assert not list((stack.state_dir / "pids").iterdir())

        assert _cli(stack, "status").returncode == mailstack_module.EXIT_NOT_RUNNING
        assert "not running" in _cli(stack, "stop").stdout
    finally:
        stack.destroy()
        MailStack(f"{LIFECYCLE_DIR}-twin", LIFECYCLE_OFFSET).destroy()


@pytest.mark.usefixtures("mailstack_lock")
def test_stop_never_kills_a_process_it_did_not_start() -> None:
    """A stale pid file naming someone else's process leaves that process alone."""
    stack = MailStack(f"{LIFECYCLE_DIR}-stale", LIFECYCLE_OFFSET)
    stack.destroy()
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = stack.paths(stack.standard).relay_pidfile
        pidfile.parent.mkdir(parents=True)
        (stack.state_dir / mailstack_module.MARKER_FILE).write_text("test\n")
        pidfile.write_text(f"{bystander.pid}\n")
        assert stack.stop() == []
        assert bystander.poll() is None
        assert not pidfile.exists()
    finally:
        bystander.kill()
        bystander.wait()
        stack.destroy()
