"""Core's tables. They live on the host's database (through the ``db`` handed to
:class:`TricomaMail`) but on core's own metadata, so the host's migrations include them by
listing :data:`Base.metadata` and core never needs the host's model classes.

Every table name starts with ``tricoma_mail_``.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Row ids are 32-bit integers (PostgreSQL's INTEGER): a larger id from a URL or a form names no
# row and must not reach the database, which would refuse the number itself.
ROW_ID_LIMIT = 2**31


def is_row_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < ROW_ID_LIMIT


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A point in time stored in UTC and always read back timezone-aware (SQLite forgets the
    zone; PostgreSQL keeps it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value.tzinfo is timezone.utc:  # a sync binds thousands already in UTC
            return value
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def bind_processor(self, dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        to_utc = self.process_bind_param

        def process(value):
            # The text SQLAlchemy's SQLite DATETIME writes ("2024-05-01 09:30:00.000000"), made
            # by datetime's own C code: a sync binds two per new message, and the %-format with
            # a dict per value cost a tenth of its storing thread's time.
            if value is None:
                return None
            return to_utc(value, dialect).isoformat(" ", "microseconds")[:26]

        return process

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PluginState(Base):
    """Whether an installed plugin is switched on. No row means on."""

    __tablename__ = "tricoma_mail_plugin_state"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(200))


class PluginFailure(Base):
    """A hook of a plugin raised; kept for the admin's plugin page."""

    __tablename__ = "tricoma_mail_plugin_failure"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plugin: Mapped[str] = mapped_column(String(200), index=True)
    hook: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(String(500))
    traceback: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Mailbox(Base):
    """One mailbox of the installation: its servers, identity, folder mapping and last test.

    Passwords and tokens live only in ``secrets``, encrypted (see :mod:`secret_box`).
    """

    __tablename__ = "tricoma_mail_mailbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50), default="imap")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    extra_addresses: Mapped[str] = mapped_column(Text, default="")
    signature: Mapped[str] = mapped_column(Text, default="")
    imap_host: Mapped[str] = mapped_column(String(253), default="")
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_security: Mapped[str] = mapped_column(String(10), default="tls")
    imap_username: Mapped[str] = mapped_column(String(254), default="")
    smtp_host: Mapped[str] = mapped_column(String(253), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=587)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")
    smtp_username: Mapped[str] = mapped_column(String(254), default="")
    secrets: Mapped[str] = mapped_column(Text, default="")
    folder_roles: Mapped[dict] = mapped_column(JSON, default=dict)
    provider_files_sent_mail: Mapped[bool] = mapped_column(Boolean, default=False)
    # Addresses every mail sent from other apps through this mailbox goes to in Bcc (S2).
    app_bcc: Mapped[str] = mapped_column(Text, default="")
    # At most this many mails an hour leave through this mailbox; more wait in the outbox
    # (None: TRICOMA_MAIL_SEND_RATE_PER_HOUR).
    send_rate_per_hour: Mapped[int | None] = mapped_column(Integer)
    # ManageSieve (filters, vacation) on the IMAP host, with IMAP's encryption; None: port 4190.
    sieve_port: Mapped[int | None] = mapped_column(Integer)
    last_test_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_test_ok: Mapped[bool | None] = mapped_column(Boolean)
    last_test_steps: Mapped[list] = mapped_column(JSON, default=list)
    last_sync_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_sync_error: Mapped[str | None] = mapped_column(String(500))
    last_sync_detail: Mapped[str | None] = mapped_column(String(1000))  # the raw error, for admins
    sync_lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # How the mailbox logs in: "password", "oauth2_delegated" or "oauth2_app" (tokens from the
    # provider below, kept in ``secrets``). While ``needs_sign_in_at`` is set, the provider
    # refused to refresh: sync and sending wait until someone signs in again.
    auth_kind: Mapped[str] = mapped_column(String(20), default="password", server_default="password")
    oauth_provider_id: Mapped[int | None] = mapped_column(
        # named: the convention's name would pass PostgreSQL's 63 characters
        ForeignKey("tricoma_mail_oauth_provider.id", ondelete="SET NULL", name="fk_tricoma_mail_mailbox_oauth_provider"))
    needs_sign_in_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    @property
    def usable(self) -> bool:
        """Only a mailbox whose last connection test passed is used for mail."""
        return bool(self.last_test_ok) and self.deleted_at is None


