"""What plugins contribute to the host's pages: navigation entries, settings panels, and the
one sign-in guard every page blueprint (core's and a plugin's) uses."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from .._state import mail_state
from ..mailboxes.info import MailboxInfo


@dataclass(frozen=True)
class MenuItem:
    """One entry of the left navigation.

    ``section`` groups entries: ``"mail"`` (mailboxes and the unified inbox), ``"apps"`` (apps
    such as invoices) or ``"admin"``. Entries sort by ``(section, order, label)``.
    """

    label: str
    url: str
    section: str = "apps"
    order: int = 100
    badge: int | None = None  # e.g. an unread count


@dataclass(frozen=True)
class SettingsPanel:
    """One panel of the mail settings page: a titled link to a settings page."""

    title: str
    url: str
    description: str = ""
    order: int = 100


SECTION_ORDER = {"mail": 0, "apps": 1, "admin": 2}
#: set on a blueprint whose errors the one error handler answers as JSON (``web/errors.py``)
JSON_API_FLAG = "tricoma_mail_json_api"


def sort_menu(items: list[MenuItem]) -> list[MenuItem]:
    return sorted(items, key=lambda item: (SECTION_ORDER.get(item.section, 9), item.order, item.label))


def menu_items(user) -> list[MenuItem]:
    """The navigation entries the enabled plugins offer ``user``, sorted for display."""
    return sort_menu(mail_state().hooks.collect("menu_items", user=user))


def settings_panels(user) -> list[SettingsPanel]:
    """The settings panels the enabled plugins offer ``user``, sorted by ``order``."""
    return sorted(mail_state().hooks.collect("settings_panels", user=user), key=lambda p: p.order)


def mailbox_client_url(mailbox) -> str:
    """The URL of the client ``mailbox`` (a row or a :class:`MailboxInfo`) opens in: the first
    plugin's answer to ``mailbox_client``; core's built-in plugin answers last with the v1 page."""
    return mail_state().hooks.call("mailbox_client", mailbox=MailboxInfo.of(mailbox))


def sign_in_required(blueprint: Blueprint, json_api: bool = False, exempt: tuple[str, ...] = ()) -> None:
    """Every view of ``blueprint`` needs a signed-in user: others go to the host's login page
    (or get a JSON 401 from an API, whose errors are then all answered as JSON). Endpoints
    named in ``exempt`` check who asks themselves."""
    if json_api:
        setattr(blueprint, JSON_API_FLAG, True)

    @blueprint.before_request
    def _sign_in_required():
        if current_user.is_authenticated or request.endpoint in exempt:
            return None
        if json_api:
            return jsonify(error=_("Please log in.")), 401
        return current_app.login_manager.unauthorized()
