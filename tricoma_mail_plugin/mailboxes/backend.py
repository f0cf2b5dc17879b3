"""The mailbox backend contract: what core asks of any mail server.

A backend plugin (v1 external IMAP, v2 hosted, a third party's JMAP…) subclasses
:class:`MailboxBackend` and returns the class from ``register_backends``. Core never branches
on a backend's kind; everything that differs lives behind these methods. Library errors are
translated into core's exception tree (:mod:`tricoma_mail_plugin.errors`) inside the backend.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Iterable, Iterator, Protocol, Sequence

from .address_policy import PUBLIC_ONLY, AddressPolicy
from .folders import Folder

SECURITY_MODES: tuple[str, ...] = ("tls", "starttls", "none")


@dataclass(frozen=True)
class ServerSettings:
    """How to reach and log in to one server (IMAP or SMTP). ``password`` never appears in repr."""

    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (plain; loopback only)
    username: str
    password: str = field(default="", repr=False)
    # "password"; "oauth2" (log in with a token from ``token_source``, by XOAUTH2 or OAUTHBEARER,
    # see ``mailboxes/sasl.py``); "xoauth2" (the same, ``password`` holding the access token).
    auth: str = "password"
    timeout: float = 20.0
    ca_file: str | None = None  # extra trusted certificates (a private CA, a test server)
    # Which addresses a connection may go to: open every socket with ``policy.connect``.
    policy: AddressPolicy = field(default=PUBLIC_ONLY, repr=False, compare=False)
    token_source: TokenSource | None = field(default=None, repr=False, compare=False)


class TokenSource(Protocol):
    """Where an OAuth2 login gets its access token. ``get(force_refresh=True)`` asks the
    provider for a new one (after the server refused the last); it raises ``SignInRequired``
    when only a person signing in again can help, ``OAuthFailure`` when the provider refused."""

    def get(self, force_refresh: bool = False) -> str: ...


@dataclass(frozen=True)
class MailboxSettings:
    """Everything a backend needs to serve one mailbox."""

    imap: ServerSettings
    smtp: ServerSettings | None
    sender_address: str = ""


@dataclass(frozen=True)
class DiscoveredServers:
    """Server settings found for an e-mail address, to pre-fill a mailbox's configuration."""

    imap_host: str
    imap_port: int
    imap_security: str
    smtp_host: str | None
    smtp_port: int | None
    smtp_security: str | None
    username: str
    source: str  # e.g. "preset", "autoconfig", "srv", "mx", "guess"
    provider_name: str | None = None
    notes: tuple[str, ...] = ()  # already translated for the current user
    provider_files_sent_mail: bool = False
    oauth_provider_kind: str | None = None  # "microsoft" or "google": propose OAuth2 sign-in


@dataclass(frozen=True)
class TestStep:
    """One step of a connection test.

    ``code`` is a stable, typed result (``"ok"``, ``"cannot_resolve"``, ``"connection_refused"``,
    ``"timeout"``, ``"certificate_invalid"``, ``"tls_to_plain_port"``, ``"tls_failed"``,
    ``"wrong_password"``, ``"auth_method_not_offered"``, ``"not_imap_server"``,
    ``"not_smtp_server"``, ``"starttls_not_offered"``, ``"plain_not_allowed"``,
    ``"protocol_error"``, ``"skipped"``); ``message`` is for the user, in their language.
    """

    protocol: str  # "imap" or "smtp"
    step: str  # "resolve", "connect", "tls", "greeting", "login", "capabilities", "folders", "ehlo", "starttls", "auth"
    code: str
    message: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.code == "ok"


@dataclass(frozen=True)
class FolderStatus:
    """What selecting a folder tells: the sync checkpoint values."""

    name: str
    uidvalidity: int
    uidnext: int
    messages: int
    highestmodseq: int | None = None  # None when the server has no CONDSTORE
    # The flags the server stores for good in this folder (PERMANENTFLAGS; ``\\*``: any new
    # keyword too); None when the server did not say, which RFC 3501 reads as "all of them".
    permanent_flags: tuple[str, ...] | None = None


