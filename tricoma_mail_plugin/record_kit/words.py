"""An app's words on the kit's pages, PDF and mail.

The kit writes of "records" ("New record", "Deleted records"). An app names its own records by
translating those English msgids in its catalogue, in English as well as in German ("New record"
→ "New invoice" / "Neue Rechnung"); what its catalogue leaves out falls back to core's catalogue,
so an app without one still reads sensibly.
"""
from __future__ import annotations

from ..plugins.translations import PluginTranslations
from .kinds import RecordKind


class RecordWords(PluginTranslations):
    """``gettext``/``pgettext`` of one record kind: its catalogue first, then core's."""

    def __init__(self, kind: RecordKind) -> None:
        super().__init__(kind.path("translations"))

