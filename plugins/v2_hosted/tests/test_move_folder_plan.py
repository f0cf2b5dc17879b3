"""Which hosted folder each external folder goes to when a mailbox is moved (no mail server):
by role, also for a folder literally named "Gesendet" without SPECIAL-USE, also when another
folder of the source plays that role already; every other folder by its name."""
from __future__ import annotations

from types import MappingProxyType

from tricoma_mail_v2_hosted.move.folder_plan import plan

from tricoma_mail_plugin import Folder
from tricoma_mail_plugin.mailboxes.info import MailboxInfo

HOSTED = [Folder("INBOX", "/"), Folder("Sent", "/", ("\\Sent",), "\\Sent"),
          Folder("Trash", "/", ("\\Trash",), "\\Trash"), Folder("Drafts", "/", ("\\Drafts",), "\\Drafts")]


def mailbox(number: int, roles: dict | None = None) -> MailboxInfo:
    return MailboxInfo(id=number, title="", email="", kind="imap", sender_name="",
                       folder_roles=MappingProxyType(roles or {}), usable=True)


def targets(source_folders: list[Folder], roles: dict | None = None) -> dict[str, tuple[str, str | None]]:
    return {pair.source: (pair.target, pair.role) for pair in plan(mailbox(1, roles), source_folders, mailbox(2), HOSTED)}


def test_an_external_gesendet_without_special_use_goes_to_the_hosted_sent(app):
    with app.app_context():
        assert targets([Folder("INBOX", "."), Folder("INBOX.Gesendet", "."), Folder("INBOX.Kunden", ".")]) == {
            "INBOX": ("INBOX", "inbox"), "INBOX.Gesendet": ("Sent", "sent"), "INBOX.Kunden": ("Kunden", None)}


def test_two_folders_of_one_role_both_go_to_the_hosted_folder_of_that_role(app):
    with app.app_context():
        # the server's "Sent Mails" (another client's) beside "Gesendet", and two trash folders
        found = targets([Folder("INBOX", "."), Folder("INBOX.Sent Mails", "."), Folder("INBOX.Gesendet", "."),
                         Folder("INBOX.Papierkorb", "."), Folder("INBOX.Trash", "."),
                         Folder("INBOX.Gesendet.2019", ".")])
        assert found["INBOX.Sent Mails"][0] == found["INBOX.Gesendet"][0] == "Sent"
        assert found["INBOX.Papierkorb"][0] == found["INBOX.Trash"][0] == "Trash"
        assert found["INBOX.Gesendet.2019"] == ("Gesendet/2019", None)  # below it: by its name
        # the admin's choice wins: "Gesendet" plays the role, "Sent Mails" still goes to Sent
        mapped = targets([Folder("INBOX", "."), Folder("INBOX.Sent Mails", "."), Folder("INBOX.Gesendet", ".")],
                         {"sent": "INBOX.Gesendet"})
        assert mapped["INBOX.Gesendet"] == ("Sent", "sent") and mapped["INBOX.Sent Mails"][0] == "Sent"
