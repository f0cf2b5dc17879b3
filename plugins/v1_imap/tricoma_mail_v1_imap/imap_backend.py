"""The external (v1) mailbox backend: IMAP through imapclient, SMTP submission through smtplib."""
from __future__ import annotations

import imaplib
import re
from collections import deque
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Iterator, Sequence

from imapclient import IMAPClient
from imapclient import exceptions as imap_exceptions

from tricoma_mail_plugin import (
    CapabilityError,
    Changes,
    DiscoveredServers,
    FetchedBatch,
    FlagChange,
    Folder,
    FolderStatus,
    MailboxBackend,
    MailboxConnectionError,
    MailError,
    MessageSummary,
    RecipientResult,
    SmtpSession,
    TestStep,
    imap_mechanisms,
    is_loopback,
    submit_smtp,
    tls_context,
    token_login,
    uses_token,
)

from . import connection_test, parse_workers
from .checked_imap import CheckedIMAPClient, oauth_login
from .discovery_settings import discovery_for
from .errors import translated_imap_errors
from .fetch_parser import FetchParseError, merge_fetched, read_answer, read_answer_apart, read_fetch
from .i18n import lazy_gettext as _l
from .summaries import fetch_items, stored_flags, summary_from_fetch

BATCH_SIZE = 500
SPECIAL_USE_FLAGS = ("\\Sent", "\\Trash", "\\Drafts", "\\Junk", "\\Archive", "\\All", "\\Flagged")
_UNSELECTABLE = frozenset({"\\noselect", "\\nonexistent"})  # LIST flags of a name that holds no mail (RFC 5258)
_VANISHED = re.compile(rb"^\s*(?:\(EARLIER\)\s*)?([0-9:,]+)\s*$")
_ESEARCH_ALL = re.compile(rb"(?:^|\s)ALL\s+([0-9:,]+)", re.IGNORECASE)


def compress_uids(uids: Iterable[int]) -> list[str]:
    """Sorted UIDs as IMAP ranges (``1:5,7,9:12``), split so no command gets too long."""
    ranges: list[str] = []
    ordered = sorted(set(uids))
    start = previous = None
    for uid in ordered:
        if start is None:
            start = previous = uid
        elif uid == previous + 1:
            previous = uid
        else:
            ranges.append(f"{start}:{previous}" if start != previous else str(start))
            start = previous = uid
    if start is not None:
        ranges.append(f"{start}:{previous}" if start != previous else str(start))
    chunks, current, length = [], [], 0
    for item in ranges:
        if current and length + len(item) > 8000:
            chunks.append(",".join(current))
            current, length = [], 0
        current.append(item)
        length += len(item) + 1
    if current:
        chunks.append(",".join(current))
    return chunks


def parse_uid_set(text: bytes) -> list[int]:
    uids: list[int] = []
    for part in text.split(b","):
        if b":" in part:
            low, high = sorted(int(x) for x in part.split(b":"))
            uids.extend(range(low, high + 1))
        elif part.strip():
            uids.append(int(part))
    return uids


