"""The left navigation: the host's own entries plus those of tricoma mail's plugins."""
from __future__ import annotations

from typing import NamedTuple

from flask import request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from tricoma_mail_plugin import MenuItem, menu_items, remembered_per_app

_HOST_PARTS_KEY = "hostapp_navigation_parts"
MAX_PARTS = 128


class _HostPart(NamedTuple):
    titles: tuple[tuple[str, str], ...]  # (section, title) in display order
    entries: tuple[MenuItem, ...]


def navigation() -> list[MenuItem]:
    # The user object, not the proxy: the plugins' menu hooks look at it a dozen times.
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return []
    return [*_host_part(bool(user.is_admin)).entries, *menu_items(user)]


def navigation_sections() -> list[tuple[str, list[MenuItem]]]:
    """The navigation grouped into titled sections ("mail", "apps", "admin"), in display order."""
    entries = navigation()
    sections = []
    for key, title in _host_part(False).titles:
        items = sorted((e for e in entries if e.section == key), key=lambda e: (e.order, e.label))
        if items:
            sections.append((title, items))
    return sections


def _host_part(is_admin: bool) -> _HostPart:
    """The section titles and the host's own entries: the same on every page in one language
    under one script root, so each process builds them once per language, root and admin flag."""
    def built() -> _HostPart:
        entries = [MenuItem(_("Start"), url_for("home.index"), "mail", 0)]
        if is_admin:
            entries.append(MenuItem(_("Users and groups"), url_for("admin.index"), "admin", 10))
        titles = (("mail", _("Mail")), ("apps", _("Apps")), ("admin", _("Administration")))
        return _HostPart(titles, tuple(entries))

    return remembered_per_app(_HOST_PARTS_KEY, (str(get_locale()), request.script_root, is_admin), built, MAX_PARTS)
