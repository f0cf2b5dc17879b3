"""Every word the v2 page's script shows, translated for the current user (German: formal
"Sie"). The page hands them to the script as one JSON block."""
from __future__ import annotations

from .i18n import gettext as _

#: (key, description) of each keyboard shortcut, in the order the help lists them
SHORTCUTS = (
    ("j", "next"), ("k", "previous"), ("Enter", "open"), ("r", "reply"), ("a", "reply_all"),
    ("f", "forward"), ("Delete", "delete"), ("e", "archive"), ("u", "mark_read"), ("/", "search"),
    ("c", "compose"), ("z", "undo"), ("?", "help"),
)


def shortcut_labels() -> dict[str, str]:
    return {
        "next": _("Next message"),
        "previous": _("Previous message"),
        "open": _("Open the message"),
        "reply": _("Reply"),
        "reply_all": _("Reply to all"),
        "forward": _("Forward"),
        "delete": _("Delete"),
        "archive": _("Archive"),
        "mark_read": _("Mark as read or unread"),
        "search": _("Search"),
        "compose": _("New message"),
        "undo": _("Undo the last action"),
        "help": _("Show the keyboard shortcuts"),
    }


def client_words() -> dict[str, str]:
    return {
        "folders": _("Folders"),
        "messages": _("Messages"),
        "reading_pane": _("Reading pane"),
        "search": _("Search in this folder"),
        "conversations": _("Show conversations"),
        "no_messages": _("No messages here."),
        "no_message_open": _("Choose a message to read it."),
        "unread": _("unread"),
        "messages_in_thread": _("%(n)s messages"),
        "expand": _("Show the messages of this conversation"),
        "collapse": _("Hide the messages of this conversation"),
        "from": _("From"),
        "to": _("To"),
        "cc": _("Cc"),
        "subject": _("Subject"),
        "date": _("Date"),
        "body": _("Message"),
        "send": _("Send"),
        "send_later": _("Send later"),
        "save_draft": _("Save as draft"),
        "send_at": _("Send at"),
        "cancel": _("Cancel"),
        "undo": _("Undo"),
        "reply": _("Reply"),
        "reply_all": _("Reply to all"),
        "forward": _("Forward"),
        "archive": _("Archive"),
        "delete": _("Delete"),
        "sent": _("The mail is being sent."),
        "scheduled": _("The mail will be sent at the chosen time."),
        "send_undone": _("The mail was not sent. It is back in the editor."),
        "deleted": _("Moved to the trash."),
        "moved": _("Moved to %(folder)s."),
        "undone": _("Undone."),
        "undo_failed": _("The messages could not be found any more; nothing was undone."),
        "nothing_to_undo": _("There is nothing to undo."),
        "marked_read": _("Marked as read."),
        "marked_unread": _("Marked as unread."),
        "new_mail": _("New mail has arrived."),
        "live": _("Live updates are on."),
        "offline": _("Live updates are interrupted; reconnecting…"),
        "shortcuts": _("Keyboard shortcuts"),
        "close": _("Close"),
        "compose_title": _("New message"),
        "reply_title": _("Reply"),
        "forward_title": _("Forward"),
        "error": _("That did not work: %(message)s"),
        "resize": _("Change the width of the pane"),
        "select": _("Select"),
        "flagged": _("Flagged"),
        "attachment": _("Attachment"),
    }
