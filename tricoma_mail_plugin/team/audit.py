"""How team actions read in a mailbox's audit log (assigned, status changed, snoozed,
follow-up set or due): the entries are written by the team services in the transaction of the
change (``action`` starting with ``team_``); this module gives their labels and texts."""
from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .state import person

TEAM_ACTION_LABELS = {
    "team_assigned": _l("Conversation assigned"),
    "team_status": _l("Status changed"),
    "team_snoozed": _l("Conversation snoozed"),
    "team_woken": _l("Snooze ended by hand"),
    "team_snooze_ended": _l("Snooze ended"),
    "team_follow_up": _l("Follow-up reminder set"),
    "team_follow_up_due": _l("Follow-up reminder due"),
    "team_note_added": _l("Internal note added"),
    "sent_from_shared": _l("Sent from the shared mailbox"),
    "send_cancelled": _l("Sending cancelled"),
    "deleted": _l("Moved to the trash"),
    "deleted_permanently": _l("Deleted for good"),
}


def status_label(status: str) -> str:
    return {"open": _("open"), "waiting": _("waiting for an answer"), "done": _("done")}.get(status, status)


def deletion_text(details: Mapping) -> str:
    """The audit log's text of a deletion in a shared mailbox."""
    subjects = ", ".join(_("“%(subject)s”", subject=subject) for subject in details.get("subjects") or ())
    return _("%(count)s from %(folder)s: %(subjects)s", count=details.get("count", 0),
             folder=details.get("folder", ""), subjects=subjects)


def team_details_text(action: str, details: Mapping) -> str:
    """The audit log's text of one team entry."""
    subject = str(details.get("subject") or "")
    about = _("“%(subject)s”", subject=subject) if subject else _("conversation #%(id)s", id=details.get("thread", "?"))
    if action == "team_assigned":
        assignee = person(str(details.get("assignee") or ""))
        return _("%(conversation)s to %(person)s", conversation=about,
                 person=assignee.label if assignee else _("nobody"))
    if action == "team_status":
        return _("%(conversation)s: %(before)s → %(after)s", conversation=about,
                 before=status_label(str(details.get("previous") or "")), after=status_label(str(details.get("status") or "")))
    if action == "team_snoozed":
        return _("%(conversation)s until %(until)s", conversation=about, until=details.get("until", ""))
    if action == "team_follow_up":
        return _("%(conversation)s, due %(due)s", conversation=about, due=details.get("due_at", ""))
    if action == "team_follow_up_due":
        reminded = person(str(details.get("user") or ""))
        return _("%(conversation)s: %(person)s reminded", conversation=about,
                 person=reminded.label if reminded else "—")
    return about
