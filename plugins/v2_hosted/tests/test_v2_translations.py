"""Every word of the v2 interface has its German text (formal "Sie"), and English stays English."""
from __future__ import annotations

import ast
from pathlib import Path

from babel.messages.pofile import read_po
from tricoma_mail_v2_hosted.ui_text import client_words, shortcut_labels

PACKAGE = Path(__file__).resolve().parent.parent / "tricoma_mail_v2_hosted"


def source_messages() -> set[str]:
    """The literal msgids of every ``_("…")`` call in the plugin's code."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(node.args[0].value)
    return found


def test_every_message_has_a_german_text():
    with open(PACKAGE / "translations" / "de" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    german = {message.id: message.string for message in catalog if message.id}
    used = source_messages()
    assert len(used) > 60
    assert sorted(used - {msgid for msgid, text in german.items() if text}) == []
    assert not [text for text in german.values() if " du " in f" {text.lower()} " or "dein" in text.lower()]


def test_the_words_follow_the_users_language(app):
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert client_words()["send_undone"] == "Die E-Mail wurde nicht gesendet. Sie ist wieder im Editor."
        assert shortcut_labels()["help"] == "Tastenkürzel anzeigen"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert client_words()["conversations"] == "Show conversations"
