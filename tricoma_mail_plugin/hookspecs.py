"""The hooks a tricoma mail plugin may implement.

Every hook is called with keyword arguments; an implementation may accept any subset of them.
Collecting hooks return a value (usually a list) per plugin and the caller merges them; hooks
marked ``firstresult`` stop at the first implementation that returns something other than
``None``. Core's own behaviour is implemented as built-in plugins marked ``trylast``, so an
installed plugin is asked first and can take over.

Hooks receive frozen values that the root package exports (:class:`MailboxInfo`,
:class:`SentMail`, :class:`Event`…), never database rows. Hooks are called only for enabled
plugins (Admin → Plugins). A hook that raises is isolated: the error is logged and shown on the
plugin page, and the call goes on with the other plugins. The one exception is
:class:`tricoma_mail_plugin.SendVetoed`, which ``before_send`` raises on purpose.

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

    Called whenever core builds the backend of a mailbox (see "Write a mailbox backend" in
    ``docs/plugin_hooks.md`` for the contract). Each class names its ``kind`` (for example
    ``"imap"``), which is stored on every mailbox that uses it. Collecting: the caller merges the
    lists; two classes of one kind are an error.
    """


@hookspec(firstresult=True)
def tricoma_mail_resolve_folder(mailbox, role, folders):
    """Return the server folder that plays ``role`` in ``mailbox``, or ``None`` to pass.

    ``mailbox`` is a :class:`MailboxInfo`. ``role`` is one of ``"sent"``, ``"trash"``,
    ``"drafts"``, ``"junk"``, ``"archive"``. ``folders`` is the list of :class:`Folder` values
    the server listed. Return the chosen folder's name (a ``str``). First result wins. The
    admin's mapping is applied before any plugin is asked (it always wins); core's built-in
    rules run last: the SPECIAL-USE flag (RFC 6154), then well-known names in several
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
def tricoma_mail_template_fields(reference, user, language):
    """Return a list of :class:`TemplateField` values: the variables this plugin's records
    offer to reply templates (``{{ invoice_number }}``, ``{{ due_date }}``…).

    ``reference`` is the :class:`Reference` of the record a mail is written for (from its mail
    dialog, or linked to the conversation answered); return the fields of your kinds with their
    values as text in ``language`` (the template's, ``"de"`` or ``"en"``: dates and amounts are
    written for the mail's reader), and a field the record lacks with ``value=None`` (the
    compose page names it as missing and sending waits until it is filled in). With
    ``reference=None`` (the templates page lists what authors may use) return every field you
    offer, values ``None`` (``user`` and ``language`` are ``None`` then). Return ``[]`` for references of other kinds. Collecting: the
    caller merges the lists; the first field of a name wins.
    """


@hookspec
def tricoma_mail_before_send(message, mailbox, user, reference):
    """Inspect or change ``message`` (an ``email.message.EmailMessage``) before it is queued.

    ``mailbox`` is the :class:`MailboxInfo` it is sent from. Change the message in place. To
    stop it, raise :class:`SendVetoed` with a message for the user: nothing is queued then.
    ``reference`` is ``None`` for mail not sent from a record. Called before the outbox item
    is written, in the caller's transaction. The return value is ignored.
    """


# ---------------------------------------------------------------------------------------------
# Events: what happened to mail, delivered after the commit of the change
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_message_sent(outbox_item, reference):
    """Called after the SMTP server accepted a mail: ``outbox_item`` is its :class:`SentMail`.

    Delivered from the ``sent`` event, after "SMTP accepted" is committed, at least once (a
    process that stops before the call leaves the event pending for the next run). Use it to
    mark a record as sent. ``reference`` is ``None`` for mail not sent from a record. The return
    value is ignored.
    """


@hookspec
def tricoma_mail_message_received(mailbox, folder, summary):
    """Called for each new message that sync stores in the local cache.

    ``mailbox`` is a :class:`MailboxInfo`, ``summary`` the cached :class:`MessageSummary`
    (headers, flags, UID, no body). Delivered from the ``received`` event, after the sync's
    batch is committed, at least once. Use it to link a reply to the record its
    ``In-Reply-To``/``References`` point at. The return value is ignored.
    """


@hookspec
def tricoma_mail_messages_received(mailbox, folder, summaries):
    """Called once for each batch of new messages that sync stores in the local cache of a folder.

    The same messages as :func:`tricoma_mail_message_received`, a batch at a time (up to 500,
    one folder): a sync of 10,000 messages makes 20 calls instead of 10,000, so prefer this
    hook to the per-message one when a plugin looks at every new message. ``mailbox`` is a
    :class:`MailboxInfo`, ``folder`` the folder's name, ``summaries`` a tuple of the cached
    :class:`MessageSummary` values in UID order. Delivered from the ``received`` events after
    the sync's batch is committed, at least once (an event delivered again after a crash comes
    in a batch of its own). The return value is ignored.
    """


@hookspec
def tricoma_mail_event(event):
    """Called once for each :class:`Event` (at least once: after a crash it may come again).

    ``event.name`` is one of ``"received"``, ``"sent"``, ``"failed"``, ``"uncertain"``,
    ``"deleted"``, ``"moved"``, ``"flags_changed"``; ``event.payload`` holds plain values. The
    event was recorded in the transaction of the change that caused it and is delivered after
    the commit, outside that transaction. The return value is ignored.
    """


# ---------------------------------------------------------------------------------------------
# Team mail: conversations of shared mailboxes (delivered from ``team`` events)
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_conversation_assigned(mailbox, conversation, assignee_id, previous_assignee_id, by):
    """Called after a conversation of ``mailbox`` (a :class:`MailboxInfo`) was assigned.

    ``conversation`` is a :class:`TeamConversation` (its thread id, Message-IDs and state);
    ``assignee_id`` the host user id it is assigned to now (``None``: to nobody),
    ``previous_assignee_id`` the one before, ``by`` the user id who did it. Delivered from the
    ``team`` event (action ``assigned``) after the commit, at least once. Use it to open a task
    on the linked record, say. The return value is ignored.
    """


@hookspec
def tricoma_mail_conversation_status_changed(mailbox, conversation, status, previous_status, by):
    """Called after a conversation's status changed: ``status`` and ``previous_status`` are
    ``"open"``, ``"waiting"`` or ``"done"``; the other arguments as for
    ``conversation_assigned``. Delivered from the ``team`` event (action ``status``), at least
    once. The return value is ignored.
    """


@hookspec
def tricoma_mail_snooze_ended(mailbox, conversation):
    """Called when a snoozed conversation comes back to the inbox (its date was reached).

    Delivered from the ``team`` event (action ``snooze_ended``) the reminder job records, at
    least once. The return value is ignored.
    """


@hookspec
def tricoma_mail_follow_up_due(mailbox, conversation, user_id, reference):
    """Called when a follow-up reminder is due: nobody answered ``conversation`` in time.

    ``user_id`` is who asked to be reminded; ``reference`` the linked record (``"invoice:42"``)
    or ``None``. A reply that arrives before the date cancels the reminder and this is not
    called. Delivered from the ``team`` event (action ``follow_up_due``), at least once. The
    return value is ignored.
    """


@hookspec
def tricoma_mail_note_added(mailbox, conversation, note_id, author_id, mentioned_ids, text):
    """Called after an internal note was added to a conversation of ``mailbox``.

    ``conversation`` is a :class:`TeamConversation`; ``note_id`` the note's id, ``author_id``
    the host user id of its author, ``mentioned_ids`` the user ids its ``@mentions`` named (each
    got a notice), ``text`` the note as written. Notes are never sent by mail nor stored on the
    mail server. Delivered from the ``team`` event (action ``note_added``) after the commit, at
    least once. Use it to copy the note to the linked record's log, say. The return value is
    ignored.
    """


# ---------------------------------------------------------------------------------------------
# Reading mail
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_known_senders(mailbox):
    """Return a list of :class:`KnownSender` values: the contacts this app knows.

    Called when a user opens a message of ``mailbox`` (a :class:`MailboxInfo`) in the reading
    view, for the sender check. Each value names a contact (a customer, a supplier), its e-mail
    addresses and the bank accounts (IBANs) on record. The reading view then warns about a
    contact's name shown with a foreign address, a look-alike of a contact's domain, replies
    diverted from a contact's domain and an IBAN in a contact's mail that differs from the one
    on record. Return an empty list to know no one. Collecting: the caller merges the lists.
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


