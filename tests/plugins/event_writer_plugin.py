"""A test plugin whose ``event`` hook writes a note per event (and does not commit: the note is
committed with the event's "delivered" mark), and breaks the database transaction with a bad
statement for an event whose payload asks for it."""
from __future__ import annotations

from sqlalchemy import text

from sample_plugin import notes
from tricoma_mail_plugin import db_session, hookimpl


@hookimpl
def tricoma_mail_event(event):
    if event.payload.get("break"):
        db_session().execute(text("SELECT no_such_column FROM no_such_table"))
    db_session().execute(notes.insert().values(text=f"event {event.payload['n']}"))
