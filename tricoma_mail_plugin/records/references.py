"""References from mail to business records ("invoice:42") and the record kinds plugins define."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from flask import current_app

_REFERENCE = re.compile(r"^([a-z][a-z0-9_]{0,49}):([A-Za-z0-9_.\-]{1,100})$")


@dataclass(frozen=True)
class Reference:
    """A pointer to one business record: its kind and its id, written ``kind:id``."""

    kind: str
    id: str

    @classmethod
    def parse(cls, text: str) -> "Reference":
        """Parse ``"invoice:42"``; raise ``ValueError`` for anything else."""
        match = _REFERENCE.match(text or "")
        if not match:
            raise ValueError(f"not a reference: {text!r}")
        return cls(match.group(1), match.group(2))

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True)
class ReferenceType:
    """A kind of record mail can be linked to.

    ``describe(id)`` returns the record's title and URL, or ``None`` when the record is gone
    (the link stays readable then).
    """

    kind: str
    label: str
    describe: Callable[[str], "RecordDescription | None"]


@dataclass(frozen=True)
class RecordDescription:
    title: str
    url: str | None


def reference_types() -> dict[str, ReferenceType]:
    """Every reference type of the enabled plugins, by kind. Two types of one kind are an error."""
    types: dict[str, ReferenceType] = {}
    for reference_type in current_app.extensions["tricoma_mail"].hooks.collect(
        "register_reference_types"
    ):
        if reference_type.kind in types:
            raise ValueError(f"two plugins define the reference kind {reference_type.kind!r}")
        types[reference_type.kind] = reference_type
    return types


def describe_reference(reference: Reference) -> RecordDescription | None:
    """The title and URL of the record ``reference`` points at, or ``None`` if unknown."""
    reference_type = reference_types().get(reference.kind)
    if reference_type is None:
        return None
    return reference_type.describe(reference.id)
