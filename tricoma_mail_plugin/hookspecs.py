"""The hooks a tricoma mail plugin may implement.

Every hook is called with keyword arguments; an implementation may accept any subset of them.
Collecting hooks return a value (usually a list) per plugin and the caller merges them; hooks
marked ``firstresult`` stop at the first implementation that returns something other than
``None``. Core's own behaviour is implemented as built-in plugins marked ``trylast``, so an
installed plugin is asked first and can take over.

Hooks are called only for enabled plugins (Admin → Plugins). A hook that raises is isolated: the
error is logged and shown on the plugin page, and the call goes on with the other plugins. The one
exception is :class:`tricoma_mail_plugin.SendVetoed`, which ``before_send`` raises on purpose.

See ``docs/plugin_hooks.md`` for each hook with an example.
"""
from __future__ import annotations

from pluggy import HookimplMarker, HookspecMarker

PROJECT_NAME = "tricoma_mail"

hookspec = HookspecMarker(PROJECT_NAME)
hookimpl = HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------------
# Mailbox backends and folders
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_register_backends():
    """Return a list of :class:`MailboxBackend` subclasses this plugin provides.

    Called once when the backend registry is built. Each class names its ``kind`` (for example
    ``"imap"``), which is stored on every mailbox that uses it. Collecting: the caller merges the
    lists; two classes of one kind are an error.
    """


@hookspec(firstresult=True)
def tricoma_mail_resolve_folder(mailbox, role, folders):
    """Return the server folder that plays ``role`` in ``mailbox``, or ``None`` to pass.

    ``role`` is one of ``"sent"``, ``"trash"``, ``"drafts"``, ``"junk"``, ``"archive"``.
    ``folders`` is the list of :class:`Folder` values the server listed. Return the chosen
    folder's name (a ``str``). First result wins. Core's built-in rules run last, in this
    order: the admin's mapping, the SPECIAL-USE flag (RFC 6154), well-known names in several
    languages. When every implementation passes, the caller creates the folder.
    """


# ---------------------------------------------------------------------------------------------
# Sending on behalf of other apps
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_register_reference_types():
    """Return a list of :class:`ReferenceType` values: record kinds mail can be linked to.

    A reference type names its ``kind`` (``"invoice"``), a label, and how to find a record's
    title and URL from its id. Collecting: the caller merges the lists; two types of one kind are
    an error.
    """


@hookspec
def tricoma_mail_compose_context(reference, user):
    """Return a :class:`ComposeContext` that pre-fills "send by e-mail" for ``reference``.

    Called when ``user`` opens the compose dialog from a record (``reference`` is a
    :class:`Reference` such as ``invoice:42``). Return ``None`` for references of other kinds.
    Collecting: the caller merges the contexts in call order (recipients and attachments are
    added, the first subject and body win).
    """


@hookspec
def tricoma_mail_before_send(message, mailbox, user, reference):
    """Inspect or change ``message`` (an ``email.message.EmailMessage``) before it is queued.

    Change the message in place. To stop it, raise :class:`SendVetoed` with a message for the
    user: nothing is queued then. ``reference`` is ``None`` for mail not sent from a record. The
    return value is ignored.
    """


@hookspec
def tricoma_mail_message_sent(outbox_item, reference):
    """Called after the SMTP server accepted ``outbox_item`` (before its Sent copy is filed).

    Use it to mark a record as sent. Called from the outbox worker, outside any request.
    ``reference`` is ``None`` for mail not sent from a record. The return value is ignored.
    """


@hookspec
def tricoma_mail_message_received(mailbox, folder, summary):
    """Called once for each new message that sync stores in the local cache.

    ``summary`` is the cached :class:`MessageSummary` (headers, flags, UID, no body). Use it to
    link a reply to the record its ``In-Reply-To``/``References`` point at. Called from the sync
    job, outside any request. The return value is ignored.
    """


# ---------------------------------------------------------------------------------------------
# Rights
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_register_rights():
    """Return a list of :class:`Right` values: per-mailbox rights this plugin defines.

    They appear as columns of each mailbox's rights matrix beside core's rights (read, write,
    delete, send, send from apps, manage). Collecting: the caller merges the lists; two rights
    with one key are an error.
    """


# ---------------------------------------------------------------------------------------------
# User interface
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_menu_items(user):
    """Return a list of :class:`MenuItem` values for ``user``'s left navigation.

    Called on every page the host renders with its layout. Return only the entries ``user``
    may open. Collecting: the caller sorts the merged list by ``section`` and ``order``.
    """


@hookspec
def tricoma_mail_settings_panels(user):
    """Return a list of :class:`SettingsPanel` values shown on the mail settings page.

    Return only the panels ``user`` may open. Collecting: the caller sorts the merged list by
    ``order``.
    """


@hookspec
def tricoma_mail_register_migrations():
    """Return a list of :class:`MigrationSet` values: this plugin's tables and migrations.

    Called once by ``init_app`` for every installed plugin, enabled or not (a switched-off
    plugin keeps its tables and data). Each set names the plugin's SQLAlchemy ``metadata``
    (tables prefixed with the plugin's name) and the folder of its Alembic versions, whose first
    revision carries a branch label of its own. ``flask --app hostapp init-db`` upgrades every
    branch. Collecting.
    """


@hookspec
def tricoma_mail_register_blueprints():
    """Return a list of ``flask.Blueprint`` objects holding this plugin's pages.

    Called once by ``init_app`` for every installed plugin, enabled or not, because Flask cannot
    add routes later. While the plugin is switched off, its pages answer 404. Collecting.
    """
