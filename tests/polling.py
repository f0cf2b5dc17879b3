"""Waiting in tests for something another process or thread does (a mail server delivering, a
background thread finishing): poll a condition until it holds or time runs out."""
from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], object], seconds: float = 10.0, every: float = 0.1) -> bool:
    """Whether ``condition()`` came true within ``seconds``, asked every ``every`` seconds and
    once more at the end."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())
