"""The v1 mail client's lists (SPEC M7, M8, M9): the mail start page, the unified inbox, one
folder of a mailbox with its folder tree, search, and what can be done to chosen messages
(flags, move, delete to Trash with undo, delete for good in Trash after asking, empty Trash),
plus creating, renaming and deleting folders. Moving or deleting the message one reads opens the
next message of the list it was opened from, as mail programs do (``_after_leaving``).

Every view checks the right its action needs first (``access.require``: *read* to look,
*write* for flags, moves and folders, *delete* to delete). Lists come from the local cache;
only actions and "check for new mail" talk to the mail server.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, get_timezone, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RoutingException

from .._state import mail_state
from ..cache import bodies, sync
from ..cache.listing import (
    SORT_COLUMNS,
    folder_ids,
    folder_named,
    MessagePage,
    inbox_folder_ids,
    list_messages,
    neighbours,
)
from ..cache.folder_page import folders_and_progress
from ..cache.refresh import run_sync
from ..cache.search import SearchQuery, search, unindexed_count
from ..cache.server_search import search_on_server
from ..cache_versions import versioned_cache
from ..errors import InvalidSettings, MessageNotFound, NotAllowed
from ..jobs.background import sync_soon
from ..mail import message_actions
from ..mailboxes import server_folders
from ..mailboxes.folders import ROLE_LABELS, Folder
from ..mailboxes.overview import readable_with_unread
from ..mailboxes.service import backend_for
from ..rights import access
from ..team import list_actions as team_list_actions
from ..team import state as team_state
from .mail_common import add_banner, error_response, install, remember_undo, rights_on, take_undo
from .mailbox_settings import audit_folder_change, folder_deleted
from .redirects import safe_next

blueprint = Blueprint(
    "tricoma_mail_client",
    __name__,
    url_prefix="/mail",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)
install(blueprint)

ROLE_ORDER = ("inbox", "drafts", "sent", "archive", "junk", "trash")
FLAG_ACTIONS = tuple(message_actions.FLAG_ACTIONS)


@dataclass(frozen=True)
class FolderNode:
    """One line of the folder tree."""

    name: str
    label: str
    depth: int
    role: str | None
    messages: int
    unseen: int
    selectable: bool


# -- the start page and the unified inbox ---------------------------------------------------------


@blueprint.get("/")
def overview():
    return render_template("tricoma_mail/mail/overview.html", mailboxes=readable_with_unread(current_user))


@blueprint.get("/unified")
def unified():
    readable = readable_with_unread(current_user)
    sort, descending, cursor = _list_arguments()
    view = request.args.get("team") or ""
    inboxes = inbox_folder_ids([entry.mailbox.id for entry in readable])
    if view in team_state.VIEWS:
        # my conversations, unassigned ones, by status: the newest inbox mail of every mailbox,
        # one page (a conversation's state lives in the database, not in the cached rows)
        newest = list_messages(inboxes, sort, descending, None, limit=UNIFIED_TEAM_LIMIT).messages
        page = MessagePage(team_state.messages_in_view(newest, view, str(current_user.get_id())), None)
        cursor = None
    else:
        view = ""
        try:
            page = list_messages(inboxes, sort, descending, cursor)
        except ValueError:
            return redirect(url_for(".unified", sort=sort, order=None if descending else "asc"))
    return render_template("tricoma_mail/mail/unified.html", page=page, mailboxes=readable, sort=sort,
                           descending=descending, cursor=cursor, team_view=view, team_views=team_view_links(),
                           total_unread=sum(entry.unread for entry in readable))


#: how many of the newest inbox mails the unified inbox's team views look at
UNIFIED_TEAM_LIMIT = 500


def team_view_links() -> list[tuple[str, str]]:
    """The unified inbox's views: (value of ``team``, label)."""
    return [("", _("All mail")), ("mine", _("Assigned to me")), ("unassigned", _("Unassigned")),
            ("open", _("Status open")), ("waiting", _("Status waiting")), ("done", _("Status done")),
            ("snoozed", _("Snoozed"))]


