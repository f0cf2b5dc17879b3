"""Where domain registrations and transfers go.

A ``Registrar`` receives each new order (with the auth code of a transfer, decrypted only for
that call). No registry is reachable from here, so the portal ships the adapter hosters start
with: ``OperatorQueueRegistrar`` leaves the order in the admin area's queue, where an operator
moves it on (``domain_orders.start/complete/reject``). A registry adapter would call the same
functions when the registry answers.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from flask import current_app

from .models import DomainOrder


class Registrar(ABC):
    @abstractmethod
    def submit(self, order: DomainOrder, auth_code: str | None) -> None:
        """Pass a new order on. ``auth_code`` is the transfer's code (None for a registration);
        it must not be logged or kept anywhere but in the order's encrypted column."""

    @property
    @abstractmethod
    def handled_by_operator(self) -> bool:
        """Whether an operator moves orders on by hand (the admin area shows the queue)."""


class OperatorQueueRegistrar(Registrar):
    """Orders wait in the operator queue in state "requested"."""

    def submit(self, order: DomainOrder, auth_code: str | None) -> None:
        return None  # the order row is the queue entry

    @property
    def handled_by_operator(self) -> bool:
        return True


REGISTRARS: dict[str, type[Registrar]] = {"operator_queue": OperatorQueueRegistrar}


def current_registrar() -> Registrar:
    return REGISTRARS[current_app.config["TRICOMA_PORTAL_REGISTRAR"]]()
