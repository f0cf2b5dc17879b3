"""Settings → Mailboxes → Filters: the rule editor, the vacation reply and the raw Sieve editor
of a mailbox whose IMAP server speaks ManageSieve (any backend). Every page needs *manage*.

The rule editor works without script: a rule has up to :data:`ROWS` conditions and actions;
rows left empty are ignored. The server checks every script before storing it; its refusal is
shown with the line it names.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..errors import (
    InvalidSettings,
    MailError,
    SieveScriptRejected,
)
from ..mailboxes import filters as mailbox_filters
from ..mailboxes.sieve_rules import Action, Condition, FilterSet, Rule, Vacation
from ..models import Mailbox
from ..plugins.ui import sign_in_required
from ..rights import access

blueprint = Blueprint(
    "tricoma_mail_filters",
    __name__,
    url_prefix="/mail/settings/mailboxes",
    template_folder="../templates",
)
sign_in_required(blueprint)

ROWS = 3

FIELD_LABELS = {
    "from": _l("From"), "to": _l("To or Cc"), "subject": _l("Subject"), "header": _l("Header"),
    "size": _l("Size"),
}
OPERATOR_LABELS = {
    "contains": _l("contains"), "not_contains": _l("does not contain"), "is": _l("is"),
    "not_is": _l("is not"), "over": _l("is larger than"), "under": _l("is smaller than"),
}
ACTION_LABELS = {
    "move": _l("Move to folder"), "mark_read": _l("Mark as read"), "flag": _l("Flag"),
    "forward": _l("Forward to"), "discard": _l("Delete (discard)"), "stop": _l("Stop here (no further rules)"),
}


@blueprint.context_processor
def _labels() -> dict[str, Any]:
    return {"field_labels": FIELD_LABELS, "operator_labels": OPERATOR_LABELS,
            "action_labels": ACTION_LABELS, "rows": ROWS}


def _managed_mailbox(mailbox_id: int) -> Mailbox:
    # Unknown or foreign: 404, seen without manage: 403 (web/errors.py answers both).
    return access.require(current_user, mailbox_id, "manage")


# -- the rules and the vacation reply --------------------------------------------------------


@blueprint.route("/<int(signed=True):mailbox_id>/filters", methods=["GET", "POST"])
def index(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    if request.method == "GET":
        return _render_index(mailbox)
    action = request.form.get("action", "")
    if action == "port":
        try:
            mailbox_filters.set_sieve_port(mailbox, request.form.get("sieve_port", ""))
        except InvalidSettings as error:
            return _render_index(mailbox, error=error), 400
        flash(_("The ManageSieve port is saved."), "success")
        return redirect(url_for(".index", mailbox_id=mailbox.id))
    if action not in ("save_rule", "delete_rule", "toggle_rule", "vacation"):
        abort(400)
    try:
        state = mailbox_filters.load(mailbox)
        changed = _changed_filters(state.filters, action, request.form)
        mailbox_filters.save(mailbox, changed, actor=str(current_user.get_id()))
    except InvalidSettings as error:
        return _render_index(mailbox, error=error), 400
    except SieveScriptRejected as error:
        return _render_index(mailbox, rejected=error), 400
    except MailError as error:
        flash(error.user_message, "error")
        return redirect(url_for(".index", mailbox_id=mailbox.id))
    flash(_("The automatic reply is saved.") if action == "vacation" else _("The filters are saved."), "success")
    return redirect(url_for(".index", mailbox_id=mailbox.id))


def _changed_filters(filters: FilterSet, action: str, form: Mapping[str, str]) -> FilterSet:
    rules = list(filters.rules)
    if action == "vacation":
        return FilterSet(filters.rules, _vacation_from(form))
    position = _rule_position(form.get("rule", ""), len(rules))
    if action == "save_rule":
        rule = _rule_from(form)
        if position is None:
            rules.append(rule)
        else:
            rules[position] = rule
    elif position is None:
        abort(400)
    elif action == "delete_rule":
        del rules[position]
    else:  # toggle_rule
        old = rules[position]
        rules[position] = Rule(old.name, old.conditions, old.actions, old.match, not old.enabled)
    return FilterSet(tuple(rules), filters.vacation)


def _rule_position(value: str, count: int) -> int | None:
    """The index of an existing rule named by the form, None for a new one."""
    if value == "":
        return None
    if not value.isdigit() or int(value) >= count:
        abort(400)
    return int(value)


def _rule_from(form: Mapping[str, str]) -> Rule:
    conditions = []
    for row in range(ROWS):
        field = form.get(f"cond_field_{row}", "")
        value = form.get(f"cond_value_{row}", "")
        if field and value.strip():
            conditions.append(Condition(field, form.get(f"cond_operator_{row}", ""), value.strip(),
                                        form.get(f"cond_header_{row}", "").strip() if field == "header" else ""))
    actions = []
    for row in range(ROWS):
        kind = form.get(f"action_kind_{row}", "")
        if kind:
            actions.append(Action(kind, form.get(f"action_argument_{row}", "").strip(),
                                  keep_copy=f"action_keep_{row}" in form))
    return Rule(form.get("name", "").strip(), tuple(conditions), tuple(actions),
                form.get("match", "all"), enabled=True)


def _vacation_from(form: Mapping[str, str]) -> Vacation:
    try:
        days = int(form.get("vacation_days", "7") or 7)
    except ValueError:
        raise InvalidSettings(_("Enter a number of days from 1 to 365."), field="vacation_days") from None
    return Vacation(enabled="vacation_enabled" in form, subject=form.get("vacation_subject", "").strip(),
                    text=form.get("vacation_text", "").replace("\r\n", "\n"), days=days,
                    start=_date(form, "vacation_start"), end=_date(form, "vacation_end"))


def _date(form: Mapping[str, str], name: str) -> dt.date | None:
    value = form.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidSettings(_("Enter a date such as 2026-12-24."), field=name) from None


def _render_index(mailbox: Mailbox, error: InvalidSettings | None = None,
                  rejected: SieveScriptRejected | None = None) -> str:
    try:
        state, unavailable = mailbox_filters.load(mailbox), None
    except MailError as failure:
        state, unavailable = None, failure.user_message
    editing = _editing(state, request.args.get("edit", "") or request.form.get("rule", ""))
    typed = request.form if error or rejected else None
    return render_template(
        "tricoma_mail/mailboxes/filters.html",
        mailbox=mailbox, state=state, unavailable=unavailable, error=error, rejected=rejected, editing=editing,
        rule_form=typed if typed is not None and typed.get("action") == "save_rule" else _rule_values(editing),
        vacation_form=typed if typed is not None and typed.get("action") == "vacation" else _vacation_values(state),
        sieve_port=mailbox_filters.sieve_port(mailbox), folders=mailbox_filters.known_folders(mailbox),
    )


def _rule_values(editing: tuple[int, Rule] | None) -> dict[str, str]:
    """The rule form's fields for the rule being edited (empty for a new rule)."""
    if editing is None:
        return {"match": "all"}
    position, rule = editing
    values = {"rule": str(position), "name": rule.name, "match": rule.match}
    for row, condition in enumerate(rule.conditions[:ROWS]):
        values.update({f"cond_field_{row}": condition.field, f"cond_operator_{row}": condition.operator,
                       f"cond_value_{row}": condition.value, f"cond_header_{row}": condition.header})
    for row, action in enumerate(rule.actions[:ROWS]):
        values.update({f"action_kind_{row}": action.kind, f"action_argument_{row}": action.argument})
        if action.keep_copy:
            values[f"action_keep_{row}"] = "1"
    return values