@blueprint.post("/unified/actions")
def unified_actions():
    """Flags, delete and the team's assign and status on messages of several mailboxes; each
    mailbox checks its own right."""
    action = request.form.get("action", "")
    chosen: dict[int, list[int]] = {}
    for value in request.form.getlist("ids"):
        mailbox_id, _sep, pk = value.partition(":")
        if mailbox_id.isdigit() and pk.isdigit():
            chosen.setdefault(int(mailbox_id), []).append(int(pk))
    back = safe_next(request.form.get("next")) or url_for(".unified")
    if not chosen:
        flash(_("Choose at least one message."), "error")
        return redirect(back)
    if action in team_list_actions.ACTIONS:
        changed = team_list_actions.act_across(current_user, chosen, action)
        flash(ngettext("%(num)d conversation changed.", "%(num)d conversations changed.", changed), "success")
        return redirect(back)
    if action not in FLAG_ACTIONS + ("delete",):
        abort(400)
    try:
        done, undos = message_actions.act_across(current_user, chosen, action)
    except NotAllowed:
        # Nothing changed (act_across checks every mailbox first). Said without the mailbox's
        # name: a refusal shows nothing of a mailbox (tests/test_rights_matrix.py).
        return error_response(403, _("Nothing was changed: some of the chosen messages are in a mailbox where you "
                                     "may not do this. Choose only messages of mailboxes you may change."))
    for undo in undos:
        _offer_undo(undo)
    if action != "delete":
        flash(_action_message(action, done), "success")
    return redirect(back)


# -- one folder -----------------------------------------------------------------------------------


@blueprint.get("/m/<int:mailbox_id>/")
def folder(mailbox_id: int):
    mailbox = access.require(current_user, mailbox_id, "read")
    folders, progress = folders_and_progress(mailbox)
    name = request.args.get("folder") or "INBOX"
    if folders and name not in {f.name for f in folders}:
        raise MessageNotFound(_("The folder %(name)s does not exist (any more).", name=name))
    sort, descending, cursor = _list_arguments()
    tag = list_tag()  # only the messages with this tag (keyword)
    try:
        page = list_messages(folder_named(mailbox.id, name), sort, descending, cursor, keyword=tag)
    except ValueError:
        return redirect(url_for(".folder", mailbox_id=mailbox.id, folder=name, sort=sort, tag=tag))
    if (progress.never_synced and mailbox.usable and not progress.running
            and current_app.config["TRICOMA_MAIL_SYNC_ON_FIRST_OPEN"]):
        sync_soon(current_app._get_current_object(), mailbox.id)
        progress = sync.sync_progress(mailbox)
    context = _folder_context(mailbox, folders, name)
    view = list_view_arguments(sort, descending, tag)
    return render_template("tricoma_mail/mail/folder.html", **context, page=page, sort=sort, descending=descending,
                           cursor=cursor, progress=progress, tag=tag,
                           reading_query=f"?{urlencode(view)}" if view else "",
                           # a draft opens in the editor, as in other mail programs, for who may write it
                           edit_drafts=context["folder_role"] == "drafts" and "send" in context["rights"])


@blueprint.get("/m/<int:mailbox_id>/sync-status")
def sync_status(mailbox_id: int):
    """The cache's progress as JSON, polled by the page while a first sync runs."""
    mailbox = access.require(current_user, mailbox_id, "read")
    progress = sync.sync_progress(mailbox)
    return jsonify(cached=progress.cached, on_server=progress.on_server, running=progress.running,
                   complete=progress.complete)


def _list_arguments() -> tuple[str, bool, str | None]:
    sort, descending = list_order()
    return sort, descending, request.args.get("cursor") or None


def list_order(args=None) -> tuple[str, bool]:
    """The sort column of a list and whether it runs downwards, as the request (or ``args``)
    names them (``sort``, ``order``): by date, newest first, unless it says otherwise."""
    args = request.args if args is None else args
    sort = args.get("sort", "date")
    if sort not in SORT_COLUMNS:
        sort = "date"
    return sort, args.get("order") != "asc"


def list_tag(args=None) -> str | None:
    """The tag (keyword) a folder's list is narrowed to, as the request (or ``args``) names it
    (``tag``)."""
    args = request.args if args is None else args
    return (args.get("tag") or "").strip()[:100] or None


def list_view_arguments(sort: str, descending: bool, tag: str | None) -> dict[str, str]:
    """The arguments that name a folder's list's order and tag, those that differ from the
    default only: what a link from the list to a message carries, so that the reading view
    goes to the messages above and below it in that list."""
    arguments = {}
    if sort != "date":
        arguments["sort"] = sort
    if not descending:
        arguments["order"] = "asc"
    if tag:
        arguments["tag"] = tag
    return arguments


