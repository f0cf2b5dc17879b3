"""The portal's exceptions. Services raise them; ``web/errors.py`` turns them into pages or
JSON in one place."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class PortalError(Exception):
    """Base of every portal error; ``message`` is shown to the user."""

    status = 400
    default_message = _l("The request could not be carried out.")

    def __init__(self, message: str | None = None):
        super().__init__(message or str(self.default_message))
        self.message = message or str(self.default_message)


class InvalidInput(PortalError):
    """A value the user gave is not acceptable; the message says which and why."""


class NotFound(PortalError):
    """No such object for this customer: another customer's ids look exactly like missing ones."""

    status = 404
    default_message = _l("Not found.")


class Conflict(PortalError):
    """The object is not in a state that allows this (e.g. an order that was already handled)."""

    status = 409


class HostingUnavailable(PortalError):
    """The hosting stack (the mail servers) did not answer or refused the change."""

    status = 503
    default_message = _l("The mail servers cannot be reached right now. Please try again later.")
