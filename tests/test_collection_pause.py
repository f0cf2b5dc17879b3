"""The collector's pause for big syncs (cache/collection_pause.py): process-wide, shared by
nested and concurrent blocks, ended by the last of them, and never switching on a collector that
was off before."""
import gc
import os
import threading
import weakref

import pytest

from tricoma_mail_plugin.cache import collection_pause
from tricoma_mail_plugin.cache.collection_pause import collect_young_when_due, collection_paused

pytestmark = pytest.mark.db_independent


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def test_a_pause_switches_automatic_collection_off_and_back_on():
    with collection_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_pause_ends_with_the_last_of_two_threads_blocks():
    inside, leave = threading.Event(), threading.Event()

    def other_sync():
        with collection_paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other_sync)
    with collection_paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread's block still runs
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_an_error_in_the_block_ends_the_pause_too():
    with pytest.raises(RuntimeError), collection_paused():
        raise RuntimeError("the server went away")
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    with collection_paused(), collection_paused():
        pass
    assert not gc.isenabled()


def test_a_young_collection_when_due_frees_cycles_made_during_the_pause(monkeypatch):
    class Node:
        pass

    with collection_paused():
        node = Node()
        node.itself = node
        reference = weakref.ref(node)
        del node
        collect_young_when_due()  # the pause has just begun: not due yet
        assert reference() is not None  # a cycle: reference counting cannot free it
        monkeypatch.setattr(collection_pause, "YOUNG_COLLECTION_SECONDS", 0.0)
        collect_young_when_due()
        assert reference() is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")
def test_a_child_forked_during_a_pause_collects_again():
    with collection_paused():
        child = os.fork()
        if child == 0:  # the child: its collector on, and its own pauses work as anywhere
            ok = gc.isenabled()
            with collection_paused():
                ok = ok and not gc.isenabled()
            os._exit(0 if ok and gc.isenabled() else 1)
        _pid, status = os.waitpid(child, 0)
        assert not gc.isenabled()  # the parent's pause goes on
    assert os.waitstatus_to_exitcode(status) == 0