def _folder_context(mailbox, folders: list[Folder], current: str) -> dict:
    tree = folder_tree(mailbox, folders)
    node = next((n for n in tree if n.name == current), None)
    rights = rights_on(mailbox.id)
    return {
        "mailbox": mailbox,
        "tree": tree,
        "folder": current,
        "folder_label": node.label if node else current,
        "folder_role": node.role if node else None,
        "folder_unseen": node.unseen if node else 0,
        "move_targets": [n for n in tree if n.selectable and n.name != current],
        "rights": rights,
        "in_trash": bool(node and node.role == "trash"),
    }


def folder_tree(mailbox, folders: list[Folder]) -> list[FolderNode]:
    """The folders in display order: INBOX, the role folders, the rest by name; each folder's
    subfolders right after it."""
    roles = {resolution.folder: resolution.role for resolution in server_folders.resolve_roles(mailbox, folders)
             if resolution.folder}
    by_name = {folder.name: folder for folder in folders}

    def parent_of(folder: Folder) -> str | None:
        if not folder.delimiter or folder.delimiter not in folder.name:
            return None
        parent = folder.name.rsplit(folder.delimiter, 1)[0]
        return parent if parent in by_name else None

    children: dict[str | None, list[Folder]] = {}
    for folder in folders:
        children.setdefault(parent_of(folder), []).append(folder)

    def role(folder: Folder) -> str | None:
        return "inbox" if folder.name.upper() == "INBOX" else roles.get(folder.name)

    def order(folder: Folder):
        found = role(folder)
        return (ROLE_ORDER.index(found) if found in ROLE_ORDER else len(ROLE_ORDER), folder.name.lower())

    nodes: list[FolderNode] = []

    def walk(parent: str | None, depth: int) -> None:
        for folder in sorted(children.get(parent, []), key=order):
            found = role(folder)
            leaf = folder.name.rsplit(folder.delimiter, 1)[-1] if folder.delimiter else folder.name
            label = str(ROLE_LABELS[found]) if found else leaf
            nodes.append(FolderNode(folder.name, label, depth, found, folder.messages or 0, folder.unseen or 0,
                                    folder.selectable))
            if depth < 20:
                walk(folder.name, depth + 1)

    walk(None, 0)
    return nodes


def folder_shown(mailbox, name: str) -> str:
    """A folder as messages to the user name it, as the folder list shows it: the word of its
    role ("Sent", "Trash"…, in the user's language) or its path of labels ("Projekte › Kunde B"),
    not the server's name. The server's name where the list does not know it."""
    tree = folder_tree_without_counts(mailbox)
    index = next((at for at, node in enumerate(tree) if node.name == name), None)
    if index is None:
        return name
    node = tree[index]
    if node.role or not node.depth:
        return node.label
    path, depth = [node.label], node.depth
    for parent in reversed(tree[:index]):  # the tree lists each folder's parents before it
        if parent.depth < depth:
            path.insert(0, parent.label)
            depth = parent.depth
    return " › ".join(path)


def folder_tree_without_counts(mailbox) -> tuple[FolderNode, ...]:
    """The folder tree as the reading view uses it (the folder's label and role, the targets of
    "move to"), without the counts, which change with every mail. A web process remembers it
    per mailbox and language until a folder is added, renamed or removed, the mailbox's folder
    roles change or a plugin (which may resolve roles) is switched (``cache_versions``)."""
    def load() -> tuple[FolderNode, ...]:
        tree = folder_tree(mailbox, folders_and_progress(mailbox)[0])
        return tuple(replace(node, messages=0, unseen=0) for node in tree)

    return versioned_cache().get_or_load(("folders", "mailboxes", "plugins"),
                                         ("tree", mailbox.id, str(get_locale())), load)


@blueprint.post("/m/<int:mailbox_id>/refresh")
def refresh(mailbox_id: int):
    """Check for new mail: sync the folder list and the current folder now."""
    mailbox = access.require(current_user, mailbox_id, "read")
    name = request.form.get("folder") or "INBOX"
    known = {f.name for f in sync.cached_folders(mailbox)}
    run_sync(mailbox, folders=[name] if name in known else None,
             wait=current_app.config["TRICOMA_MAIL_SYNC_WAIT_SECONDS"])
    return redirect(safe_next(request.form.get("next")) or url_for(".folder", mailbox_id=mailbox.id, folder=name))


