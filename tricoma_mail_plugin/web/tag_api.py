"""Tags (issue 15, point 6): the JSON the v2 client's ``team_tags.js`` calls, the v1 pages (a
mailbox's tags, tagging from the list and the reading view) and the chips both show.

Rights as the service (:mod:`mail.tags`) checks them: *read* to see tags, *write* to tag and
untag, *manage* to define, rename, recolour and delete. A user without a right on the mailbox
gets 404 and learns nothing.
"""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup

from .._state import db_session
from ..errors import InvalidSettings
from ..mail import tags
from ..rights import access
from .mail_common import install, rights_on
from .redirects import safe_next
from .tag_chips import chips_html

api = Blueprint("tricoma_mail_tags_api", __name__, url_prefix="/api/mail/m/<int:mailbox_id>/tags")
install(api, json_api=True)

pages = Blueprint("tricoma_mail_tags", __name__, url_prefix="/mail/m/<int:mailbox_id>/tags")
install(pages)


def _json() -> dict:
    data = request.get_json(silent=True, force=True)
    return data if isinstance(data, dict) else {}


def _strings(values) -> list[str]:
    if isinstance(values, str):
        values = [values]
    return [str(value) for value in values or () if isinstance(value, (str, int))][:50]


def _ids(values) -> list[int]:
    return [int(value) for value in (values or ())[:5000] if str(value).isdigit() and len(str(value)) < 12]


# -- JSON -----------------------------------------------------------------------------------------


@api.get("")
def list_tags(mailbox_id: int):
    """The mailbox's tags, what the user may do with them, the colours and the words the
    client's script shows (in the user's language)."""
    found = tags.mailbox_tags(current_user, mailbox_id)
    rights = rights_on(mailbox_id)
    return jsonify(tags=[tag.as_json() for tag in found], can_tag="write" in rights,
                   can_define="manage" in rights,
                   palette=[{"colour": colour, "name": str(name)} for colour, name in tags.PALETTE],
                   settings_url=url_for("tricoma_mail_tags.index", mailbox_id=mailbox_id),
                   words=client_words())


@api.post("")
def create(mailbox_id: int):
    data = _json()
    tag = tags.define_tag(current_user, mailbox_id, str(data.get("name") or ""), str(data.get("colour") or ""),
                          str(data.get("keyword") or "") or None)
    return jsonify(tag=tag.as_json())


@api.post("/<int:tag_id>")
def change(mailbox_id: int, tag_id: int):
    data = _json()
    tag = tags.change_tag(current_user, mailbox_id, tag_id, str(data.get("name") or ""),
                          str(data.get("colour") or ""))
    return jsonify(tag=tag.as_json())


@api.delete("/<int:tag_id>")
def remove(mailbox_id: int, tag_id: int):
    return jsonify(deleted=tags.delete_tag(current_user, mailbox_id, tag_id))


@api.post("/apply")
def apply(mailbox_id: int):
    """``{"ids": [message ids], "add": [keywords], "remove": [keywords]}``."""
    access.require(current_user, mailbox_id, "write")  # the right first: a stranger learns nothing
    data = _json()
    ids = _ids(data.get("ids") if isinstance(data.get("ids"), list) else ())
    if not ids:
        raise InvalidSettings(_("Choose at least one message."))
    done = tags.set_tags(current_user, mailbox_id, ids, _strings(data.get("add")), _strings(data.get("remove")))
    return jsonify(done=done)


def client_words() -> dict[str, str]:
    return {
        "tags": _("Tags"),
        "tag": _("Tag"),
        "all_tags": _("All messages"),
        "filter": _("Show only messages with this tag"),
        "set_tag": _("Tag the chosen messages"),
        "remove_tag": _("Remove the tag %(name)s"),
        "tagged": _("Tag “%(name)s” set."),
        "untagged": _("Tag “%(name)s” removed."),
        "choose_message": _("Choose at least one message."),
        "manage": _("Edit tags…"),
        "shortcut": _("Set or remove one of the first nine tags"),
        "remove_all": _("Remove every tag"),
        "error": _("That did not work: %(message)s"),
    }


