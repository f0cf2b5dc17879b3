"""tricoma mail: a mail platform for ERP hosts, as a Flask extension.

This module is the plugin API: plugins import from here and nowhere else in core.
"""
from ._state import db_session
from .app_memo import remembered_per_app
from .bulk_insert import insert_ignoring_duplicates
from .cache.listing import ListedMessage, MessagePage, list_messages
from .cache.listing import folder_ids as cached_folder_ids
from .cache.refresh import run_sync as sync_mailbox_now
from .cache.search import SearchQuery
from .cache.search import search as search_messages
from .cache.sync import cached_folders
from .cache_versions import add_cache_kind, drop_cache_kind, forget_versions, versioned_cache
from .errors import (
    CapabilityError,
    FolderNotFound,
    InvalidSettings,
    MailboxAuthError,
    MailboxConnectionError,
    MailboxNotFound,
    MailError,
    NotAllowed,
    OAuthFailure,
    PluginError,
    SendRefused,
    SendUncertain,
    SendVetoed,
    ServerNotAllowed,
    SignInRequired,
    SyncBusy,
    UnknownPlugin,
)
from .events.values import EVENT_NAMES, Event, SentMail
from .extension import (
    MigrationSet,
    TricomaMail,
    migration_directories,
    migration_include_object,
    migration_metadata,
)
from .hookspecs import hookimpl
from .jobs.background import start_job, stop_background_work
from .jobs.ledger import JobStatus
from .jobs.ledger import status as job_status
from .jobs.tasks import SEND_QUEUE as JOB_QUEUE_SEND
from .jobs.tasks import SYNC_QUEUE as JOB_QUEUE_SYNC
from .jobs.tasks import Task as JobTask
from .jobs.readiness import mark_stopping, readiness_problems
from .mail.after_sending import tidy_after_sending
from .mail.message_view import INLINE_ATTACHMENT_TYPES, message_attachments
from .mail.message_actions import UndoDelete, move_with_undo, undo_delete, undo_move
from .mail.message_actions import delete as delete_messages
from .mail.message_actions import delete_permanently as delete_messages_for_good
from .mail.message_actions import set_flags as set_message_flags
from .mail.reply_prefill import ComposeStart, split_recipients
from .mail.reply_prefill import prefill as compose_prefill
from .web.compose_support import StoredUpload as ComposeUpload
from .web.compose_support import (
    autosave_seconds as compose_autosave_seconds,
    compose_attachments,
    discard_compose_uploads,
    keep_compose_attachments,
    open_upload_space,
    outbox_attachments,
    size_text,
    upload_limit as compose_upload_limit,
    upload_too_large_message,
)
from .mailboxes.address_policy import AddressPolicy, mail_server_policy
from .mailboxes.backend import (
    SECURITY_MODES,
    Changes,
    DiscoveredServers,
    FetchedBatch,
    FlagChange,
    FolderStatus,
    MailboxBackend,
    MailboxSettings,
    MessageSummary,
    RecipientResult,
    ServerSettings,
    TestStep,
)
from .mailboxes.connection_steps import make_step, step_label
from .mailboxes.folders import ROLES as FOLDER_ROLES
from .mailboxes.folders import Folder, FolderMapping, resolve_folder
from .mailboxes.info import MailboxInfo
from .mailboxes.sasl import imap_mechanisms, initial_response, token_login, uses_token
from .mailboxes.secret_box import SecretBox, SecretUnreadable
from .mailboxes.service import create_mailbox, live_mailbox
from .mailboxes.service import run_test as run_connection_test
from .mailboxes.service import settings_for as mailbox_settings
from .mailboxes.service import update_settings as update_mailbox_settings
from .mailboxes.sieve_client import DEFAULT_PORT as DEFAULT_SIEVE_PORT
from .mailboxes.tls import is_loopback, tls_context
from .mime.build import AttachmentData, HeaderInjection, InvalidMessage, OutgoingMessage
from .mime.headers import address_list_text, decode_header_text
from .models import NAMING_CONVENTION, UtcDateTime, utcnow
from .notices import notice_text, notify
from .plugins.translations import plugin_translations
from .plugins.ui import (
    MenuItem,
    SettingsPanel,
    mailbox_client_url,
    menu_items,
    settings_panels,
    sign_in_required,
)
from .record_kit.amounts import LineInput, Totals
from .record_kit.amounts import totals as record_totals
from .record_kit.formatting import day as format_day
from .record_kit.formatting import money as format_money
from .record_kit.kinds import RecordDates, RecordKind
from .record_kit.kit import RecordApp
from .record_kit.table_migration import record_tables_migration
from .records.mail_links import HistoryEntry
from .records.mail_links import history as mail_history
from .records.mail_templates import TemplateFailed, render_mail_template
from .records.template_fields import TemplateField
from .records.references import (
    RecordDescription,
    Reference,
    ReferenceType,
    describe_reference,
)
from .rights.access import effective_rights as mailbox_rights_of
from .rights.access import grant as grant_mailbox_right
from .rights.access import mailboxes_with as mailboxes_with_right
from .rights.access import require as require_mailbox_right
from .rights.catalogue import Right, available_rights
from .rights.directory import Directory, Principal
from .sender_check import KnownSender, SenderWarning
from .sender_check.iban import is_valid as is_valid_iban
from .sending.bulk import BulkResult, send_bulk_on_behalf
from .sending.on_behalf import (
    ComposeContext,
    app_mailboxes,
    compose_context,
    send_on_behalf,
)
from .sending.outbox import enqueue as enqueue_mail
from .sending.smtp import SmtpSession, open_smtp, smtp_token_auth
from .sending.smtp import submit as submit_smtp
from .sending.system_mail import send_system_mail, system_mail_sender
from .sending.user_outbox import cancel as cancel_outbox_item
from .team.state import VIEWS as TEAM_VIEWS
from .team.state import in_view as team_in_view
from .team.state import list_states as team_list_states
from .team.values import TeamConversation

