"""The portal's tables.

The first four (``domains``, ``mailboxes``, ``aliases``, ``app_passwords``) are read live by the
hosting stack: Postfix's sqlite:/pgsql: maps and Dovecot's sql passdb/userdb query them (see
``../shared/notes/hosting-stack.md``, "SQL schema"). Their names, the note's columns and ``active``
as an integer 1/0 are a contract with that stack; the portal adds its own columns beside them.
Postfix and Dovecot only see rows with ``active = 1``.

The others (tenants, users, API tokens, domain orders) are the portal's own.

Importable without Flask: ``Base.metadata.create_all(engine)`` builds the schema for a test.
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Ids: INTEGER PRIMARY KEY on SQLite (the rowid), BIGINT identity on PostgreSQL, as in the note.
RowId = BigInteger().with_variant(Integer(), "sqlite")
# The note's `active` flags: an integer both databases compare with `= 1`.
Flag = SmallInteger().with_variant(Integer(), "sqlite")

DEFAULT_QUOTA_BYTES = 1024 * 1024 * 1024


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A point in time stored in UTC and read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# ---------------------------------------------------------------------------------------------
# Customers and their people


class Tenant(Base):
    """A customer of the hoster."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(8), default="de")
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )


ROLE_CUSTOMER_ADMIN = "customer_admin"
ROLE_CUSTOMER_USER = "customer_user"
ROLE_OPERATOR = "operator"
ROLES = (ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER, ROLE_OPERATOR)


class User(Base):
    """Someone who signs in to the portal: a customer's admin or user, or the hoster's operator
    (no tenant)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    language: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[int] = mapped_column(Flag, default=1)
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )

    tenant: Mapped[Tenant | None] = relationship()

    # what Flask-Login asks of a user object
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_operator(self) -> bool:
        return self.role == ROLE_OPERATOR

    @property
    def is_customer_admin(self) -> bool:
        return self.role == ROLE_CUSTOMER_ADMIN


# ---------------------------------------------------------------------------------------------
# The hosting stack's tables (contract columns first, then the portal's own)

DOMAIN_PENDING = "pending"  # waiting for the operator (order/transfer) or the TXT proof
DOMAIN_ACTIVE = "active"
DOMAIN_REJECTED = "rejected"

SOURCE_REGISTER = "register"
SOURCE_TRANSFER = "transfer"
SOURCE_EXTERNAL = "external"  # DNS stays elsewhere, proven by a TXT token


class Domain(Base):
    __tablename__ = "domains"

    # contract columns
    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    # the portal sets 1 once the domain is active; a raw INSERT (a stack test) gets the note's 1
    active: Mapped[int] = mapped_column(Flag, default=0, server_default="1")
    # the portal's columns
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(
        String(20), default=DOMAIN_PENDING, server_default=DOMAIN_ACTIVE
    )
    source: Mapped[str] = mapped_column(
        String(20), default=SOURCE_REGISTER, server_default=SOURCE_EXTERNAL
    )
    verification_token: Mapped[str | None] = mapped_column(String(100))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dkim_selector: Mapped[str | None] = mapped_column(String(63))
    dkim_private_key: Mapped[str | None] = mapped_column(Text)  # Fernet-encrypted PEM
    dkim_public_key: Mapped[str | None] = mapped_column(Text)  # base64 for the p= tag
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )

    tenant: Mapped[Tenant] = relationship()


MAILBOX_PROVISIONING = "provisioning"
MAILBOX_ACTIVE = "active"
MAILBOX_FAILED = "failed"
MAILBOX_DELETING = "deleting"  # grace period after its last address went; delete_after is set


class Mailbox(Base):
    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("domain", "local_part"),)

    # contract columns
    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    domain: Mapped[str] = mapped_column(
        Text, ForeignKey("domains.name", onupdate="CASCADE", ondelete="CASCADE")
    )
    local_part: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    quota: Mapped[int] = mapped_column(
        BigInteger, default=DEFAULT_QUOTA_BYTES, server_default=str(DEFAULT_QUOTA_BYTES)
    )
    # provisioning sets 1; a raw INSERT (a stack test) gets the note's 1
    active: Mapped[int] = mapped_column(Flag, default=0, server_default="1")
    # the portal's columns
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    state: Mapped[str] = mapped_column(
        String(20), default=MAILBOX_PROVISIONING, server_default=MAILBOX_ACTIVE
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delete_after: Mapped[datetime | None] = mapped_column(UtcDateTime)

    tenant: Mapped[Tenant] = relationship()
    aliases: Mapped[list[Alias]] = relationship(
        back_populates="mailbox", order_by="Alias.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )
    app_passwords: Mapped[list[AppPassword]] = relationship(
        back_populates="mailbox", order_by="AppPassword.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def login(self) -> str:
        return f"{self.local_part}@{self.domain}"


class Alias(Base):
    """An address delivered to a mailbox. The mailbox's login address is its first alias."""

    __tablename__ = "aliases"
    # the note has UNIQUE (address, mailbox_id); an address belongs to one mailbox, so the portal
    # makes the address alone unique (which implies the note's constraint)
    __table_args__ = (
        UniqueConstraint("address"),
        Index("aliases_address", "address"),
    )

    # contract columns
    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    address: Mapped[str] = mapped_column(Text)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    active: Mapped[int] = mapped_column(Flag, default=1, server_default="1")
    # the portal's columns
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )

    mailbox: Mapped[Mailbox] = relationship(back_populates="aliases")


class AppPassword(Base):
    """A second credential of a mailbox: ``selector + secret``, one per integration (API token)
    or made by hand. Dovecot picks the row by the first 8 characters of the password."""

    __tablename__ = "app_passwords"
    __table_args__ = (Index("app_passwords_mailbox", "mailbox_id"),)

    # contract columns
    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(Text)
    selector: Mapped[str] = mapped_column(Text, unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[int] = mapped_column(Flag, default=1, server_default="1")
    # the portal's columns
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    # the full app password, Fernet-encrypted, so the integration can read it again by API
    secret_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )

    mailbox: Mapped[Mailbox] = relationship(back_populates="app_passwords")


# ---------------------------------------------------------------------------------------------
# The portal's own tables


class ApiToken(Base):
    """A customer's read-only API token for one integration (e.g. its ERP). Only its hash is
    stored; ``prefix`` lets the page tell tokens apart."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


ORDER_REQUESTED = "requested"
ORDER_IN_PROGRESS = "in_progress"
ORDER_ACTIVE = "active"
ORDER_REJECTED = "rejected"
ORDER_STATES = (ORDER_REQUESTED, ORDER_IN_PROGRESS, ORDER_ACTIVE, ORDER_REJECTED)


class DomainOrder(Base):
    """A registration or transfer request, handled by a Registrar (here: the operator queue)."""

    __tablename__ = "domain_orders"

    id: Mapped[int] = mapped_column(RowId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    domain_id: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # SOURCE_REGISTER or SOURCE_TRANSFER
    state: Mapped[str] = mapped_column(String(20), default=ORDER_REQUESTED)
    reason: Mapped[str | None] = mapped_column(Text)
    auth_code_encrypted: Mapped[str | None] = mapped_column(Text)  # Fernet; never shown again
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    domain: Mapped[Domain] = relationship()
    tenant: Mapped[Tenant] = relationship()
