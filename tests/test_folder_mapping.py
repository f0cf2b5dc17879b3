"""The admin's folder mapping wins over every plugin's folder rule (SPEC M5)."""
import pytest

from tricoma_mail_plugin import Folder, MailboxInfo, resolve_folder

FOLDERS = [
    Folder("INBOX"),
    Folder("Sent", "/", ("\\Sent",), "\\Sent"),
    Folder("Plugin Sent", "/"),
    Folder("Gesendet", "/"),
]


@pytest.fixture
def app_with_folder_rule(make_app):
    """An app with ``folder_rule_plugin`` registered, for this one test."""
    return make_app(TRICOMA_MAIL_EXTRA_PLUGINS=("sample_plugin", "tricoma_mail_v1_imap", "folder_rule_plugin"))


def mailbox(mapping=None) -> MailboxInfo:
    return MailboxInfo(1, "Shop", "shop@example.test", "imap", folder_roles=dict(mapping or {}))


def test_the_admins_mapping_wins_over_a_plugins_folder_rule(app_with_folder_rule):
    with app_with_folder_rule.app_context():
        # Without a mapping the plugin is asked before core's SPECIAL-USE rule, and answers.
        assert resolve_folder(mailbox(), "sent", FOLDERS) == "Plugin Sent"
        # The admin mapped Sent to another folder: the mapping wins over the plugin.
        assert resolve_folder(mailbox({"sent": "Gesendet"}), "sent", FOLDERS) == "Gesendet"
        # A mapping to a folder the server no longer lists is ignored; the plugin answers again.
        assert resolve_folder(mailbox({"sent": "Gone"}), "sent", FOLDERS) == "Plugin Sent"
