"""Lookups scoped to one customer: another customer's ids look exactly like missing ones."""
from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select

from .errors import NotFound
from .extensions import db

Row = TypeVar("Row")
MAX_ROW_ID = 2**63 - 1


def tenant_row(model: type[Row], row_id: int, tenant_id: int | None) -> Row:
    """The row ``row_id`` of ``model`` if it belongs to ``tenant_id``; else ``NotFound``."""
    if tenant_id is None or not 0 < row_id <= MAX_ROW_ID:
        raise NotFound()
    row = db.session.scalar(
        select(model).where(model.id == row_id, model.tenant_id == tenant_id)
    )
    if row is None:
        raise NotFound()
    return row