@hookspec(firstresult=True)
def tricoma_mail_mailbox_client(mailbox):
    """Return the URL (a ``str``) of the client ``mailbox`` opens in, or ``None`` to pass.

    ``mailbox`` is a :class:`MailboxInfo`. Called wherever a page links to a mailbox (the left
    navigation, the mail start page). The interface follows the backend: a backend plugin (or a
    client plugin such as the v2 interface) answers for the mailboxes it serves and passes on the
    others. First result wins; core's built-in answer, asked last, is the v1 folder page, so a
    mailbox no plugin claims keeps today's interface.
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


# ---------------------------------------------------------------------------------------------
# Background jobs
# ---------------------------------------------------------------------------------------------


@hookspec
def tricoma_mail_stop_background_work(app, wait):
    """The process is ending gracefully (gunicorn's ``worker_exit``, a test app's teardown): stop
    what this plugin runs in the background for ``app`` in this process (threads, connections,
    watchers), within ``wait`` seconds (what is left of the process's grace), and hand back what
    it holds.

    Called by :func:`stop_background_work` after core's own jobs stopped, for every installed
    plugin, enabled or not (a plugin switched off meanwhile may still have threads running).
    Return how many held pieces of work were handed back (or ``None``). Collecting.
    """


@hookspec
def tricoma_mail_register_jobs():
    """Return a list of :class:`JobTask` values: background jobs this plugin runs.

    Called (in an app context) whenever a job is started or run whose name is not core's, in
    the web process and in ``flask mail worker`` processes alike; only enabled plugins answer.
    A job is started with :func:`start_job` and runs through core's job ledger, in a thread of
    the web process or on the queue. Collecting: the caller merges the lists.
    """