@blueprint.post("/m/<int:mailbox_id>/read-all")
def read_all(mailbox_id: int):
    """Mark all as read: every message of the folder."""
    name = request.form.get("folder") or "INBOX"
    count = message_actions.mark_folder_read(current_user, mailbox_id, name)
    flash(_action_message("read", count), "success")
    return redirect(url_for(".folder", mailbox_id=mailbox_id, folder=name))


# -- search ---------------------------------------------------------------------------------------


@blueprint.get("/m/<int:mailbox_id>/search")
def search_mailbox(mailbox_id: int):
    mailbox = access.require(current_user, mailbox_id, "read")
    folders = sync.cached_folders(mailbox)
    name = request.args.get("folder") or "INBOX"
    everywhere = request.args.get("scope") == "all"
    query, errors = _search_query()
    ids = folder_ids(mailbox.id, None if everywhere else [name])
    on_server = request.args.get("server") == "1" and bool(query.text) and not everywhere
    if errors or _empty(query):
        page, pending = None, 0
    elif on_server:
        page, pending = search_on_server(mailbox, name, query.text), 0
    else:
        page, pending = search(ids, query), (unindexed_count(ids) if query.text else 0)
    return render_template("tricoma_mail/mail/search.html", **_folder_context(mailbox, folders, name),
                           page=page, query=query, args=request.args, errors=errors, everywhere=everywhere,
                           unindexed=pending, on_server=on_server)


def _search_query() -> tuple[SearchQuery, dict[str, str]]:
    args = request.args
    errors: dict[str, str] = {}
    since = _date(args.get("since"), "since", errors)
    until = _date(args.get("until"), "until", errors)
    return SearchQuery(
        text=args.get("q", "").strip()[:500],
        from_=args.get("from", "").strip()[:300],
        to=args.get("to", "").strip()[:300],
        subject=args.get("subject", "").strip()[:300],
        since=since,
        until=until + timedelta(days=1) if until else None,  # "until" includes that day
        has_attachment=True if args.get("attachment") else None,
        unread=True if args.get("unread") else None,
    ), errors


def _date(value: str | None, field: str, errors: dict[str, str]) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        errors[field] = _("Enter a date like 2026-03-31.")
        return None
    return day.replace(tzinfo=get_timezone())


def _empty(query: SearchQuery) -> bool:
    return query == SearchQuery()


# -- actions on chosen messages -------------------------------------------------------------------


@blueprint.post("/m/<int:mailbox_id>/actions")
def actions(mailbox_id: int):
    action = request.form.get("action", "")
    pks = [int(value) for value in request.form.getlist("ids") if value.isdigit()]
    folder_name = request.form.get("folder") or "INBOX"
    back = safe_next(request.form.get("next")) or url_for(".folder", mailbox_id=mailbox_id, folder=folder_name)
    if action not in FLAG_ACTIONS + ("move", "delete", "delete_forever"):
        abort(400)
    if not pks:
        access.require(current_user, mailbox_id, "read")
        flash(_("Choose at least one message."), "error")
        return redirect(back)
    if action in FLAG_ACTIONS:
        count = message_actions.set_flags(current_user, mailbox_id, pks, action)
        flash(_action_message(action, count), "success")
    elif action == "move":
        target = request.form.get("target", "")
        if not target:
            access.require(current_user, mailbox_id, "write")
            flash(_("Choose the folder to move to."), "error")
            return redirect(back)
        away = _after_leaving(back, mailbox_id, folder_name, pks)  # before the message leaves its folder
        count = message_actions.move(current_user, mailbox_id, pks, target)
        shown = folder_shown(access.require(current_user, mailbox_id, "write"), target)
        flash(ngettext("%(num)d message moved to %(folder)s.", "%(num)d messages moved to %(folder)s.",
                       count, folder=shown), "success")
        back = away
    else:
        mailbox = access.require(current_user, mailbox_id, "delete")
        grouped = message_actions.by_folder(mailbox, pks)
        if not grouped:
            raise MessageNotFound()
        in_trash = [name for name in grouped if message_actions.in_trash(mailbox, name)]
        if in_trash or action == "delete_forever":
            return _delete_forever(mailbox, grouped, back)
        away = _after_leaving(back, mailbox_id, folder_name, pks)
        undo = message_actions.delete(current_user, mailbox_id, pks)
        _offer_undo(undo)
        back = away
    return redirect(back)


