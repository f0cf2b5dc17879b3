"""tricoma mail: a mail platform for ERP hosts, as a Flask extension.

This module is the plugin API: plugins import from here and nowhere else in core.
"""
from ._state import db_session
from .errors import (
    CapabilityError,
    FolderNotFound,
    InvalidSettings,
    MailboxAuthError,
    MailboxConnectionError,
    MailboxNotFound,
    MailError,
    NotAllowed,
    PluginError,
    SendRefused,
    SendUncertain,
    SendVetoed,
    ServerNotAllowed,
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
from .mailboxes.address_policy import AddressPolicy, mail_server_policy
from .mailboxes.backend import (
    SECURITY_MODES,
    Changes,
    DiscoveredServers,
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
from .mailboxes.tls import is_loopback, tls_context
from .mime.build import AttachmentData, HeaderInjection, InvalidMessage, OutgoingMessage
from .mime.headers import address_list_text, decode_header_text
from .models import NAMING_CONVENTION, UtcDateTime, utcnow
from .plugins.translations import plugin_translations
from .plugins.ui import MenuItem, SettingsPanel, menu_items, settings_panels, sign_in_required
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
from .records.references import (
    RecordDescription,
    Reference,
    ReferenceType,
    describe_reference,
)
from .rights.catalogue import Right, available_rights
from .rights.directory import Directory, Principal
from .sending.on_behalf import (
    ComposeContext,
    app_mailboxes,
    compose_context,
    send_on_behalf,
)
from .sending.smtp import SmtpSession, open_smtp
from .sending.smtp import submit as submit_smtp
from .sending.system_mail import send_system_mail, system_mail_sender

__version__ = "0.1.0"

__all__ = [
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
    "EVENT_NAMES",
    "Event",
    "MailboxInfo",
    "SentMail",
    "make_step",
    "step_label",
    "menu_items",
    "migration_directories",
    "migration_include_object",
    "migration_metadata",
    "resolve_folder",
    "settings_panels",
    "sign_in_required",
]
