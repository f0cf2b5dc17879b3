"""The left navigation: the host's own entries plus those of tricoma mail's plugins."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user

from tricoma_mail_plugin import MenuItem, menu_items


def navigation() -> list[MenuItem]:
    if not current_user.is_authenticated:
        return []
    entries = [MenuItem(_("Start"), url_for("home.index"), "mail", 0)]
    if current_user.is_admin:
        entries.append(MenuItem(_("Users and groups"), url_for("admin.index"), "admin", 10))
    entries.extend(menu_items(current_user))
    return entries


def navigation_sections() -> list[tuple[str, list[MenuItem]]]:
    """The navigation grouped into titled sections ("mail", "apps", "admin"), in display order."""
    titles = {"mail": _("Mail"), "apps": _("Apps"), "admin": _("Administration")}
    entries = navigation()
    sections = []
    for key, title in titles.items():
        items = sorted((e for e in entries if e.section == key), key=lambda e: (e.order, e.label))
        if items:
            sections.append((title, items))
    return sections