def _vacation_values(state) -> dict[str, str]:
    vacation = state.filters.vacation if state is not None else Vacation()
    values = {"vacation_subject": vacation.subject, "vacation_text": vacation.text,
              "vacation_days": str(vacation.days),
              "vacation_start": vacation.start.isoformat() if vacation.start else "",
              "vacation_end": vacation.end.isoformat() if vacation.end else ""}
    if vacation.enabled:
        values["vacation_enabled"] = "1"
    return values


def _editing(state, value: str) -> tuple[int, Rule] | None:
    if state is None or not value.isdigit() or int(value) >= len(state.filters.rules):
        return None
    return int(value), state.filters.rules[int(value)]


# -- the raw editor --------------------------------------------------------------------------


@blueprint.route("/<int(signed=True):mailbox_id>/filters/raw", methods=["GET", "POST"])
def raw(mailbox_id: int):
    mailbox = _managed_mailbox(mailbox_id)
    if request.method == "GET":
        try:
            state = mailbox_filters.load(mailbox)
        except MailError as failure:
            flash(failure.user_message, "error")
            return redirect(url_for(".index", mailbox_id=mailbox.id))
        return _render_raw(mailbox, state.script, state.active_name)
    text = request.form.get("script", "")
    try:
        name = mailbox_filters.save_raw(mailbox, text, actor=str(current_user.get_id()))
    except SieveScriptRejected as error:
        return _render_raw(mailbox, text, None, rejected=error), 400
    except InvalidSettings as error:
        return _render_raw(mailbox, text, None, error=error), 400
    except MailError as error:
        flash(error.user_message, "error")
        return _render_raw(mailbox, text, None), 400
    flash(_("The script %(name)s is saved and active.", name=name), "success")
    return redirect(url_for(".raw", mailbox_id=mailbox.id))


def _render_raw(mailbox: Mailbox, script: str, active_name: str | None,
                rejected: SieveScriptRejected | None = None, error: InvalidSettings | None = None) -> str:
    return render_template("tricoma_mail/mailboxes/filters_raw.html", mailbox=mailbox, script=script,
                           active_name=active_name, rejected=rejected, error=error,
                           script_lines=script.replace("\r\n", "\n").split("\n"))