class MailboxGrant(Base):
    """One right on one mailbox, granted to a user or to a group of the host."""

    __tablename__ = "tricoma_mail_grant"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "principal_type", "principal_id", "right",
                         name="uq_tricoma_mail_grant_principal_right"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_mailbox.id", ondelete="CASCADE"), index=True
    )
    principal_type: Mapped[str] = mapped_column(String(10))  # "user" or "group"
    principal_id: Mapped[str] = mapped_column(String(200))
    right: Mapped[str] = mapped_column(String(50))


class CachedFolder(Base):
    """A server folder of a mailbox and its sync checkpoint.

    ``uidvalidity``, ``uidnext`` and ``highestmodseq`` are committed in the same transaction as
    the message rows they cover.
    """

    __tablename__ = "tricoma_mail_folder"
    __table_args__ = (UniqueConstraint("mailbox_id", "name", name="uq_tricoma_mail_folder_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_mailbox.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(1000))
    delimiter: Mapped[str | None] = mapped_column(String(1))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    special_use: Mapped[str | None] = mapped_column(String(20))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uidnext: Mapped[int | None] = mapped_column(BigInteger)
    highestmodseq: Mapped[int | None] = mapped_column(BigInteger)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    unseen: Mapped[int] = mapped_column(Integer, default=0)
    # What the server reported at the start of the running sync: progress = messages / this.
    server_messages: Mapped[int | None] = mapped_column(Integer)
    synced_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CachedMessage(Base):
    """The summary of one message in the local cache; key (folder, uid) under the folder's
    UIDVALIDITY."""

    __tablename__ = "tricoma_mail_message"
    __table_args__ = (
        UniqueConstraint("folder_id", "uid", name="uq_tricoma_mail_message_folder_uid"),
        Index("ix_tricoma_mail_message_folder_date", "folder_id", "date", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder_id: Mapped[int] = mapped_column(ForeignKey("tricoma_mail_folder.id", ondelete="CASCADE"))
    uid: Mapped[int] = mapped_column(BigInteger)
    flags: Mapped[str] = mapped_column(String(1000), default="")
    seen: Mapped[bool] = mapped_column(Boolean, default=False)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
    internal_date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    from_: Mapped[str] = mapped_column("from_addr", Text, default="")
    # What a list sorts by when it sorts by sender: mime.headers.sender_sort_key(from_)
    sender_sort: Mapped[str] = mapped_column(String(200), default="")
    to: Mapped[str] = mapped_column("to_addrs", Text, default="")
    cc: Mapped[str] = mapped_column("cc_addrs", Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    # The Date header, or the server's arrival time when the header is missing or broken.
    date: Mapped[datetime | None] = mapped_column(UtcDateTime())
    message_id: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[str] = mapped_column("reference_ids", Text, default="")
    has_attachment: Mapped[bool] = mapped_column(Boolean, default=False)
    preview: Mapped[str] = mapped_column(String(300), default="")
    modseq: Mapped[int | None] = mapped_column(BigInteger)
    # The message's text is in the full-text index (search_index.py).
    indexed: Mapped[bool] = mapped_column(Boolean, default=False)


class CachedBody(Base):
    """The raw bytes of a message fetched on demand, kept within a size budget per mailbox."""

    __tablename__ = "tricoma_mail_body"

    message_pk: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_message.id", ondelete="CASCADE"), primary_key=True
    )
    mailbox_id: Mapped[int] = mapped_column(Integer, index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class MailIntent(Base):
    """A move or delete in progress. Written before the server is touched and marked done after,
    so an interrupted operation is finished or rolled back at the next start."""

    __tablename__ = "tricoma_mail_intent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_mailbox.id", ondelete="CASCADE"), index=True
    )
    operation: Mapped[str] = mapped_column(String(20))  # "move" or "expunge"
    source: Mapped[str] = mapped_column(String(1000))
    target: Mapped[str | None] = mapped_column(String(1000))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uids: Mapped[list] = mapped_column(JSON)
    message_ids: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, done, undone
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxItem(Base):
    """One mail on its way out. The bytes and the Message-ID are fixed at enqueue.

    ``state``: queued → sending (leased) → sent | retry (with ``not_before``) | failed
    (permanent) | uncertain (the outcome is unknown; never resent automatically) | cancelled.
    The Sent copy has a state of its own (``sent_copy``): pending → done | retry | skipped.

    ``attempt_stage`` says durably how far the attempt under way got (connecting, data,
    final_dot, handed_over); a worker that dies before ``final_dot`` is retried, never uncertain.
    ``attempt_history`` holds one line per finished attempt. ``uncertain_check_after`` is set
    while the Sent folder is still to be searched for an uncertain item's Message-ID.
    """

    __tablename__ = "tricoma_mail_outbox"
    __table_args__ = (
        UniqueConstraint("scope", "idempotency_key", name="uq_tricoma_mail_outbox_idempotency"),
        Index("ix_tricoma_mail_outbox_due", "state", "not_before"),
        Index("ix_tricoma_mail_outbox_sent_copy", "state", "sent_copy", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))  # "mailbox:<id>" or "system"
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("tricoma_mail_mailbox.id", ondelete="SET NULL"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(300))
    sender: Mapped[str] = mapped_column(String(300))
    recipients: Mapped[list] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    reference: Mapped[str | None] = mapped_column(String(200), index=True)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default="queued")
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000))
    smtp_accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    recipient_results: Mapped[list] = mapped_column(JSON, default=list)
    sent_copy: Mapped[str] = mapped_column(String(20), default="pending")
    sent_copy_folder: Mapped[str | None] = mapped_column(String(1000))
    sent_copy_attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_copy_not_before: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_copy_lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_copy_error: Mapped[str | None] = mapped_column(String(1000))
    attempt_stage: Mapped[str | None] = mapped_column(String(20))
    attempt_stage_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempt_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    attempt_history: Mapped[list] = mapped_column(JSON, default=list)
    uncertain_checks: Mapped[int] = mapped_column(Integer, default=0)
    uncertain_check_after: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OAuthProvider(Base):
    """An OAuth2 sign-in provider set up by an admin (Microsoft Entra ID, Google, or any
    standards-compliant server): its app registration. The client secret is encrypted in
    ``secrets`` like mailbox passwords."""

    __tablename__ = "tricoma_mail_oauth_provider"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # "microsoft", "google" or "standard"
    tenant: Mapped[str] = mapped_column(String(200), default="")
    client_id: Mapped[str] = mapped_column(String(300))
    authority: Mapped[str] = mapped_column(String(500), default="")  # Microsoft: the login host
    authorize_url: Mapped[str] = mapped_column(String(500), default="")
    token_url: Mapped[str] = mapped_column(String(500), default="")
    scopes: Mapped[str] = mapped_column(Text, default="")  # delegated sign-in
    app_scopes: Mapped[str] = mapped_column(Text, default="")  # app-only (client credentials)
    secrets: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class SystemMailSettings(Base):
    """The SMTP settings of system mail (Mailversand): one row, id 1. The password is encrypted."""

    __tablename__ = "tricoma_mail_system_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host: Mapped[str] = mapped_column(String(253), default="")
    port: Mapped[int] = mapped_column(Integer, default=587)
    security: Mapped[str] = mapped_column(String(10), default="starttls")
    username: Mapped[str] = mapped_column(String(254), default="")
    secrets: Mapped[str] = mapped_column(Text, default="")
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_address: Mapped[str] = mapped_column(String(254), default="")
    reply_to: Mapped[str] = mapped_column(String(254), default="")
    last_test_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_test_result: Mapped[str | None] = mapped_column(String(1000))