@dataclass(frozen=True)
class MessageSummary:
    """A message as the local cache keeps it: envelope, flags and a preview, no body."""

    uid: int
    flags: tuple[str, ...]
    size: int
    internal_date: datetime | None
    from_: str
    to: str
    cc: str
    subject: str
    date: datetime | None
    message_id: str
    in_reply_to: str
    references: str
    has_attachment: bool
    preview: str
    modseq: int | None = None


@dataclass(frozen=True)
class FetchedBatch:
    """One batch of :meth:`MailboxBackend.fetch_summary_batches`: the UIDs asked for (every one
    of them is settled: fetched here or gone from the server) and what came back."""

    uids: tuple[int, ...]
    summaries: tuple[MessageSummary, ...]
    raws: tuple[bytes | None, ...] | None = None  # each summary's full bytes, when asked for


@dataclass(frozen=True)
class FlagChange:
    uid: int
    flags: tuple[str, ...]
    modseq: int | None = None


@dataclass(frozen=True)
class Changes:
    """What changed in a folder since a checkpoint: new flags and expunged UIDs."""

    flag_changes: tuple[FlagChange, ...]
    vanished: tuple[int, ...] | None  # None: the server cannot say, the caller diffs UIDs


@dataclass(frozen=True)
class RecipientResult:
    address: str
    accepted: bool
    code: int
    message: str


