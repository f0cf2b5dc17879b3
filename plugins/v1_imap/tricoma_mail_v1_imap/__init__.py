"""tricoma mail plugin: external (v1) mailboxes over IMAP and SMTP."""
from tricoma_mail_plugin import hookimpl

from .imap_backend import ImapBackend

__version__ = "0.1.0"


@hookimpl
def tricoma_mail_register_backends():
    return [ImapBackend]
