"""The admins' page of a record kind's mail templates: one form per language, checked with
sample values before it is saved, and a way back to the built-in text."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import record_mail
from .page_helpers import page_helpers, require_admin
from .record_forms import FieldError
from .tables import LANGUAGES

if TYPE_CHECKING:
    from .kit import RecordApp


def add_template_pages(blueprint: Blueprint, record_app: RecordApp) -> None:
    """``/<plural>/templates`` on the kind's blueprint."""
    words = record_app.words

    @blueprint.route("/templates", methods=["GET", "POST"])
    def templates():
        require_admin()
        texts = {language: record_mail.template(record_app, language) for language in LANGUAGES}
        if request.method == "GET":
            return _render(texts)
        language = request.form.get("language", "")
        if language not in LANGUAGES:
            abort(400)
        language_name = page_helpers(record_app)["language_names"][language]
        if request.form.get("action") == "reset":
            record_mail.reset_template(record_app, language)
            flash(words.gettext("The built-in text of the record mail (%(language)s) is restored.",
                                language=language_name), "success")
            return redirect(url_for(".templates"))
        typed = record_mail.TemplateText(language, request.form.get("subject", ""), request.form.get("body", ""), True)
        broken = record_mail.broken_field(record_app, typed)
        if broken is not None:
            texts[language] = typed
            return _render(texts, language, FieldError(*broken)), 400
        record_mail.save_template(record_app, language, typed.subject, typed.body, str(current_user.get_id()))
        flash(words.gettext("The record mail (%(language)s) is saved.", language=language_name), "success")
        return redirect(url_for(".templates"))

    def _render(texts, error_language: str | None = None, error: FieldError | None = None):
        return render_template("tricoma_mail/records/templates.html", texts=texts, error_language=error_language,
                               error=error, values=record_mail.value_names(record_app))