class MailboxBackend(abc.ABC):
    """One connection to one mailbox. Open with ``with backend:``; not thread-safe."""

    kind: ClassVar[str]
    #: Shown where the admin chooses a backend.
    label: ClassVar[str]

    def __init__(self, settings: MailboxSettings) -> None:
        self.settings = settings

    @classmethod
    def discover(cls, email: str) -> DiscoveredServers | None:
        """Server settings for ``email`` (presets, autoconfig, DNS…), or ``None``.

        Backends that cannot discover anything keep this default.
        """
        return None

    def __enter__(self) -> "MailboxBackend":
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- connection --------------------------------------------------------------------------
    @abc.abstractmethod
    def test_connection(self) -> list[TestStep]:
        """Check IMAP and SMTP step by step; never raises for a server's failure."""

    @abc.abstractmethod
    def connect(self) -> None:
        """Connect and log in to the mail store."""

    @abc.abstractmethod
    def close(self) -> None:
        """Log out and close; safe to call twice."""

    @abc.abstractmethod
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities in upper case (e.g. ``"CONDSTORE"``, ``"MOVE"``)."""

    # -- folders -----------------------------------------------------------------------------
    @abc.abstractmethod
    def list_folders(self, with_counts: bool = False) -> list[Folder]:
        """Every folder with delimiter, flags and special use (and counts if asked)."""

    @abc.abstractmethod
    def create_folder(self, name: str) -> None: ...

    @abc.abstractmethod
    def rename_folder(self, old: str, new: str) -> None: ...

    @abc.abstractmethod
    def delete_folder(self, name: str) -> None: ...

    # -- messages ----------------------------------------------------------------------------
    @abc.abstractmethod
    def select(self, folder: str, readonly: bool = True) -> FolderStatus:
        """Select ``folder`` and return its checkpoint values."""

    @abc.abstractmethod
    def search_uids(self, start: int = 1) -> list[int]:
        """Every UID of the selected folder from ``start`` up, ascending."""

    @abc.abstractmethod
    def search_header(self, name: str, value: str) -> list[int]:
        """UIDs in the selected folder whose header ``name`` contains ``value``."""

    @abc.abstractmethod
    def fetch_summaries(self, uids: Sequence[int]) -> Iterator[MessageSummary]:
        """Summaries of ``uids`` in the selected folder (missing UIDs are skipped)."""

    def fetch_summaries_with_bytes(self, uids: Sequence[int]) -> Iterator[tuple[MessageSummary, bytes | None]]:
        """Summaries of ``uids`` with each message's raw RFC 5322 bytes, for the archive's
        journal. The default asks for the bytes one message at a time; a backend that can
        fetch both in one round trip overrides it."""
        for summary in self.fetch_summaries(uids):
            yield summary, self.fetch_message(summary.uid)

    def fetch_summary_batches(self, uids: Sequence[int], batch_size: int = 500,
                              with_bytes: bool = False) -> Iterator[FetchedBatch]:
        """Summaries of ``uids`` in ascending batches of ``batch_size`` (with each message's
        full bytes when ``with_bytes``), for a sync that stores batch by batch. The default asks
        for one batch after the other; a backend that can overlap the server's work with the
        caller's (IMAP pipelining) overrides it."""
        ordered = sorted(set(uids))
        for offset in range(0, len(ordered), batch_size):
            batch = ordered[offset:offset + batch_size]
            if with_bytes:
                pairs = list(self.fetch_summaries_with_bytes(batch))
                yield FetchedBatch(tuple(batch), tuple(s for s, _raw in pairs), tuple(raw for _s, raw in pairs))
            else:
                yield FetchedBatch(tuple(batch), tuple(self.fetch_summaries(batch)))

    @abc.abstractmethod
    def changes_since(self, status: FolderStatus, modseq: int | None, known_uids: Sequence[int]) -> Changes:
        """Flag changes and expunges since ``modseq`` (CONDSTORE/QRESYNC), or a full flag scan
        of ``known_uids`` when the server has no CONDSTORE."""

    @abc.abstractmethod
    def fetch_partial(self, uids: Sequence[int], max_bytes: int) -> dict[int, bytes]:
        """The first ``max_bytes`` of each message (for the search index)."""

    @abc.abstractmethod
    def search_text(self, text: str) -> list[int]:
        """UIDs in the selected folder whose headers or body contain ``text`` (server search)."""

    @abc.abstractmethod
    def fetch_message(self, uid: int) -> bytes | None:
        """The raw RFC 5322 bytes of one message (``None`` if it is gone)."""

    def fetch_messages(self, uids: Sequence[int]) -> dict[int, bytes]:
        """The raw bytes of several messages of the selected folder (gone ones are left out),
        for prefetching. The default asks one at a time; a backend that can fetch them in one
        round trip overrides it."""
        found = {}
        for uid in uids:
            raw = self.fetch_message(uid)
            if raw is not None:
                found[uid] = raw
        return found

    @abc.abstractmethod
    def set_flags(self, uids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()) -> None: ...

    @abc.abstractmethod
    def copy(self, uids: Sequence[int], target: str) -> dict[int, int]:
        """Copy to ``target``; returns old UID → new UID where the server tells (UIDPLUS)."""

    @abc.abstractmethod
    def move(self, uids: Sequence[int], target: str) -> dict[int, int]:
        """Move to ``target`` (UID MOVE, else copy + flag + UID EXPUNGE of exactly ``uids``)."""

    @abc.abstractmethod
    def expunge(self, uids: Sequence[int]) -> None:
        """Delete exactly ``uids`` for good (``\\Deleted`` + UID EXPUNGE); never a bare EXPUNGE."""

    @abc.abstractmethod
    def append(self, folder: str, message: bytes, flags: Iterable[str] = (),
               internal_date: datetime | None = None) -> int | None:
        """Store ``message`` in ``folder``; returns its UID where the server tells (UIDPLUS)."""

    # -- sending -----------------------------------------------------------------------------
    @abc.abstractmethod
    def submit(self, sender: str, recipients: Sequence[str], message: bytes) -> list[RecipientResult]:
        """Hand ``message`` to the SMTP server; one result per recipient."""

    def submission(self) -> "Submission":
        """A session for sending several messages in a row. The default opens a connection per
        message; a backend that can keep one open (SMTP) returns a session that does."""
        return _OneConnectionPerMessage(self)


class Submission(Protocol):
    """A sending session. One that sets ``reports_progress = True`` accepts a ``progress``
    keyword in ``submit`` and calls it with ``"data"`` before the DATA command and with
    ``"final_dot"`` just before the message is complete (an exception from it stops the
    transaction before the server can accept). The outbox retries a worker that died before
    ``"final_dot"`` and treats a death in a session without progress reports as uncertain."""

    def submit(self, sender: str, recipients: Sequence[str], message: bytes) -> list[RecipientResult]: ...

    def close(self) -> None: ...


class _OneConnectionPerMessage:
    def __init__(self, backend: MailboxBackend) -> None:
        self._backend = backend

    def submit(self, sender: str, recipients: Sequence[str], message: bytes) -> list[RecipientResult]:
        return self._backend.submit(sender, recipients, message)

    def close(self) -> None:
        pass
