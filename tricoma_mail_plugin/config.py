"""Configuration keys of the extension and their defaults.

Every key carries the ``TRICOMA_MAIL_`` prefix. ``init_app`` fills in each default the host did not
set, so ``app.config`` always holds the effective value.
"""
from __future__ import annotations

from typing import Any

from flask import current_app

DEFAULTS: dict[str, Any] = {
    # Load plugins installed as distributions with an entry point in group "tricoma_mail".
    # Tests turn this off to run with exactly the plugins they register.
    "TRICOMA_MAIL_LOAD_ENTRYPOINTS": True,
    # Extra plugin modules (dotted names) registered at start, e.g. for a plugin kept in the host.
    "TRICOMA_MAIL_EXTRA_PLUGINS": (),
    # The layout the extension's pages extend; the host sets its own (it must define the blocks
    # "title" and "content").
    "TRICOMA_MAIL_BASE_TEMPLATE": "tricoma_mail/base.html",
    # Fernet keys for secrets at rest, newest first (see secret_box.py). Empty: derived from
    # SECRET_KEY.
    "TRICOMA_MAIL_SECRET_KEYS": (),
    # Seconds before a connection to a mail server gives up.
    "TRICOMA_MAIL_NETWORK_TIMEOUT": 20.0,
    # A PEM file of extra trusted certificates for mail servers (a private CA); None: the system's.
    "TRICOMA_MAIL_CA_FILE": None,
    # Seconds between background syncs of every usable mailbox, in a thread of the host
    # process; 0 switches the in-process background sync off (e.g. when a worker does it).
    "TRICOMA_MAIL_SYNC_INTERVAL": 120,
    # How long a sync's claim on its mailbox lasts without a heartbeat (a running sync renews it
    # every third of this); a process that died releases the mailbox within this time.
    "TRICOMA_MAIL_SYNC_LEASE_SECONDS": 60,
    # How long a sync someone asked for (the web's "check for new mail") waits for another
    # sync of the same mailbox to finish before it says so.
    "TRICOMA_MAIL_SYNC_WAIT_SECONDS": 20,
    # Mail server addresses mailboxes may use beyond the public internet (loopback, private and
    # reserved addresses are refused otherwise), added to the list an admin keeps on Admin → Mail
    # servers: addresses, networks or host names, each with an optional port or port range, as a
    # list or one string ("127.0.0.1:10143, 10.0.0.0/8:993, mail.intern"). See docs/security.md.
    "TRICOMA_MAIL_ALLOWED_MAIL_SERVERS": (),
    # Connection tests one user may start from the web per hour (over all mailboxes).
    "TRICOMA_MAIL_TESTS_PER_HOUR": 30,
    # Seconds between two connection tests of one mailbox (or two system test mails) from the web.
    "TRICOMA_MAIL_TEST_MIN_INTERVAL": 5,
    # Undo send: seconds a new mail waits in the outbox before it may leave.
    "TRICOMA_MAIL_UNDO_SEND_SECONDS": 10,
    # Seconds a worker holds an item while sending; when it expires the item becomes uncertain.
    "TRICOMA_MAIL_OUTBOX_LEASE_SECONDS": 300,
    # Attempts (with backoff 1 min, 5 min, 30 min, 2 h, then every 6 h) before a mail fails.
    "TRICOMA_MAIL_SEND_MAX_ATTEMPTS": 20,
    # Seconds between outbox runs of the in-process worker; 0 switches it off.
    "TRICOMA_MAIL_OUTBOX_POLL_SECONDS": 2,
    # Background jobs (jobs/, docs/deployment.md). None: the embedded default, the jobs run in
    # threads of each web process. A Redis URL ("redis://127.0.0.1:6379/0"): the web processes
    # queue jobs there (RQ) and `flask mail worker` processes, on any number of hosts, run them.
    "TRICOMA_MAIL_REDIS_URL": None,
    # The name of the queues in Redis (and the prefix of the extension's own Redis keys), so
    # that several installations can share one Redis.
    "TRICOMA_MAIL_QUEUE_PREFIX": "tricoma-mail",
    # Retries of a job that stopped on an unexpected error, and the seconds before each.
    "TRICOMA_MAIL_JOB_RETRY_DELAYS": (10, 60, 300),
    # Seconds a job may run before it is stopped (and its ledger claim may be taken over).
    "TRICOMA_MAIL_JOB_TIMEOUT": 900,
    # Hourly clean-ups (old uploads, delivered events, the ledger of finished jobs): seconds.
    "TRICOMA_MAIL_CLEANUP_INTERVAL": 3600,
    # Team mail: how often snoozed conversations and follow-up reminders are looked at (seconds).
    "TRICOMA_MAIL_TEAM_INTERVAL": 60,
    # Syncs of one mail server (host and port) at once over all workers; a slow server holds
    # up only its own mailboxes. A server that did not answer is left alone this many seconds.
    "TRICOMA_MAIL_SERVER_CONCURRENCY": 2,
    "TRICOMA_MAIL_SERVER_PAUSE_SECONDS": 60,
    # Largest total size of a message's attachments, in bytes.
    "TRICOMA_MAIL_MAX_ATTACHMENT_BYTES": 25 * 1024 * 1024,
    # Start syncing a mailbox in the background the first time someone opens it (instead of
    # waiting for the next scheduled sync); the page shows the progress.
    "TRICOMA_MAIL_SYNC_ON_FIRST_OPEN": True,
    # Bytes of message bodies kept per mailbox (least recently read are dropped first).
    "TRICOMA_MAIL_BODY_CACHE_BYTES": 200 * 1024 * 1024,
    # After each sync, fetch ahead the bodies of this many newest messages of the inbox and of
    # the unread among the five times as many newest (at most twice this many per sync), so
    # opening them asks the server nothing; only free room of the body budget is used, at most
    # half of it. 0 switches it off.
    "TRICOMA_MAIL_PREFETCH_MESSAGES": 200,
    # The reading view carries a message's sanitized body document in its sandboxed frame
    # (``srcdoc``: one request to open a message) up to this many bytes; a larger body is
    # loaded by the frame from its own route instead, so a huge mail does not weigh on the page.
    "TRICOMA_MAIL_INLINE_BODY_MAX_BYTES": 256 * 1024,
    # The host's Content-Security-Policy. A reading page that carries its body in ``srcdoc``
    # answers its own policy (a srcdoc frame inherits the page's): this one with inline styles
    # added to style-src and img-src set to the body's image sources; every other directive as
    # the host wrote it. Set it to the policy the host sends on its other pages.
    "TRICOMA_MAIL_CONTENT_SECURITY_POLICY": ("default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                             "script-src 'self'; frame-ancestors 'self'; form-action 'self'; "
                                             "base-uri 'none'; object-src 'none'"),
    # Network access of server autodiscovery, replaceable (tests keep it on 127.0.0.1):
    # a resolver object with srv(name) and mx(domain), and http_get(url, timeout) -> (status, body).
    # None: the real DNS and HTTPS.
    "TRICOMA_MAIL_DISCOVERY_RESOLVER": None,
    "TRICOMA_MAIL_DISCOVERY_HTTP_GET": None,
    # The GoBD archive (docs/archive.md): every mail sync stores for the first time and every
    # mail the outbox sends is journaled once with its original bytes. Switch off only where
    # another system archives the mail.
    "TRICOMA_MAIL_ARCHIVE_ENABLED": True,
    # Where the archived bytes live: "database" (compressed, in the app's database), "files"
    # (one read-only file per mail under TRICOMA_MAIL_ARCHIVE_DIRECTORY) or "s3" (below).
    "TRICOMA_MAIL_ARCHIVE_STORAGE": "database",
    "TRICOMA_MAIL_ARCHIVE_DIRECTORY": None,
    # "s3": an S3-compatible object store; the bucket must be made with object lock (needs the
    # extra "s3", i.e. boto3). Endpoint None: Amazon S3 itself. Access key and secret None: boto3's
    # own sources (AWS_* environment variables, ~/.aws, an instance role); keep the secret in the
    # environment (HOSTAPP_TRICOMA_MAIL_ARCHIVE_S3_SECRET_KEY) like the other secrets. Each object
    # is locked in LOCK_MODE ("COMPLIANCE": nobody can delete it early; "GOVERNANCE": holders of
    # s3:BypassGovernanceRetention can) until the default retention ends.
    "TRICOMA_MAIL_ARCHIVE_S3_ENDPOINT": None,
    "TRICOMA_MAIL_ARCHIVE_S3_BUCKET": None,
    "TRICOMA_MAIL_ARCHIVE_S3_REGION": None,
    "TRICOMA_MAIL_ARCHIVE_S3_ACCESS_KEY": None,
    "TRICOMA_MAIL_ARCHIVE_S3_SECRET_KEY": None,
    "TRICOMA_MAIL_ARCHIVE_S3_LOCK_MODE": "COMPLIANCE",
    # Years archived mail is kept after the end of the year it arrived in (§ 147 AO, § 257 HGB:
    # commercial letters 6 years), unless a mailbox's rule or a linked record asks for longer.
    "TRICOMA_MAIL_ARCHIVE_RETENTION_YEARS": 6,
    # Years by the kind of record a mail is linked to (invoices and booking documents: 10).
    "TRICOMA_MAIL_ARCHIVE_RETENTION_BY_RECORD_KIND": {"invoice": 10},
    # The sender check of the reading view (tricoma_mail_plugin/sender_check/). The
    # ``authserv-id`` of the receiving servers whose Authentication-Results headers count (anyone
    # can write such a header into a mail); empty: those with the id of the topmost header.
    "TRICOMA_MAIL_AUTHSERV_IDS": (),
    # Our own DKIM verification for mail without Authentication-Results: None makes no DNS
    # lookups (no verification of our own); "dns" looks the keys up in the real DNS; a function
    # ``lookup(name: bytes, timeout=5) -> bytes | None`` (the TXT record) replaces the DNS.
    "TRICOMA_MAIL_DKIM_LOOKUP": None,
    # Bulk mail from apps (sending/bulk.py): the app's address as recipients reach it, for the
    # one-click unsubscribe link (RFC 8058: https); None: the address of the request that sends.
    "TRICOMA_MAIL_PUBLIC_URL": None,
    # At most this many mails an hour leave through one mailbox (a mailbox's own setting wins);
    # more wait in the outbox instead of being refused by the provider. None: no limit.
    "TRICOMA_MAIL_SEND_RATE_PER_HOUR": None,
    # How many hook errors per plugin the admin's plugin page keeps.
    "TRICOMA_MAIL_PLUGIN_ERRORS_KEPT": 20,
    # Queue what the host sends with Flask-Mail (``mail.send(Message(...))``) in the outbox as
    # system mail, sent with the Mailversand settings, instead of letting Flask-Mail talk to SMTP
    # itself (see docs/flask_mail.md). Needs Flask-Mail initialised before tricoma mail.
    "TRICOMA_MAIL_FLASK_MAIL_OUTBOX": True,
    # Seconds a process holds the events it delivers to the hooks; an event whose process
    # stopped is delivered again by another once this has passed (at least once).
    "TRICOMA_MAIL_EVENT_LEASE_SECONDS": 300,
    # Days a delivered event is kept before the workers delete it.
    "TRICOMA_MAIL_EVENTS_KEPT_DAYS": 7,
    # TEST ONLY, NEVER SET IN PRODUCTION. True makes the reading view put a message's raw,
    # unsanitized HTML straight into the app's own page (no sanitizer, no sandboxed frame, no CSP),
    # so the browser XSS test (tests/test_xss_browser.py) can prove that its detector sees script
    # that runs. Honoured only when the app also runs with TESTING on.
    "TRICOMA_MAIL_UNSAFE_RENDERING_FOR_TESTS": False,
}


def apply_defaults(config: dict[str, Any]) -> None:
    """Set each default that the host's config does not already set."""
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)


def attachment_limit() -> int:
    """The largest total size of one message's attachments, in bytes, for the current app."""
    return int(current_app.config["TRICOMA_MAIL_MAX_ATTACHMENT_BYTES"])
