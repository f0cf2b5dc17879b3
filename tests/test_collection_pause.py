"""The collector's pause for big syncs (cache/collection_pause.py): process-wide, shared by
nested and concurrent blocks, ended by the last of them, and never switching on a collector that
was off before."""
import gc
import threading
import weakref

import pytest

from tricoma_mail_plugin.cache.collection_pause import collect_young, collection_paused

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


def test_a_young_collection_frees_cycles_made_during_the_pause():
    class Node:
        pass

    with collection_paused():
        node = Node()
        node.itself = node
        reference = weakref.ref(node)
        del node
        assert reference() is not None  # a cycle: reference counting cannot free it
        collect_young()
        assert reference() is None