class AllowedMailServer(Base):
    """One entry of the admin's allow list of mail server addresses (``mailboxes/address_policy``):
    an address, a network or a host name, with an optional port or port range."""

    __tablename__ = "tricoma_mail_allowed_server"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntry(Base):
    """Who did what to a mailbox's rights, and every send on behalf and admin read."""

    __tablename__ = "tricoma_mail_audit"
    __table_args__ = (
        Index("ix_tricoma_mail_audit_mailbox_at", "mailbox_id", "at"),
        Index("ix_tricoma_mail_audit_actor_action_at", "actor", "action", "at"),  # the hourly Test limit
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))  # a host user id, or "cli"
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))  # grant, revoke, send_on_behalf, admin_read
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class RecordLink(Base):
    """A mail linked to a business record (S3): sent from it, or a reply to such a mail.

    Mail is identified by its Message-ID, so the outbox item, the Sent copy and the synced
    message are one mail. The link stays when the record is deleted.
    """

    __tablename__ = "tricoma_mail_record_link"
    __table_args__ = (
        UniqueConstraint("reference", "message_id", "mailbox_id", name="uq_tricoma_mail_record_link_mail"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(200), index=True)
    mailbox_id: Mapped[int | None] = mapped_column(Integer, index=True)
    message_id: Mapped[str] = mapped_column(String(300), index=True)
    direction: Mapped[str] = mapped_column(String(10))  # "sent" or "received"
    outbox_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("tricoma_mail_outbox.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(Text, default="")
    counterpart: Mapped[str] = mapped_column(Text, default="")  # recipients, or the reply's sender
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OptOut(Base):
    """A recipient who unsubscribed from one list of mail that apps send through a mailbox
    (RFC 8058 one-click): later bulk sends to that list leave the address out."""

    __tablename__ = "tricoma_mail_opt_out"
    __table_args__ = (UniqueConstraint("mailbox_id", "list_key", "address",
                                       name="uq_tricoma_mail_opt_out_mailbox_id_list_key_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(Integer, ForeignKey("tricoma_mail_mailbox.id", ondelete="CASCADE"))
    list_key: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(320))  # lower case
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FrozenAttachment(Base):
    """An attachment an app made for the compose dialog, kept byte for byte with its hash, so
    what the user saw is what is sent."""

    __tablename__ = "tricoma_mail_frozen_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class MailEvent(Base):
    """Something that happened to mail (received, sent, failed, uncertain, deleted, moved,
    flags changed), written in the same transaction as the change itself and delivered to the
    ``event`` hook (and to ``message_sent``/``message_received``) after the commit.

    ``delivered_at`` is set once every hook has been called, so an event whose process stopped
    in between stays pending and is delivered by the next delivery run. A delivering process
    holds the event with a lease (``lease_owner``, ``lease_until``) so that two processes do not
    deliver it at the same time.
    """

    __tablename__ = "tricoma_mail_event"
    __table_args__ = (Index("ix_tricoma_mail_event_pending", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(30))
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ArchiveEntry(Base):
    """One mail in the archive (GoBD journal): written once when the mail enters the system,
    never changed or deleted (the database refuses it, see ``archive/guard.py``). Each entry's
    hash covers its fields and the previous entry's hash, so the chain proves completeness and
    order. The bytes live in the archive storage under ``sha256``."""

    __tablename__ = "tricoma_mail_archive_entry"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "sha256", name="uq_tricoma_mail_archive_entry_mailbox_sha256"),
        UniqueConstraint("prev_hash", name="uq_tricoma_mail_archive_entry_prev_hash"),  # no fork
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    archived_at: Mapped[datetime] = mapped_column(UtcDateTime())
    mailbox_id: Mapped[int | None] = mapped_column(Integer)  # no foreign key: it outlives the mailbox
    mailbox_address: Mapped[str] = mapped_column(String(320), default="")
    folder: Mapped[str] = mapped_column(String(500), default="")
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    source: Mapped[str] = mapped_column(String(20))  # "sync" or "outbox"
    message_id: Mapped[str] = mapped_column(String(998), default="", index=True)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)


class ArchiveBlob(Base):
    """The compressed bytes of archived mail in the database storage, one row per SHA-256 of
    the original bytes (so a mail archived in two mailboxes is stored once)."""

    __tablename__ = "tricoma_mail_archive_blob"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)


class ArchiveText(Base):
    """The searchable text of an archive entry (rebuildable from the entry's bytes)."""

    __tablename__ = "tricoma_mail_archive_text"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_archive_entry.id", name="fk_tricoma_mail_archive_text_entry"), primary_key=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    words: Mapped[str] = mapped_column(Text, default="")  # normalised headers and body, for search


class ArchivePurgeRun(Base):
    """An explicit purge run: who ran it, when, and how much it removed (append-only)."""

    __tablename__ = "tricoma_mail_archive_purge_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    entries: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")