# -- chips (v1 list and reading view) -------------------------------------------------------------


@pages.app_template_global("tag_chips")
def _tag_chips(mailbox_id: int, flags) -> Markup:
    keywords = flags.split() if isinstance(flags, str) else flags
    return chips_html(mailbox_id, keywords or ())


@pages.app_template_global("mailbox_tag_list")
def _mailbox_tag_list(mailbox_id: int) -> list[tags.Tag]:
    """The tags of a mailbox the current user may read (else none)."""
    return tags.tags_of(mailbox_id) if "read" in rights_on(mailbox_id) else []


# -- v1 pages -------------------------------------------------------------------------------------


@pages.get("/")
def index(mailbox_id: int):
    """The mailbox's tags; holders of *manage* add, rename, recolour and delete them here."""
    mailbox = access.require(current_user, mailbox_id, "read")
    return _settings_page(mailbox)


def _settings_page(mailbox, error: dict | None = None, status: int = 200):
    return render_template("tricoma_mail/mail/tags.html", mailbox=mailbox, tags=tags.tags_of(mailbox.id),
                           palette=tags.PALETTE, rights=rights_on(mailbox.id), error=error,
                           typed=request.form if error else {}), status


@pages.post("/")
def save(mailbox_id: int):
    mailbox = access.require(current_user, mailbox_id, "manage")
    action = request.form.get("action", "")
    form = request.form
    try:
        if action == "create":
            tag = tags.define_tag(current_user, mailbox.id, form.get("name", ""), form.get("colour", ""),
                                  form.get("keyword") or None)
            flash(_("The tag %(name)s is created (keyword %(keyword)s).", name=tag.name, keyword=tag.keyword),
                  "success")
        elif action == "change":
            tag = tags.change_tag(current_user, mailbox.id, _number(form.get("tag_id")), form.get("name", ""),
                                  form.get("colour", ""))
            flash(_("The tag %(name)s is saved.", name=tag.name), "success")
        elif action == "delete":
            keyword = tags.delete_tag(current_user, mailbox.id, _number(form.get("tag_id")))
            flash(_("The tag %(keyword)s is deleted; messages keep the keyword on the server.", keyword=keyword),
                  "success")
        else:
            raise InvalidSettings(_("Choose what to do."))
    except (InvalidSettings, tags.KeywordsNotStored) as problem:
        db_session().rollback()
        return _settings_page(mailbox, {"form": action, "tag_id": form.get("tag_id"),
                                        "message": problem.user_message}, 400)
    return redirect(url_for(".index", mailbox_id=mailbox.id))


def _number(value) -> int:
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) < 11 else 0


@pages.post("/apply")
def apply_form(mailbox_id: int):
    """Tag or untag the messages chosen in a v1 list or the one being read (``ids``, ``tag``,
    ``action`` = ``tag`` or ``untag``, ``next``)."""
    access.require(current_user, mailbox_id, "write")
    back = safe_next(request.form.get("next")) or url_for("tricoma_mail_client.folder", mailbox_id=mailbox_id)
    ids = _ids(request.form.getlist("ids"))
    keyword = request.form.get("tag", "")
    action = request.form.get("action", "tag")
    if not ids:
        flash(_("Choose at least one message."), "error")
        return redirect(back)
    if not keyword:
        flash(_("Choose a tag."), "error")
        return redirect(back)
    adding = action != "untag"
    count = tags.set_tags(current_user, mailbox_id, ids, add=[keyword] if adding else (),
                          remove=() if adding else [keyword])
    tag = tags.find_tag(mailbox_id, keyword)
    name = tag.name if tag else keyword
    if adding:
        flash(ngettext("Tag “%(name)s” set on %(num)d message.", "Tag “%(name)s” set on %(num)d messages.", count,
                       name=name),
              "success")
    else:
        flash(ngettext("Tag “%(name)s” removed from %(num)d message.", "Tag “%(name)s” removed from %(num)d messages.",
                       count, name=name), "success")
    return redirect(back)
