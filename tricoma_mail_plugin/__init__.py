"""tricoma mail: a mail platform for ERP hosts, as a Flask extension.

This module is the plugin API: plugins import from here and nowhere else in core.
"""
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
    UnknownPlugin,
)
from .extension import (
    MigrationSet,
    TricomaMail,
    mail_state,
    migration_directories,
    migration_include_object,
    migration_metadata,
)
from .hookspecs import hookimpl
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
from .mailboxes.tls import is_loopback, tls_context
from .mime.build import AttachmentData, HeaderInjection, InvalidMessage, OutgoingMessage
from .models import NAMING_CONVENTION, UtcDateTime, utcnow
from .plugins.translations import plugin_translations
from .plugins.ui import MenuItem, SettingsPanel, menu_items, settings_panels
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
from .sending.system_mail import send_system_mail

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
    "TemplateFailed",
    "app_mailboxes",
    "compose_context",
    "mail_history",
    "render_mail_template",
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
    "submit_smtp",
    "tls_context",
    "mail_state",
    "make_step",
    "step_label",
    "menu_items",
    "migration_directories",
    "migration_include_object",
    "migration_metadata",
    "resolve_folder",
    "settings_panels",
]