class ArchivePurge(Base):
    """An entry whose bytes a purge run removed after its retention ended. The entry itself
    stays, so the chain still verifies (append-only)."""

    __tablename__ = "tricoma_mail_archive_purge"

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_archive_entry.id", name="fk_tricoma_mail_archive_purge_entry"), primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("tricoma_mail_archive_purge_run.id", name="fk_tricoma_mail_archive_purge_run"), index=True)
    retained_until: Mapped[datetime] = mapped_column(UtcDateTime())


class ArchiveHold(Base):
    """A legal hold: while it is not released, no entry of its mailbox (or of any mailbox when
    ``mailbox_id`` is empty) is purged, whatever its retention."""

    __tablename__ = "tricoma_mail_archive_hold"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ArchiveRetentionRule(Base):
    """Years the archived mail of one mailbox is kept (instead of the configured default)."""

    __tablename__ = "tricoma_mail_archive_retention"

    mailbox_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    years: Mapped[int] = mapped_column(Integer)


class ArchiveAuditor(Base):
    """A user or group in the auditor role: may search and export the archive, nothing else."""

    __tablename__ = "tricoma_mail_archive_auditor"
    __table_args__ = (UniqueConstraint("principal_type", "principal_id",
                                       name="uq_tricoma_mail_archive_auditor_principal"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal_type: Mapped[str] = mapped_column(String(10))  # "user" or "group"
    principal_id: Mapped[str] = mapped_column(String(200))
    granted_by: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ArchiveChainLock(Base):
    """One row every journal write updates first: it makes appends to the hash chain take turns
    (a row lock on PostgreSQL, the write lock on SQLite), so two entries never share a parent."""

    __tablename__ = "tricoma_mail_archive_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appends: Mapped[int] = mapped_column(BigInteger, default=0)


class JobRun(Base):
    """One background job (a sync of a mailbox, an outbox run, a clean-up) from the moment it is
    queued until it ends: the ledger that makes a periodic job run once per period however many
    schedulers start (``key`` is unique), lets a duplicate delivery of the same job find it
    taken, and shows admins what is queued, running and failed. See ``jobs/``."""

    __tablename__ = "tricoma_mail_job"
    __table_args__ = (Index("ix_tricoma_mail_job_state", "state", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    args: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued|running|retry|done|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000))


class StoredUpload(Base):
    """An attachment uploaded while a mail is written, kept until the mail is sent or saved
    (``mail/upload_store.py``): in the database, so every web process of every host sees it."""

    __tablename__ = "tricoma_mail_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    space: Mapped[str] = mapped_column(String(64), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TrustedSender(Base):
    """A sender whose remote images a user always shows ("always show images from this
    sender"), one row per user and address."""

    __tablename__ = "tricoma_mail_trusted_sender"
    __table_args__ = (UniqueConstraint("user_id", "address", name="uq_tricoma_mail_trusted_sender_user_address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Notice(Base):
    """One notice for one user ("Anna mentioned you in a note", "assigned to you"): its text is a
    msgid and values, translated when shown, so each reader sees it in their own language."""

    __tablename__ = "tricoma_mail_notice"
    __table_args__ = (Index("ix_tricoma_mail_notice_user_read", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    text_key: Mapped[str] = mapped_column(String(500))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    link: Mapped[str | None] = mapped_column(String(1000))
    # The mailbox the notice is about (None: none): it is shown only while its reader may read it.
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MailboxTag(Base):
    """A tag of one mailbox: an IMAP keyword with a name and a colour (mail/tags.py). The
    keyword is what the server stores on a message, so other clients (Thunderbird's ``$label1``
    … ``$label5``) see the same tags; an empty ``name`` shows the built-in name of a Thunderbird
    label in the reader's language."""

    __tablename__ = "tricoma_mail_tag"
    __table_args__ = (UniqueConstraint("mailbox_id", "keyword", name="uq_tricoma_mail_tag_keyword"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("tricoma_mail_mailbox.id", ondelete="CASCADE"), index=True)
    keyword: Mapped[str] = mapped_column(String(100))  # lower case: keywords match case-insensitively
    name: Mapped[str] = mapped_column(String(100), default="")
    colour: Mapped[str] = mapped_column(String(7))  # "#rrggbb"
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class TeamNote(Base):
    """An internal note on a conversation of a shared mailbox (team/notes.py): kept here only,
    never sent by mail and never stored on the IMAP server. ``mentions`` holds the host user ids
    the note names with ``@login`` (each may read the mailbox and got a notice)."""

    __tablename__ = "tricoma_mail_team_note"
    __table_args__ = (Index("ix_tricoma_mail_team_note_thread_id", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("tricoma_mail_team_thread.id", ondelete="CASCADE",
                                                      name="fk_tricoma_mail_team_note_thread_id"))
    mailbox_id: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    mentions: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ReplyTemplate(Base):
    """A reply template or quick reply (mail/reply_templates.py): of a mailbox (``mailbox_id``)
    or personal (``owner_id``), in one language, with ``{{ variables }}`` that the linked
    record's app offers (the ``template_fields`` hook). A quick reply has no subject and is put
    in at the cursor; a template fills subject and text."""

    __tablename__ = "tricoma_mail_reply_template"
    __table_args__ = (Index("ix_tricoma_mail_reply_template_mailbox_id", "mailbox_id"),
                      Index("ix_tricoma_mail_reply_template_owner_id", "owner_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("tricoma_mail_mailbox.id", ondelete="CASCADE",
                                                              name="fk_tricoma_mail_reply_template_mailbox_id"))
    owner_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="template")  # "template" or "quick_reply"
    name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="de")
    subject: Mapped[str] = mapped_column(String(998), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))
