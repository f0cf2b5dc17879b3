"""The registry of mailbox backend classes, built from the ``register_backends`` hook."""
from __future__ import annotations

from flask import current_app

from ..errors import MailError
from .backend import MailboxBackend, MailboxSettings


class UnknownBackend(MailError):
    """No enabled plugin provides a backend of this kind."""

    default_message = "No enabled plugin serves this kind of mailbox."


def backend_classes() -> dict[str, type[MailboxBackend]]:
    """Backend classes of the enabled plugins, by kind. Two classes of one kind are an error."""
    classes: dict[str, type[MailboxBackend]] = {}
    for backend_class in current_app.extensions["tricoma_mail"].hooks.collect("register_backends"):
        if backend_class.kind in classes:
            raise ValueError(f"two plugins provide the backend kind {backend_class.kind!r}")
        classes[backend_class.kind] = backend_class
    return classes


def make_backend(kind: str, settings: MailboxSettings) -> MailboxBackend:
    backend_class = backend_classes().get(kind)
    if backend_class is None:
        raise UnknownBackend()
    return backend_class(settings)