def _after_leaving(back: str, mailbox_id: int, folder_name: str, pks: list[int]) -> str:
    """Where to go once the chosen messages have left their folder (moved, deleted), asked
    before they leave. From the list: back to it. From the reading view of one of them: as in
    Thunderbird and Roundcube, the reading view of the message below it in the list it was
    opened from (its sort, direction and tag), else of the one above; the folder's list in
    that order when there is neither (or when the user may not read the mailbox)."""
    reading = _reading_view(back, mailbox_id)
    if reading is None:
        return _away_from_moved(back, mailbox_id, folder_name)
    message_pk, args = reading
    sort, descending = list_order(args)
    tag = list_tag(args)
    view = list_view_arguments(sort, descending, tag)
    # the neighbour is in the same folder: who may read the message may read it
    found = (bodies.message_and_mailbox(mailbox_id, message_pk)
             if message_pk in pks and "read" in rights_on(mailbox_id) else None)
    if found is not None:
        cached, folder = found[0], found[1]
        around = neighbours(cached, sort, descending, tag)
        for neighbour in (around.next, around.previous):
            if neighbour is not None and neighbour not in pks:
                return url_for("tricoma_mail_message.read", mailbox_id=mailbox_id, message_pk=neighbour, **view)
        folder_name = folder.name
    return url_for(".folder", mailbox_id=mailbox_id, folder=folder_name, **view)


def _reading_view(back: str, mailbox_id: int) -> tuple[int, MultiDict] | None:
    """The message and the list's arguments when ``back`` is the reading view of a message of
    this mailbox, else ``None``."""
    parts = urlsplit(back)
    try:
        endpoint, values = current_app.url_map.bind_to_environ(request.environ).match(parts.path, method="GET")
    except (HTTPException, RoutingException):
        return None
    if endpoint != "tricoma_mail_message.read" or values.get("mailbox_id") != mailbox_id:
        return None
    return values["message_pk"], MultiDict(parse_qsl(parts.query))


def _away_from_moved(back: str, mailbox_id: int, folder_name: str) -> str:
    """After moving the message being read, show its folder instead of a message that is gone."""
    if "/messages/" in back:
        return url_for(".folder", mailbox_id=mailbox_id, folder=folder_name)
    return back


def _delete_forever(mailbox, grouped, back: str):
    """Permanent delete: only in Trash, and only after the user ticked the confirmation."""
    messages = [m for name, rows in grouped.items() for m in rows]
    outside = [name for name in grouped if not message_actions.in_trash(mailbox, name)]
    if outside:
        raise InvalidSettings(_("Only messages in Trash can be deleted for good."))
    if not request.form.get("confirm"):
        return render_template("tricoma_mail/mail/confirm_delete.html", mailbox=mailbox, messages=messages,
                               folder=next(iter(grouped)), back=back,
                               error=request.form.get("asked") == "1"), (400 if request.form.get("asked") else 200)
    pks = [m.id for m in messages]
    away = _after_leaving(back, mailbox.id, next(iter(grouped)), pks)
    count = message_actions.delete_permanently(current_user, mailbox.id, pks)
    flash(ngettext("%(num)d message deleted for good.", "%(num)d messages deleted for good.", count), "success")
    return redirect(away)


def _offer_undo(undo: message_actions.UndoDelete) -> None:
    if not undo.count:
        return
    token = remember_undo(undo.to_dict())
    add_banner("deleted", token=token, count=undo.count, mailbox_id=undo.mailbox_id, trash=undo.trash)


def _action_message(action: str, count: int) -> str:
    messages = {
        "read": ngettext("%(num)d message marked as read.", "%(num)d messages marked as read.", count),
        "unread": ngettext("%(num)d message marked as unread.", "%(num)d messages marked as unread.", count),
        "flag": ngettext("%(num)d message flagged.", "%(num)d messages flagged.", count),
        "unflag": ngettext("Flag removed from %(num)d message.", "Flag removed from %(num)d messages.", count),
    }
    return messages[action]


@blueprint.post("/m/<int:mailbox_id>/undo")
def undo_delete(mailbox_id: int):
    access.require(current_user, mailbox_id, "delete")
    data = take_undo(request.form.get("token", ""))
    back = safe_next(request.form.get("next")) or url_for(".folder", mailbox_id=mailbox_id)
    if data is None or int(data.get("mailbox_id", 0)) != mailbox_id:
        flash(_("This can no longer be undone."), "error")
        return redirect(back)
    restored = message_actions.undo_delete(current_user, message_actions.UndoDelete.from_dict(data))
    flash(ngettext("%(num)d message is back where it was.", "%(num)d messages are back where they were.",
                   restored), "success")
    return redirect(back)


