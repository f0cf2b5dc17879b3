"""The plugin's own catalogue: provider notes and labels in German, the app's texts still found."""
from flask_babel import gettext

from tricoma_mail_v1_imap.discovery_settings import discovery_for
from tricoma_mail_v1_imap.imap_backend import ImapBackend


def test_provider_notes_and_labels_follow_the_users_language(app):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert "App-Passwort" in discovery_for("someone@gmail.com").notes[0]
        assert str(ImapBackend.label) == "Externes Postfach (IMAP/SMTP)"
        assert gettext("Log in") == "Anmelden"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert "app password" in discovery_for("someone@gmail.com").notes[0]
