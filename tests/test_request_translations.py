"""The host's translations are looked up once per request (``hostapp/template_i18n.py``), and
still follow the request's locale wherever it changes: ``force_locale`` for a mail in another
language, ``refresh()`` after a change of language."""
from __future__ import annotations

import pytest
from flask import render_template_string
from flask_babel import Domain, force_locale, gettext, refresh

pytestmark = pytest.mark.db_independent


def test_a_request_looks_its_catalogue_up_once_and_follows_force_locale(app, monkeypatch):
    looked_up = []
    get_translations = Domain.get_translations

    def counting(self):
        looked_up.append(1)
        return get_translations(self)

    monkeypatch.setattr(Domain, "get_translations", counting)
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert [gettext("Log out") for _ in range(20)] == ["Abmelden"] * 20
        assert render_template_string("{{ _('Log out') }} {{ _('Log out') }}") == "Abmelden Abmelden"
        assert len(looked_up) == 1
        with force_locale("en"):
            assert gettext("Log out") == "Log out"
            assert render_template_string("{{ _('Log out') }}") == "Log out"
        assert gettext("Log out") == "Abmelden"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert gettext("Log out") == "Log out"


def test_refresh_after_a_change_of_language_gives_the_new_catalogue(app):
    with app.test_request_context(headers={"Accept-Language": "de"}) as context:
        assert gettext("Log out") == "Abmelden"
        context.session["language"] = "en"
        assert gettext("Log out") == "Abmelden"  # the request's locale, until refreshed
        refresh()
        assert gettext("Log out") == "Log out"