@blueprint.route("/m/<int:mailbox_id>/empty-trash", methods=["GET", "POST"])
def empty_trash(mailbox_id: int):
    mailbox = access.require(current_user, mailbox_id, "delete")
    trash = message_actions.trash_folder(mailbox)
    back = url_for(".folder", mailbox_id=mailbox.id, folder=trash) if trash else url_for(".folder", mailbox_id=mailbox.id)
    if request.method == "POST" and request.form.get("confirm"):
        count = message_actions.empty_trash(current_user, mailbox.id)
        flash(ngettext("Trash is empty: %(num)d message deleted for good.",
                       "Trash is empty: %(num)d messages deleted for good.", count), "success")
        return redirect(back)
    asked = request.method == "POST"
    cached = next((f for f in sync.cached_folders(mailbox) if f.name == trash), None)
    return render_template("tricoma_mail/mail/empty_trash.html", mailbox=mailbox, trash=folder_shown(mailbox, trash),
                           count=cached.messages if cached else 0, back=back, error=asked), (400 if asked else 200)


# -- folders --------------------------------------------------------------------------------------


@blueprint.route("/m/<int:mailbox_id>/folders", methods=["GET", "POST"])
def edit_folders(mailbox_id: int):
    """Create, rename and delete folders of the mailbox (*write*)."""
    mailbox = access.require(current_user, mailbox_id, "write")
    error = None
    if request.method == "POST":
        action = request.form.get("action")
        if action not in ("create", "rename", "delete"):
            abort(400)
        try:
            with backend_for(mailbox) as backend:
                message = _folder_action(mailbox, backend, action)
                sync.refresh_folders(mailbox, backend)
        except InvalidSettings as problem:
            mail_state().db.session.rollback()
            error = {"form": action, "message": problem.user_message}
        else:
            flash(message, "success")
            return redirect(url_for(".edit_folders", mailbox_id=mailbox.id))
    folders = sync.cached_folders(mailbox)
    tree = folder_tree(mailbox, folders)
    return render_template("tricoma_mail/mail/folders.html", mailbox=mailbox, tree=tree, error=error,
                           typed=request.form if error else {}, rights=rights_on(mailbox.id),
                           renamable=[n for n in tree if n.role != "inbox"],
                           deletable=_deletable(mailbox, tree)), (400 if error else 200)


def _folder_action(mailbox, backend, action: str) -> str:
    # The messages name folders as the list does (folder_shown), a new name as it was typed.
    if action == "create":
        typed = request.form.get("name", "")
        created = server_folders.create_folder(backend, typed, request.form.get("parent") or None)
        audit_folder_change(mailbox, "folder_created", folder=created)
        return _("The folder %(name)s is created.", name=typed.strip())
    old = request.form.get("folder", "")
    if action == "rename":
        shown = folder_shown(mailbox, old)
        typed = request.form.get("name", "")
        renamed = server_folders.rename_folder(mailbox, backend, old, typed)
        audit_folder_change(mailbox, "folder_renamed", folder=old, new=renamed)
        return _("The folder %(old)s is now called %(new)s.", old=shown, new=typed.strip())
    if not request.form.get("confirm"):
        raise InvalidSettings(_("Tick the box to confirm that the folder is to be deleted."), field="confirm")
    shown = folder_shown(mailbox, old)
    return folder_deleted(mailbox, old, shown, server_folders.delete_folder(mailbox, backend, old))


def _deletable(mailbox, tree) -> list[tuple[str, str, bool]]:
    """The folders the page may delete, as (name, path as the list shows it, whether it is in
    the Trash and so is deleted for good); the Trash's own subfolders last."""
    delimiters = {folder.name: folder.delimiter for folder in sync.cached_folders(mailbox)}
    trash = next((node.name for node in tree if node.role == "trash"), None)
    inside_trash = trash + delimiters[trash] if trash and delimiters.get(trash) else None
    folders = [(node.name, folder_shown(mailbox, node.name), bool(inside_trash) and node.name.startswith(inside_trash))
               for node in tree if node.role is None]
    return sorted(folders, key=lambda folder: folder[2])
