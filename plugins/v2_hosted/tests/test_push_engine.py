"""The push engine's pure parts: which untagged responses mean a change, and the backoff."""
from __future__ import annotations

import itertools

import pytest
from tricoma_mail_v2_hosted.push.engine import backoff_delays
from tricoma_mail_v2_hosted.push.idle_client import change_kind, quoted
from tricoma_mail_v2_hosted.push.watcher import change_kind as feed_kind

pytestmark = pytest.mark.db_independent


@pytest.mark.parametrize("line, kind", [
    (b"* 12 EXISTS", "new"),
    (b"* 3 EXPUNGE", "expunged"),
    (b"* VANISHED 7:9", "expunged"),
    (b"* 4 FETCH (UID 9 FLAGS (\\Seen) MODSEQ (55))", "flags"),
    (b"* OK Still here", None),
    (b"+ idling", None),
    (b"w3 OK Idle completed.", None),
])
def test_change_kind(line, kind):
    assert change_kind(line) == kind


def test_backoff_doubles_up_to_the_limit_with_jitter():
    delays = list(itertools.islice(backoff_delays(1, 300, jitter=lambda: 0.0), 12))
    assert delays[:5] == [1, 2, 4, 8, 16] and delays[-1] == 300
    jittered = list(itertools.islice(backoff_delays(1, 300, jitter=lambda: 1.0), 3))
    assert jittered == [1.2, 2.4, 4.8]


def test_quoted_escapes_quotes_and_backslashes():
    assert quoted('pa"ss\\word') == '"pa\\"ss\\\\word"'


def test_the_feed_names_what_a_sync_found():
    class Result:
        def __init__(self, new=0, expunged=0, flag_changes=0, rebuilt=False):
            self.new, self.expunged, self.flag_changes, self.rebuilt = new, expunged, flag_changes, rebuilt

    assert feed_kind([Result(new=1, flag_changes=2)]) == "new"
    assert feed_kind([Result(flag_changes=1)]) == "flags"
    assert feed_kind([Result(expunged=3)]) == "expunged"
    assert feed_kind([Result()]) is None


def test_stopping_ends_a_watch_that_let_the_first_cancel_pass():
    """On Python 3.11 ``asyncio.wait_for`` swallows a cancel that comes as its awaitable finishes;
    a watch that let a cancel pass so is told again until it ends (the engine's stop once waited
    for it forever)."""
    import asyncio

    from tricoma_mail_v2_hosted.push.engine import EngineTiming, PushEngine

    async def deaf_once() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # as wait_for does when its awaitable finished at the same moment
        await asyncio.sleep(3600)

    async def scenario() -> None:
        engine = PushEngine(lambda target, kind: None, EngineTiming())
        task = asyncio.create_task(deaf_once())
        await asyncio.sleep(0)
        engine._tasks[("mailbox", "INBOX")] = (None, task)
        await asyncio.wait_for(engine.stop(), 5)
        assert task.cancelled()

    asyncio.run(scenario())
