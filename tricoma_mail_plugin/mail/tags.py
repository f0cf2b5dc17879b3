"""Tags: IMAP keywords with a name and a colour, per mailbox (issue 15, point 6).

A tag lives on the mail server as a keyword on the message, so every client sees it: Thunderbird's
five labels are the keywords ``$label1`` … ``$label5`` (Important, Work, Personal, To Do, Later,
in Thunderbird's colours), and a tag made here gets the keyword Thunderbird would give a tag of
the same name, so the two meet. The table ``tricoma_mail_tag`` only names and colours the
keywords of one mailbox; a mailbox gets Thunderbird's five the first time its tags are asked for.

Setting and removing go through the same cache layer as every flag change
(:func:`cache.intents.set_flags`), so the cache stays right and the ``flags_changed`` event
reaches open pages; keywords set by another client arrive with the next sync like any flag.
Whether a server keeps a keyword is its ``PERMANENTFLAGS`` answer: without ``\\*`` (and without
the keyword itself) a tag is refused with :class:`KeywordsNotStored` before anything changes.

Rights: looking needs *read*; tagging and untagging need *write* (as flags do); defining,
renaming, recolouring and deleting tags is a mailbox setting and needs *manage*.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from .._state import mail_state
from ..cache import intents
from ..cache_versions import forget_versions, versioned_cache
from ..errors import CapabilityError, InvalidSettings, MessageNotFound
from ..events.outbox import deliver_after_commit, record_event
from ..mailboxes.backend import FolderStatus, MailboxBackend
from ..mailboxes.service import backend_for, connected_backend
from ..models import Mailbox, MailboxTag
from ..rights import access
from .message_actions import by_folder

#: Thunderbird's built-in labels: keyword, English name (translated when shown), colour.
THUNDERBIRD_LABELS: tuple[tuple[str, str, str], ...] = (
    ("$label1", "Important", "#ff0000"),
    ("$label2", "Work", "#ff9900"),
    ("$label3", "Personal", "#009900"),
    ("$label4", "To Do", "#3333ff"),
    ("$label5", "Later", "#993399"),
)
_LABEL_NAMES = {
    "$label1": _l("Important"), "$label2": _l("Work"), "$label3": _l("Personal"),
    "$label4": _l("To Do"), "$label5": _l("Later"),
}

#: The colours a tag may have (Thunderbird's five first); each has a class in the style sheets.
PALETTE: tuple[tuple[str, object], ...] = (
    ("#ff0000", _l("Red")), ("#ff9900", _l("Orange")), ("#009900", _l("Green")), ("#3333ff", _l("Blue")),
    ("#993399", _l("Purple")), ("#0099cc", _l("Light blue")), ("#009999", _l("Teal")),
    ("#996600", _l("Brown")), ("#cc3399", _l("Pink")), ("#999900", _l("Olive")), ("#808080", _l("Grey")),
    ("#000000", _l("Black")),
)
PALETTE_COLOURS = tuple(colour for colour, _name in PALETTE)
UNKNOWN_COLOUR = "#808080"

#: Keywords that mark something other than a tag (Thunderbird, Apple Mail, RFC 5788/9051 and
#: friends): never shown as a tag.
NOT_TAGS = frozenset({
    "$forwarded", "forwarded", "$junk", "junk", "$notjunk", "notjunk", "nonjunk", "$mdnsent", "$phishing",
    "$submitpending", "$submitted", "$hasattachment", "$hasnoattachment", "$istrusted", "$label0",
    "$answered", "$unknown", "$seen", "$autojunk", "$autonotjunk", "$muted", "$notify",
})
_NOT_TAG_PREFIXES = ("$mailflagbit",)

MAX_KEYWORD = 50  # Dovecot's default mail_max_keyword_length
MAX_NAME = 100
_ATOM = re.compile(r"^[\x21-\x7e]+$")
_NOT_IN_ATOM = set('(){%*"\\]')
# Thunderbird replaces these in a tag's name before it makes the keyword (nsMsgTagService::AddTag).
_THUNDERBIRD_REPLACED = re.compile(r'[\s()/{%*<>\\"]')


class KeywordsNotStored(CapabilityError):
    """The mail server does not keep this keyword (its PERMANENTFLAGS has neither ``\\*`` nor
    the keyword): the tag cannot be stored on its messages."""

    default_message = _l("The mail server does not store tags of its own on messages.")


@dataclass(frozen=True)
class Tag:
    """One tag of a mailbox as a user sees it."""

    id: int | None  # None: a keyword found on a message that this mailbox has not named
    keyword: str
    name: str  # in the reader's language for Thunderbird's labels
    colour: str
    builtin: bool  # one of Thunderbird's five labels (renamed and recoloured, never deleted)

    @property
    def css_class(self) -> str:
        return "tag-" + self.colour.lstrip("#")

    def as_json(self) -> dict:
        return {"id": self.id, "keyword": self.keyword, "name": self.name, "colour": self.colour,
                "builtin": self.builtin, "css_class": self.css_class}


def _session():
    return mail_state().db.session


# -- keywords --------------------------------------------------------------------------------------


def is_tag_keyword(keyword: str) -> bool:
    """Whether a keyword on a message is a tag (not a system flag nor a marker like $Forwarded)."""
    lowered = keyword.lower()
    return (not keyword.startswith("\\") and lowered not in NOT_TAGS
            and not lowered.startswith(_NOT_TAG_PREFIXES))


def keyword_for_name(name: str) -> str:
    """The keyword Thunderbird gives a tag of this name: spaces and ``()/{%*<>\\"`` become
    ``_``, the rest is IMAP's modified UTF-7 (RFC 3501 5.1.3), all in lower case."""
    replaced = _THUNDERBIRD_REPLACED.sub("_", name.strip())
    return _modified_utf7(replaced).lower()


def _modified_utf7(text: str) -> str:
    out, pending = [], []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def checked_keyword(keyword: str) -> str:
    """``keyword`` in lower case if it can be an IMAP keyword, else :class:`InvalidSettings`."""
    keyword = (keyword or "").strip()
    if (not keyword or len(keyword) > MAX_KEYWORD or not _ATOM.match(keyword)
            or _NOT_IN_ATOM & set(keyword)):
        raise InvalidSettings(_("A tag's keyword may have up to %(n)s letters, digits and signs, no spaces and "
                                "none of ( ) { %% * \" \\ ].", n=MAX_KEYWORD), field="keyword")
    if not is_tag_keyword(keyword):
        raise InvalidSettings(_("%(keyword)s is a keyword mail programs use for something else; choose "
                                "another one.", keyword=keyword), field="keyword")
    return keyword.lower()


def _stored_permanently(status: FolderStatus, keyword: str) -> bool:
    if status.permanent_flags is None:  # RFC 3501: no PERMANENTFLAGS answer means all of them
        return True
    kept = {flag.lower() for flag in status.permanent_flags}
    return "\\*" in kept or keyword.lower() in kept


def require_stored(status: FolderStatus, keywords: Iterable[str]) -> None:
    """Refuse (:class:`KeywordsNotStored`) when the selected folder would not keep a keyword."""
    refused = [keyword for keyword in keywords if not _stored_permanently(status, keyword)]
    if refused:
        raise KeywordsNotStored(
            _("The mail server does not store the tag %(keyword)s in the folder %(folder)s: it accepts no "
              "keywords of its own there (its PERMANENTFLAGS has no \\*). Use a tag it lists or ask the "
              "server's administrator.", keyword=", ".join(refused), folder=status.name),
            detail=f"PERMANENTFLAGS {' '.join(status.permanent_flags or ())}")


# -- the tags of a mailbox -------------------------------------------------------------------------


def _rows(mailbox_id: int) -> list[MailboxTag]:
    return list(_session().scalars(select(MailboxTag).where(MailboxTag.mailbox_id == mailbox_id)
                                   .order_by(MailboxTag.position, MailboxTag.id)))


def _value(tag_id: int, keyword: str, name: str, colour: str) -> Tag:
    builtin = keyword in _LABEL_NAMES
    shown = name or (str(_LABEL_NAMES[keyword]) if builtin else keyword)
    return Tag(tag_id, keyword, shown, colour, builtin)


def _seed(mailbox_id: int) -> None:
    """Thunderbird's five labels for a mailbox that has no tags yet (a second request doing the
    same at the same time loses the race and finds them)."""
    session = _session()
    try:
        with session.begin_nested():
            for position, (keyword, _name, colour) in enumerate(THUNDERBIRD_LABELS):
                session.add(MailboxTag(mailbox_id=mailbox_id, keyword=keyword, name="", colour=colour,
                                       position=position))
    except IntegrityError:
        pass
    session.commit()


def tags_of(mailbox_id: int) -> list[Tag]:
    """The named tags of a mailbox, in their order (no rights check: callers have checked
    *read*). Remembered for the request (a list page asks once per tagged row) and by the
    process under the version of the tags (``cache_versions``), which every write of
    ``tricoma_mail_tag`` moves; the names of Thunderbird's labels are translated per request."""
    cache = g.setdefault("_tricoma_mail_tags", {}) if has_request_context() else {}
    if mailbox_id in cache:
        return cache[mailbox_id]
    rows = _stored(mailbox_id)
    if not rows:
        _seed(mailbox_id)
        forget_versions()  # the seed moved the version: remember the five under the new one
        rows = _stored(mailbox_id)
    cache[mailbox_id] = found = [_value(*row) for row in rows]
    return found


def _stored(mailbox_id: int) -> tuple[tuple[int, str, str, str], ...]:
    """(id, keyword, name, colour) of the mailbox's tags, in a request as the process
    remembers them."""
    def read() -> tuple[tuple[int, str, str, str], ...]:
        return tuple((row.id, row.keyword, row.name, row.colour) for row in _rows(mailbox_id))

    return versioned_cache().get_or_load("tags", mailbox_id, read) if has_request_context() else read()


def _forget() -> None:
    """This request changed tags: read them (and the versions that say so) again when asked."""
    forget_versions()
    if has_request_context():
        g.pop("_tricoma_mail_tags", None)


def mailbox_tags(user, mailbox_id: int) -> list[Tag]:
    """The tags of a mailbox the user may read."""
    access.require(user, mailbox_id, "read")
    return tags_of(mailbox_id)


def tags_on(mailbox_id: int, keywords: Iterable[str]) -> list[Tag]:
    """The tags a message with these keywords carries, in the mailbox's order; a keyword the
    mailbox has not named (set by another client) is shown by itself, in grey."""
    wanted = {keyword.lower(): keyword for keyword in keywords if is_tag_keyword(keyword)}
    if not wanted:
        return []
    found = [tag for tag in tags_of(mailbox_id) if tag.keyword in wanted]
    named = {tag.keyword for tag in found}
    found += [Tag(None, keyword, keyword, UNKNOWN_COLOUR, False)
              for lowered, keyword in sorted(wanted.items()) if lowered not in named]
    return found


def find_tag(mailbox_id: int, keyword: str) -> Tag | None:
    lowered = (keyword or "").lower()
    return next((tag for tag in tags_of(mailbox_id) if tag.keyword == lowered), None)


def _checked_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidSettings(_("Enter the tag's name."), field="name")
    if not name.isprintable():
        raise InvalidSettings(_("A tag's name cannot contain control characters."), field="name")
    if len(name) > MAX_NAME:
        raise InvalidSettings(_("A tag's name may have up to %(n)s characters.", n=MAX_NAME), field="name")
    return name


def _checked_colour(colour: str) -> str:
    colour = (colour or "").strip().lower()
    if colour not in PALETTE_COLOURS:
        raise InvalidSettings(_("Choose one of the offered colours."), field="colour")
    return colour


def define_tag(user, mailbox_id: int, name: str, colour: str, keyword: str | None = None,
               backend: MailboxBackend | None = None) -> Tag:
    """A new tag of the mailbox. Its keyword is the one Thunderbird makes of the name, or the
    given one (to name a keyword another client already sets). Asks the server first whether
    it keeps keywords of its own (PERMANENTFLAGS of INBOX): a server that does not refuses the
    tag here, not later on a message. Needs *manage*."""
    mailbox = access.require(user, mailbox_id, "manage")
    name = _checked_name(name)
    colour = _checked_colour(colour)
    keyword = checked_keyword(keyword if (keyword or "").strip() else keyword_for_name(name))
    existing = tags_of(mailbox.id)
    clash = next((tag for tag in existing if tag.keyword == keyword or tag.name.lower() == name.lower()), None)
    if clash is not None:
        raise InvalidSettings(_("The tag %(name)s (keyword %(keyword)s) exists already.", name=clash.name,
                                keyword=clash.keyword), field="name")
    _check_server_keeps(mailbox, [keyword], backend)
    session = _session()
    position = (session.scalar(select(func.max(MailboxTag.position)).where(MailboxTag.mailbox_id == mailbox.id))
                or 0) + 1
    row = MailboxTag(mailbox_id=mailbox.id, keyword=keyword, name=name, colour=colour, position=position)
    session.add(row)
    _changed(mailbox.id, "tag_created", keyword)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise InvalidSettings(_("The tag %(name)s (keyword %(keyword)s) exists already.", name=name,
                                keyword=keyword), field="name") from None
    _delivered()
    return _value(row.id, row.keyword, row.name, row.colour)


def _changed(mailbox_id: int, action: str, keyword: str) -> None:
    """A ``team`` event in the change's transaction: open v2 pages of the mailbox reload its tags."""
    record_event("team", mailbox_id, {"action": action, "keyword": keyword, "message_ids": []})


def _delivered() -> None:
    _forget()
    deliver_after_commit()


def _check_server_keeps(mailbox: Mailbox, keywords: Sequence[str], backend: MailboxBackend | None) -> None:
    if backend is not None:
        require_stored(backend.select("INBOX", readonly=False), keywords)
        return
    with backend_for(mailbox) as connected:
        require_stored(connected.select("INBOX", readonly=False), keywords)


def _own_row(mailbox_id: int, tag_id: int) -> MailboxTag:
    row = _session().get(MailboxTag, tag_id) if 0 < tag_id < 2**31 else None
    if row is None or row.mailbox_id != mailbox_id:
        raise MessageNotFound(_("This tag does not exist (any more)."))
    return row


def change_tag(user, mailbox_id: int, tag_id: int, name: str, colour: str) -> Tag:
    """Rename or recolour a tag; its keyword stays, so tagged messages keep it. Needs *manage*.
    An empty name gives one of Thunderbird's labels back its built-in name."""
    mailbox = access.require(user, mailbox_id, "manage")
    row = _own_row(mailbox.id, tag_id)
    builtin = row.keyword in _LABEL_NAMES
    name = " ".join((name or "").split())
    if builtin and name == str(_LABEL_NAMES[row.keyword]):
        name = ""  # the built-in name, kept translatable
    name = "" if builtin and not name else _checked_name(name)
    colour = _checked_colour(colour)
    if name and any(tag.name.lower() == name.lower() for tag in tags_of(mailbox.id) if tag.id != row.id):
        raise InvalidSettings(_("The tag %(name)s (keyword %(keyword)s) exists already.", name=name,
                                keyword=row.keyword), field="name")
    row.name, row.colour = name, colour
    _changed(mailbox.id, "tag_changed", row.keyword)
    _session().commit()
    _delivered()
    return _value(row.id, row.keyword, row.name, row.colour)


def delete_tag(user, mailbox_id: int, tag_id: int) -> str:
    """Forget a tag's name and colour (messages keep their keyword on the server and show it
    in grey). Thunderbird's five labels stay. Needs *manage*. Returns the keyword."""
    mailbox = access.require(user, mailbox_id, "manage")
    row = _own_row(mailbox.id, tag_id)
    if row.keyword in _LABEL_NAMES:
        raise InvalidSettings(_("Thunderbird's labels cannot be deleted; give them another name or colour "
                                "instead."))
    keyword = row.keyword
    _session().execute(delete(MailboxTag).where(MailboxTag.id == row.id))
    _changed(mailbox.id, "tag_deleted", keyword)
    _session().commit()
    _delivered()
    return keyword


# -- tagging messages ------------------------------------------------------------------------------


def set_tags(user, mailbox_id: int, message_pks: Iterable[int], add: Iterable[str] = (),
             remove: Iterable[str] = (), backend: MailboxBackend | None = None) -> int:
    """Add and remove tags (by keyword) on messages of the mailbox, on the server and in the
    cache, one UID STORE per folder. A keyword to add must be one of the mailbox's tags;
    any tag keyword may be removed (also one another client set). Every folder is asked
    whether it keeps the keywords before anything changes. Needs *write*. Returns how many
    messages were changed."""
    mailbox = access.require(user, mailbox_id, "write")
    adding = _known_keywords(mailbox.id, add)
    removing = sorted({checked_keyword(keyword) for keyword in remove if keyword} - set(adding))
    if not adding and not removing:
        raise InvalidSettings(_("Choose a tag."), field="tag")
    grouped = by_folder(mailbox, message_pks)
    if not grouped:
        raise MessageNotFound()
    with connected_backend(mailbox, backend) as connected:
        if adding:
            for folder in grouped:
                require_stored(connected.select(folder, readonly=False), adding)
        for folder, messages in grouped.items():
            # remove every spelling the server has of a keyword (keywords match without case)
            spelled = sorted({flag for m in messages for flag in m.flags.split()
                              if flag.lower() in removing} | set(removing))
            intents.set_flags(mailbox, connected, folder, [m.uid for m in messages], adding, spelled)
    return sum(len(messages) for messages in grouped.values())


def _known_keywords(mailbox_id: int, keywords: Iterable[str]) -> list[str]:
    known = {tag.keyword for tag in tags_of(mailbox_id)}
    wanted = sorted({(keyword or "").strip().lower() for keyword in keywords if (keyword or "").strip()})
    unknown = [keyword for keyword in wanted if keyword not in known]
    if unknown:
        raise InvalidSettings(_("This mailbox has no tag %(keyword)s.", keyword=", ".join(unknown)), field="tag")
    return wanted