__version__ = "0.1.0"

__all__ = [
    "ComposeStart",
    "ListedMessage",
    "MessagePage",
    "SearchQuery",
    "UndoDelete",
    "cached_folder_ids",
    "cached_folders",
    "add_cache_kind",
    "drop_cache_kind",
    "forget_versions",
    "versioned_cache",
    "remembered_per_app",
    "cancel_outbox_item",
    "compose_prefill",
    "ComposeUpload",
    "compose_attachments",
    "compose_autosave_seconds",
    "compose_upload_limit",
    "discard_compose_uploads",
    "keep_compose_attachments",
    "open_upload_space",
    "outbox_attachments",
    "size_text",
    "upload_too_large_message",
    "delete_messages",
    "delete_messages_for_good",
    "enqueue_mail",
    "list_messages",
    "live_mailbox",
    "create_mailbox",
    "run_connection_test",
    "update_mailbox_settings",
    "grant_mailbox_right",
    "mailbox_rights_of",
    "mailboxes_with_right",
    "SecretBox",
    "SecretUnreadable",
    "mailbox_settings",
    "move_with_undo",
    "require_mailbox_right",
    "search_messages",
    "set_message_flags",
    "split_recipients",
    "sync_mailbox_now",
    "undo_delete",
    "undo_move",
    "message_attachments",
    "INLINE_ATTACHMENT_TYPES",
    "tidy_after_sending",
    "NAMING_CONVENTION",
    "UtcDateTime",
    "utcnow",
    "plugin_translations",
    "AttachmentData",
    "ComposeContext",
    "HeaderInjection",
    "HistoryEntry",
    "InvalidMessage",
    "OutgoingMessage",
    "address_list_text",
    "decode_header_text",
    "TemplateFailed",
    "app_mailboxes",
    "compose_context",
    "mail_history",
    "render_mail_template",
    "LineInput",
    "RecordApp",
    "RecordDates",
    "RecordKind",
    "Totals",
    "format_day",
    "format_money",
    "record_tables_migration",
    "record_totals",
    "send_on_behalf",
    "BulkResult",
    "send_bulk_on_behalf",
    "SECURITY_MODES",
    "Changes",
    "DiscoveredServers",
    "Directory",
    "FlagChange",
    "FolderStatus",
    "InvalidSettings",
    "MailboxBackend",
    "MailboxNotFound",
    "MailboxSettings",
    "MessageSummary",
    "FetchedBatch",
    "RecipientResult",
    "ServerSettings",
    "TestStep",
    "FOLDER_ROLES",
    "CapabilityError",
    "Folder",
    "FolderMapping",
    "FolderNotFound",
    "MailError",
    "MailboxAuthError",
    "MailboxConnectionError",
    "MenuItem",
    "MigrationSet",
    "NotAllowed",
    "PluginError",
    "Principal",
    "RecordDescription",
    "Reference",
    "ReferenceType",
    "Right",
    "KnownSender",
    "SenderWarning",
    "is_valid_iban",
    "SendRefused",
    "SendUncertain",
    "SendVetoed",
    "ServerNotAllowed",
    "AddressPolicy",
    "mail_server_policy",
    "SyncBusy",
    "SettingsPanel",
    "SmtpSession",
    "TricomaMail",
    "mark_stopping",
    "readiness_problems",
    "stop_background_work",
    "start_job",
    "job_status",
    "JobStatus",
    "JobTask",
    "JOB_QUEUE_SEND",
    "JOB_QUEUE_SYNC",
    "DEFAULT_SIEVE_PORT",
    "UnknownPlugin",
    "available_rights",
    "describe_reference",
    "hookimpl",
    "is_loopback",
    "open_smtp",
    "send_system_mail",
    "system_mail_sender",
    "submit_smtp",
    "tls_context",
    "db_session",
    "insert_ignoring_duplicates",
    "EVENT_NAMES",
    "Event",
    "MailboxInfo",
    "SentMail",
    "make_step",
    "step_label",
    "mailbox_client_url",
    "menu_items",
    "migration_directories",
    "migration_include_object",
    "migration_metadata",
    "resolve_folder",
    "settings_panels",
    "sign_in_required",
    "OAuthFailure",
    "SignInRequired",
    "imap_mechanisms",
    "initial_response",
    "token_login",
    "uses_token",
    "smtp_token_auth",
    "notice_text",
    "TemplateField",
    "notify",
    "TEAM_VIEWS",
    "TeamConversation",
    "team_in_view",
    "team_list_states",
]
