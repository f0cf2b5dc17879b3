"""A process's graceful end (gunicorn's ``worker_exit``) stops the plugins' background work too:
each installed plugin, switched off or not, is asked through ``tricoma_mail_stop_background_work``,
and one that fails does not keep the others running."""
from __future__ import annotations

import stop_recorder_plugin

from tricoma_mail_plugin import stop_background_work
from tricoma_mail_plugin._state import mail_state


def test_hook_stop_background_work(make_app):
    """Asked of a switched-off plugin too, after a plugin that failed; what it hands back counts."""
    app = make_app(TRICOMA_MAIL_EXTRA_PLUGINS=("sample_plugin", "stop_failing_plugin", "stop_recorder_plugin"))
    stop_recorder_plugin.stopped.clear()
    with app.app_context():
        mail_state().plugin_states.set_enabled("stop_recorder_plugin", False, changed_by="test")
    assert stop_background_work(app, wait=1.5) == 2  # what the recorder handed back
    [given] = stop_recorder_plugin.stopped
    assert 0 < given <= 1.5  # what is left of the one grace
