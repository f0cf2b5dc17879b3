"""The record kit: an ERP app that keeps records and sends them by e-mail, made from a declared
:class:`~.kinds.RecordKind`.

:class:`RecordApp` binds a kind to its tables, its words and its pages, and implements the hooks
such an app needs. An app's plugin module declares its kind and takes the hooks over::

    INVOICES = RecordApp(RecordKind("invoice", "invoices", FOLDER, dates=RecordDates(...)))
    globals().update(INVOICES.hookimpls())

so that each plugin stays registered (and switched on and off) under its own name, while the
code is the kit's.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, has_request_context, url_for

from ..extension import MigrationSet
from ..hookspecs import hookimpl
from ..plugins.ui import MenuItem
from ..records.references import RecordDescription, Reference, ReferenceType
from ..sending.on_behalf import ComposeContext
from . import record_mail, store
from .kinds import RecordKind
from .record_pages import record_blueprint
from .tables import RecordTables, record_tables
from .words import RecordWords

HOOK_PREFIX = "tricoma_mail_"


class RecordApp:
    """One record kind at work: ``tables``, ``words``, ``blueprint`` and the hook implementations."""

    def __init__(self, kind: RecordKind) -> None:
        self.kind = kind
        self.tables: RecordTables = record_tables(kind)
        self.words = RecordWords(kind)
        self.blueprint: Blueprint = record_blueprint(self)

    def hookimpls(self) -> dict[str, Callable[..., Any]]:
        """The hook implementations by hook name, for the app's plugin module to take over."""
        return {name: getattr(self, name) for name in dir(type(self)) if name.startswith(HOOK_PREFIX)}

    def describe(self, record_id: str) -> RecordDescription | None:
        """Title and page of a record for core (mail view, compose dialog); ``None`` once deleted."""
        record = store.get_record(self, record_id)
        if record is None:
            return None
        return RecordDescription(self.words.gettext("Record %(number)s", number=record.number),
                                 self.detail_url(record.id))

    def detail_url(self, record_id: int) -> str:
        if has_request_context():
            return url_for(f"{self.kind.blueprint_name}.detail", **{self.kind.id_argument: record_id})
        return f"/{self.kind.plural}/{record_id}"  # the outbox worker has no request to build URLs from

    @hookimpl
    def tricoma_mail_register_migrations(self) -> list[MigrationSet]:
        return [MigrationSet(self.tables.metadata, self.kind.path("migrations", "versions"))]

    @hookimpl
    def tricoma_mail_register_blueprints(self) -> list[Blueprint]:
        return [self.blueprint]

    @hookimpl
    def tricoma_mail_menu_items(self, user: Any) -> list[MenuItem]:
        if not getattr(user, "is_authenticated", False):
            return []
        return [MenuItem(self.words.gettext("Records"), url_for(f"{self.kind.blueprint_name}.index"),
                         section="apps", order=self.kind.menu_order)]

    @hookimpl
    def tricoma_mail_register_reference_types(self) -> list[ReferenceType]:
        return [ReferenceType(self.kind.name, self.words.lazy_gettext("Record"), self.describe)]

    @hookimpl
    def tricoma_mail_compose_context(self, reference: Reference, user: Any) -> ComposeContext | None:
        if reference.kind != self.kind.name:
            return None
        return record_mail.compose_context(self, reference.id, user)

    @hookimpl
    def tricoma_mail_template_fields(self, reference: Reference | None, user: Any, language: str | None) -> list:
        return record_mail.template_fields(self, reference, user, language)

    @hookimpl
    def tricoma_mail_before_send(self, user: Any, reference: Reference | None) -> None:
        record_mail.refuse_broken_template(self, reference, user)

    @hookimpl
    def tricoma_mail_message_sent(self, outbox_item: Any, reference: Reference | None) -> None:
        if reference is not None and reference.kind == self.kind.name:
            store.mark_sent(self, reference.id, getattr(outbox_item, "smtp_accepted_at", None))