class ImapBackend(MailboxBackend):
    kind = "imap"
    label = _l("External mailbox (IMAP/SMTP)")

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self._client: IMAPClient | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._qresync = False

    @classmethod
    def discover(cls, email: str) -> DiscoveredServers | None:
        return discovery_for(email)

    # -- connection ------------------------------------------------------------------------
    def test_connection(self) -> list[TestStep]:
        return connection_test.run(self.settings)

    def connect(self) -> None:
        if self._client is not None:
            return
        imap = self.settings.imap
        if imap.security == "none" and not is_loopback(imap.host):
            raise MailboxConnectionError(str(_l("Unencrypted connections are allowed only to this machine.")))
        with translated_imap_errors():
            context = tls_context(imap.ca_file)
            client = CheckedIMAPClient(imap, context)
            try:
                if imap.security == "starttls":
                    client.starttls(context)
                if uses_token(imap):
                    token_login(imap, imap_mechanisms(client.capabilities()),
                                lambda mechanism, token: oauth_login(client, mechanism, imap.username, token),
                                (imap_exceptions.LoginError,))
                else:
                    client.login(imap.username, imap.password)
                client.normalise_times = False
                self._capabilities = frozenset(
                    c.decode().upper() if isinstance(c, bytes) else str(c).upper()
                    for c in client.capabilities()
                )
                if "QRESYNC" in self._capabilities:
                    client.enable("QRESYNC")
                    self._qresync = True
            except BaseException:
                _quietly_close(client)
                raise
        self._client = client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            _quietly_close(client)

    def capabilities(self) -> frozenset[str]:
        return self._capabilities

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise MailboxConnectionError("not connected")
        return self._client

    # -- folders ---------------------------------------------------------------------------
    def list_folders(self, with_counts: bool = False) -> list[Folder]:
        with translated_imap_errors():
            listed = self.client.list_folders()
            folders = []
            for flags, delimiter, name in listed:
                flag_names = tuple(_text(flag) for flag in flags)
                special = next((f for f in flag_names if f in SPECIAL_USE_FLAGS and f != "\\Flagged"), None)
                messages = unseen = None
                if with_counts and not any(f.lower() in _UNSELECTABLE for f in flag_names):
                    try:
                        status = self.client.folder_status(name, ["MESSAGES", "UNSEEN"])
                    except imaplib.IMAP4.abort:  # the connection: nothing more to ask it
                        raise
                    except imaplib.IMAP4.error:  # gone since the LIST, or refused: no counts, the list stays
                        status = {}
                    messages, unseen = status.get(b"MESSAGES"), status.get(b"UNSEEN")
                folders.append(Folder(name, _text(delimiter) if delimiter else None, flag_names,
                                      special, messages, unseen))
        return folders

    def create_folder(self, name: str) -> None:
        with translated_imap_errors(name):
            self.client.create_folder(name)
            self.client.subscribe_folder(name)

    def rename_folder(self, old: str, new: str) -> None:
        with translated_imap_errors(old):
            self.client.rename_folder(old, new)
            self.client.subscribe_folder(new)

    def delete_folder(self, name: str) -> None:
        with translated_imap_errors(name):
            self.client.delete_folder(name)

    # -- messages --------------------------------------------------------------------------
    def select(self, folder: str, readonly: bool = True) -> FolderStatus:
        with translated_imap_errors(folder):
            self.client._imap.untagged_responses.clear()
            response = self.client.select_folder(folder, readonly=readonly)
        modseq = response.get(b"HIGHESTMODSEQ")
        permanent = response.get(b"PERMANENTFLAGS")
        return FolderStatus(
            name=folder,
            uidvalidity=int(response.get(b"UIDVALIDITY", 0)),
            uidnext=int(response.get(b"UIDNEXT", 0)),
            messages=int(response.get(b"EXISTS", 0)),
            highestmodseq=int(modseq) if modseq is not None and "CONDSTORE" in self._capabilities else None,
            permanent_flags=tuple(_text(flag) for flag in permanent) if permanent is not None else None,
        )

    def search_uids(self, start: int = 1) -> list[int]:
        with translated_imap_errors():
            uid_set = f"{max(start, 1)}:*"
            uids = self._search_all(uid_set) if "ESEARCH" in self._capabilities else None
            if uids is None:
                uids = self.client.search(["UID", uid_set])
        # "n:*" also matches the highest UID when every UID is below n.
        return sorted(uid for uid in uids if uid >= start)

    def _search_all(self, uid_set: str) -> list[int] | None:
        """``UID SEARCH RETURN (ALL)`` (ESEARCH, RFC 4731): the server answers with ranges
        (``1:10000``), not with every number (a folder's first sync asks for all of them).
        A plain SEARCH answer is read as well; ``None`` when neither came (the caller searches
        the plain way: a sync must not take a missing answer for an empty folder)."""
        imap = self.client._imap
        imap.untagged_responses.pop("ESEARCH", None)
        imap.untagged_responses.pop("SEARCH", None)
        status, answer = imap._simple_command("UID", "SEARCH", "RETURN", "(ALL)", "UID", uid_set)
        if status != "OK":
            raise imaplib.IMAP4.error(f"UID SEARCH: {_text(answer[-1] if answer else b'')}")
        ranged = imap.untagged_responses.pop("ESEARCH", None)
        plain = imap.untagged_responses.pop("SEARCH", None)
        uids: list[int] = []
        if ranged:
            for line in ranged:
                found = _ESEARCH_ALL.search(_bytes(line))
                if found:  # no ALL: nothing matched
                    uids.extend(parse_uid_set(found.group(1)))
            return uids
        if plain is None:
            return None
        for line in plain:
            uids.extend(int(number) for number in (line or b"").split() if number.isdigit())
        return uids

    def search_header(self, name: str, value: str) -> list[int]:
        with translated_imap_errors():
            return sorted(self.client.search(["HEADER", name, value]))

    def fetch_summaries(self, uids: Sequence[int]) -> Iterator[MessageSummary]:
        for uid, data in self._fetch_summary_items(uids):
            yield summary_from_fetch(uid, data)

    def fetch_summaries_with_bytes(self, uids: Sequence[int]) -> Iterator[tuple[MessageSummary, bytes | None]]:
        """Summaries and full bytes in the same UID FETCH (for the archive's journal)."""
        for uid, data in self._fetch_summary_items(uids, extra=("BODY.PEEK[]",)):
            yield summary_from_fetch(uid, data), data.get(b"BODY[]")

    def _fetch_summary_items(self, uids: Sequence[int], extra: tuple[str, ...] = ()) -> Iterator[tuple[int, dict]]:
        items = self._summary_items(extra)
        ordered = sorted(set(uids))
        for offset in range(0, len(ordered), BATCH_SIZE):
            batch = ordered[offset:offset + BATCH_SIZE]
            response = {}
            with translated_imap_errors():
                for chunk in compress_uids(batch):
                    merge_fetched(response, self._fetch_raw(chunk, items))
            for uid in sorted(response):
                yield uid, response[uid]

    def fetch_summary_batches(self, uids: Sequence[int], batch_size: int = BATCH_SIZE,
                              with_bytes: bool = False) -> Iterator[FetchedBatch]:
        """Pipelined: the UID FETCH of the next batch goes out before a batch is parsed and
        handed to the caller, so the server reads and sends it while the caller parses and
        stores this one (one command in flight ahead, whose answer waits in the socket).

        From ``parse_workers.PROCESSES_FROM`` messages on, answers are read as bytes and parsed
        in worker processes: this process reads the next batch while the workers parse the ones
        before it and the caller stores the one before those. The full bytes (the journal's)
        stay here: the workers get each answer with its messages' bytes cut out."""
        items = self._summary_items(("BODY.PEEK[]",) if with_bytes else ())
        ordered = sorted(set(uids))
        batches = [ordered[offset:offset + batch_size] for offset in range(0, len(ordered), batch_size)]
        if len(ordered) >= parse_workers.PROCESSES_FROM:
            yield from self._batches_parsed_aside(batches, items, with_bytes)
            return
        in_flight: list[bytes] = []
        try:
            with translated_imap_errors():
                if batches:
                    in_flight = self._send_fetch(batches[0], items)
            arrived: dict[int, dict] = {}  # a server may answer a later command's UIDs early
            for index, batch in enumerate(batches):
                with translated_imap_errors():
                    merge_fetched(arrived, self._read_fetch(in_flight))
                    in_flight = self._send_fetch(batches[index + 1], items) if index + 1 < len(batches) else []
                found = [(uid, arrived.pop(uid)) for uid in batch if uid in arrived]
                summaries = tuple(summary_from_fetch(uid, data) for uid, data in found)
                raws = tuple(data.get(b"BODY[]") for _uid, data in found) if with_bytes else None
                yield FetchedBatch(tuple(batch), summaries, raws)
        finally:
            self._drain(in_flight)

    def _batches_parsed_aside(self, batches: list[list[int]], items: str,
                              with_bytes: bool = False) -> Iterator[FetchedBatch]:
        """:meth:`fetch_summary_batches` with the parsing in worker processes (in this one
        while they start): ``WORKERS`` batches are parsed while the next is read."""
        in_flight: list[bytes] = []
        parsing: deque[tuple[list[int], _ReadBatch, Future]] = deque()
        arrived: dict[int, tuple[tuple, bytes | None]] = {}  # a server may answer a later command's UIDs early
        try:
            with translated_imap_errors():
                if batches:
                    in_flight = self._send_fetch(batches[0], items)
            for index, batch in enumerate(batches):
                with translated_imap_errors():
                    read = self._read_answers(in_flight, with_bytes)
                    in_flight = self._send_fetch(batches[index + 1], items) if index + 1 < len(batches) else []
                parsing.append((batch, read, _parse_started(read.answers)))
                if len(parsing) > parse_workers.WORKERS:
                    yield self._parsed_batch(*parsing.popleft(), arrived, with_bytes)
            while parsing:
                yield self._parsed_batch(*parsing.popleft(), arrived, with_bytes)
        finally:
            for _batch, _read, parsed in parsing:
                parsed.cancel()
            self._drain(in_flight)

    @staticmethod
    def _parsed_batch(batch: list[int], read: _ReadBatch, parsed: Future,
                      arrived: dict[int, tuple[tuple, bytes | None]], with_bytes: bool) -> FetchedBatch:
        try:
            try:
                found = parsed.result()
            except BrokenProcessPool as error:  # the worker died (killed, out of memory): parse here
                parse_workers.parse_pool.broken(error)
                found = parse_workers.parse_answers(read.answers)
        except FetchParseError as error:
            raise MailError(str(error)) from error
        for uid, (fields, index) in found.items():
            arrived[uid] = (fields, read.taken[index] if index is not None else None)
        done = [arrived.pop(uid) for uid in batch if uid in arrived]
        summaries = tuple(parse_workers.summary_of(fields) for fields, _raw in done)
        return FetchedBatch(tuple(batch), summaries, tuple(raw for _fields, raw in done) if with_bytes else None)

    def _drain(self, in_flight: list[bytes]) -> None:
        """After a caller stopped early: read the answer still in flight, or drop the connection."""
        if in_flight:
            try:
                self._read_fetch(in_flight)
            except Exception:  # noqa: BLE001 - a broken connection is closed instead
                self.close()

    def _read_answers(self, tags: list[bytes], with_bytes: bool = False) -> _ReadBatch:
        """The answers to the FETCH commands sent under ``tags``, as bytes (parsed elsewhere);
        with the full bytes, those apart (``read_answer_apart``)."""
        imap = self.client._imap
        read = _ReadBatch([], [])
        for tag in tags:
            try:
                answer = read_answer_apart(imap.file, tag, read.taken) if with_bytes else read_answer(imap.file, tag)
                read.answers.append((tag, answer))
            finally:
                imap.tagged_commands.pop(tag, None)
        return read

    def _summary_items(self, extra: tuple[str, ...] = ()) -> str:
        """The FETCH items of a summary (and ``extra`` ones), as the command writes them."""
        return "(" + " ".join([*fetch_items("CONDSTORE" in self._capabilities,
                                            "PREVIEW" in self._capabilities), *extra]) + ")"

    def _send_fetch(self, uids: Sequence[int], items: str) -> list[bytes]:
        imap = self.client._imap
        return [imap._command("UID", "FETCH", chunk, items) for chunk in compress_uids(uids)]

    def _read_fetch(self, tags: list[bytes]) -> dict[int, dict]:
        imap = self.client._imap
        response: dict[int, dict] = {}
        for tag in tags:
            try:
                merge_fetched(response, read_fetch(imap, tag))
            except FetchParseError as error:
                raise MailError(str(error)) from error
            finally:
                imap.tagged_commands.pop(tag, None)
        return response

    def _fetch_raw(self, message_set: str, items: str) -> dict[int, dict]:
        """UID FETCH sent through imaplib, its response read and parsed by our lean reader and
        parser (see fetch_parser): imaplib's general response handling costs more than the
        server needs to answer."""
        imap = self.client._imap
        return self._read_fetch([imap._command("UID", "FETCH", message_set, items)])

    def changes_since(self, status: FolderStatus, modseq: int | None, known_uids: Sequence[int]) -> Changes:
        with translated_imap_errors(status.name):
            if modseq is not None and status.highestmodseq is not None:
                modifiers = [f"CHANGEDSINCE {modseq}"] + (["VANISHED"] if self._qresync else [])
                self.client._imap.untagged_responses.pop("VANISHED", None)
                response = self.client.fetch("1:*", ["UID", "FLAGS"], modifiers=modifiers)
                vanished = None
                if self._qresync:
                    vanished = []
                    for line in self.client._imap.untagged_responses.pop("VANISHED", []):
                        match = _VANISHED.match(_bytes(line))
                        if match:
                            vanished.extend(parse_uid_set(match.group(1)))
            else:
                response = {}
                for chunk in compress_uids(known_uids):
                    response.update(self.client.fetch(chunk, ["UID", "FLAGS"]))
                vanished = None
        changes = tuple(
            FlagChange(uid, stored_flags(data.get(b"FLAGS", ())),
                       int(data[b"MODSEQ"][0]) if data.get(b"MODSEQ") else None)
            for uid, data in sorted(response.items())
        )
        return Changes(changes, tuple(sorted(set(vanished))) if vanished is not None else None)

    def fetch_partial(self, uids: Sequence[int], max_bytes: int) -> dict[int, bytes]:
        item = f"BODY.PEEK[]<0.{int(max_bytes)}>"
        result: dict[int, bytes] = {}
        with translated_imap_errors():
            for chunk in compress_uids(uids):
                for uid, data in self.client.fetch(chunk, [item]).items():
                    value = next((v for k, v in data.items() if isinstance(k, bytes) and k.startswith(b"BODY[]")), b"")
                    result[uid] = value or b""
        return result

    def search_text(self, text: str) -> list[int]:
        with translated_imap_errors():
            return sorted(self.client.search(["TEXT", text], charset="UTF-8"))

    def fetch_message(self, uid: int) -> bytes | None:
        with translated_imap_errors():
            response = self.client.fetch([uid], ["BODY.PEEK[]"])
        data = response.get(uid)
        return data.get(b"BODY[]") if data else None

    def fetch_messages(self, uids: Sequence[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        with translated_imap_errors():
            for chunk in compress_uids(uids):
                for uid, data in self._fetch_raw(chunk, "(UID BODY.PEEK[])").items():
                    if data.get(b"BODY[]") is not None:
                        found[uid] = data[b"BODY[]"]
        return found

    def set_flags(self, uids: Iterable[int], add: Iterable[str] = (), remove: Iterable[str] = ()) -> None:
        uids, add, remove = list(uids), list(add), list(remove)
        if not uids:
            return
        with translated_imap_errors():
            for chunk in compress_uids(uids):
                if add:
                    self.client.add_flags(chunk, add, silent=True)
                if remove:
                    self.client.remove_flags(chunk, remove, silent=True)

    def copy(self, uids: Sequence[int], target: str) -> dict[int, int]:
        mapping: dict[int, int] = {}
        with translated_imap_errors(target):
            for chunk in compress_uids(uids):
                mapping.update(_copyuid(self.client.copy(chunk, target)))
        return mapping

    def move(self, uids: Sequence[int], target: str) -> dict[int, int]:
        if "MOVE" not in self._capabilities:
            mapping = self.copy(uids, target)
            self.expunge(uids)
            return mapping
        mapping: dict[int, int] = {}
        with translated_imap_errors(target):
            for chunk in compress_uids(uids):
                self.client._imap.untagged_responses.pop("OK", None)
                self.client.move(chunk, target)
                for line in self.client._imap.untagged_responses.pop("OK", []):
                    mapping.update(_copyuid_from_text(line))
        return mapping

    def expunge(self, uids: Sequence[int]) -> None:
        if not uids:
            return
        if "UIDPLUS" not in self._capabilities:
            raise CapabilityError(str(_l("The server cannot delete single messages (no UIDPLUS).")))
        with translated_imap_errors():
            for chunk in compress_uids(uids):
                self.client.add_flags(chunk, ["\\Deleted"], silent=True)
                self.client.uid_expunge(chunk)

    def append(self, folder: str, message: bytes, flags: Iterable[str] = (),
               internal_date: datetime | None = None) -> int | None:
        with translated_imap_errors(folder):
            response = self.client.append(folder, message, flags=list(flags), msg_time=internal_date)
        match = re.search(rb"APPENDUID \d+ (\d+)", response or b"")
        return int(match.group(1)) if match else None

    # -- sending ---------------------------------------------------------------------------
    def submit(self, sender: str, recipients: Sequence[str], message: bytes) -> list[RecipientResult]:
        return submit_smtp(self.settings.smtp, sender, recipients, message)

    def submission(self) -> SmtpSession:
        return SmtpSession(self.settings.smtp)


@dataclass
class _ReadBatch:
    """A batch's FETCH answers as read, ``(tag, bytes)`` each, and the full bytes of its
    messages that were cut out of them (by index)."""

    answers: list[tuple[bytes, bytes]]
    taken: list[bytes]


def _parse_started(answers: list[tuple[bytes, bytes]]) -> Future:
    """The parsing of ``answers``, by a worker process once they run, else done here."""
    pool = parse_workers.parse_pool.ready()
    if pool is not None:
        try:
            return pool.submit(parse_workers.parse_answers, answers)
        except BrokenProcessPool as error:
            parse_workers.parse_pool.broken(error)
    return _parsed_here(answers)


def _parsed_here(answers: list[tuple[bytes, bytes]]) -> Future:
    parsed: Future = Future()
    try:
        parsed.set_result(parse_workers.parse_answers(answers))
    except FetchParseError as error:
        parsed.set_exception(error)
    return parsed


def _copyuid(response) -> dict[int, int]:
    if isinstance(response, (bytes, str)):
        return _copyuid_from_text(response)
    return {}


def _copyuid_from_text(text) -> dict[int, int]:
    data = text if isinstance(text, bytes) else str(text).encode()
    match = re.search(rb"COPYUID \d+ ([0-9:,]+) ([0-9:,]+)", data)
    if not match:
        return {}
    return dict(zip(parse_uid_set(match.group(1)), parse_uid_set(match.group(2))))


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _bytes(value) -> bytes:
    """An untagged response line as bytes (imaplib keeps them as bytes; anything else as text)."""
    return value if isinstance(value, bytes) else str(value).encode()


def _quietly_close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - closing a broken connection must not raise
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
