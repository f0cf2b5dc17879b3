"""The sync's writer builds its rows without a dict per row (``insert_values``: its tests are in
test_bulk_insert.py): a cached message's row is its summary's values under the right columns, and
a batch's ``received`` payloads are each summary's payload."""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pytest

from tricoma_mail_plugin import MessageSummary
from tricoma_mail_plugin.cache import sync
from tricoma_mail_plugin.events.values import received_payload
from tricoma_mail_plugin.models import CachedMessage


def _summary(**changes) -> MessageSummary:
    values = dict(uid=7, flags=("\\Seen", "$Label1"), size=1234,
                  internal_date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                  from_="Anna <anna@example.test>", to="b@example.test", cc="", subject="Grüße",
                  date=datetime(2026, 1, 2, 2, 4, 5, 600, tzinfo=timezone.utc), message_id="<m@example.test>",
                  in_reply_to="<p@example.test>", references="<o@example.test> <p@example.test>",
                  has_attachment=True, preview="Hallo", modseq=99)
    values.update(changes)
    return MessageSummary(**values)


def test_a_cached_messages_row_holds_its_summarys_values_under_their_columns():
    summary = _summary()
    row = dict(zip(sync._ROW_COLUMNS, sync._row(3, summary)))
    columns = {attribute.key: attribute.columns[0].name for attribute in CachedMessage.__mapper__.column_attrs}
    expected = {columns[field.name]: getattr(summary, field.name) for field in fields(MessageSummary)}
    expected.update(folder_id=3, flags="\\Seen $Label1", seen=True, flagged=False, sender_sort="anna")
    assert row == expected
    assert set(row) <= set(CachedMessage.__table__.columns.keys())

    undated = dict(zip(sync._ROW_COLUMNS, sync._row(3, _summary(date=None, flags=("\\Flagged",)))))
    assert undated["date"] == summary.internal_date  # lists sort by it: never empty
    assert (undated["flags"], undated["seen"], undated["flagged"]) == ("\\Flagged", False, True)


@pytest.mark.parametrize("when", [
    datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    datetime(2026, 1, 2, 3, 4, 5, 123, tzinfo=timezone(timedelta(hours=-5))),  # in UTC in the payload
    datetime(2026, 1, 2, 3, 4, 5),  # no zone: written as it is
    None,
])
def test_a_received_payload_holds_the_folder_and_every_field_in_plain_values(when):
    summaries = [_summary(uid=1, internal_date=when, date=when), _summary(uid=2, flags=())]
    payloads = [received_payload("INBOX", summary) for summary in summaries]

    def plain(value):
        if value is None:
            return None
        return (value.astimezone(timezone.utc) if value.tzinfo else value).isoformat()

    first = summaries[0]
    expected = {"folder": "INBOX", **{field.name: getattr(first, field.name) for field in fields(MessageSummary)}}
    expected.update(flags=list(first.flags), internal_date=plain(when), date=plain(when))
    assert payloads[0] == expected
    assert list(payloads[0]) == list(expected)  # the same keys in the same order: the same JSON text
    assert payloads[1]["flags"] == []
