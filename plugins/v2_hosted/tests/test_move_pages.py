"""Settings → Move a mailbox without a mail server: who may start a move (manage on both
mailboxes, an external source, a hosted target), who may watch it, a move under way is shown
instead of starting a second, and one whose process is gone can be started again (resumed).
The move itself, in Chromium on the real stacks: test_move_browser.py."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from app_fixtures import login
from sqlalchemy import func, select
from tricoma_mail_v2_hosted import marks
from tricoma_mail_v2_hosted.tables import move_runs

from hostapp.extensions import db
from tricoma_mail_plugin import utcnow
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access

MOVE = "/mail/v2/move/"


@pytest.fixture
def boxes(app, make_user):
    """An external and a hosted mailbox; "verwalterin" manages both, "halb" only the external
    one (and reads the hosted one)."""
    both, half = make_user("verwalterin", language="de"), make_user("halb", language="en")
    with app.app_context():
        external, hosted, other_hosted = (Mailbox(title=title, kind="imap") for title in ("Alt", "Neu", "Neu 2"))
        db.session.add_all([external, hosted, other_hosted])
        db.session.commit()
        for box in (external, hosted, other_hosted):
            access.grant(box.id, "user", both.id, "manage")
        access.grant(external.id, "user", half.id, "manage")
        access.grant(hosted.id, "user", half.id, "read")
        marks.mark(hosted.id)
        marks.mark(other_hosted.id)
        return external.id, hosted.id, other_hosted.id


def client_of(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def runs_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(move_runs))


def add_run(app, source_id: int, target_id: int, state: str, seconds_ago: float) -> int:
    with app.app_context():
        when = utcnow() - timedelta(seconds=seconds_ago)
        run_id = db.session.execute(move_runs.insert().values(
            source_id=source_id, target_id=target_id, job_key=f"test:{source_id}:{target_id}:{seconds_ago}",
            state=state, total=10, handled=4, copied=0, skipped=0, folder="INBOX", started_by="1",
            created_at=when, updated_at=when)).inserted_primary_key[0]
        db.session.commit()
        return run_id


def test_only_who_manages_both_may_move_and_only_into_a_hosted_mailbox(app, boxes):
    external, hosted, other_hosted = boxes
    manager = client_of(app, "verwalterin")
    page = manager.get(MOVE).get_data(as_text=True)
    assert 'id="move-form"' in page and "Postfach zu tricoma umziehen" in page
    assert f'<option value="{external}">Alt</option>' in page  # the source choice: external only
    assert f'<option value="{hosted}">Neu</option>' in page.split('id="move-target"')[1]
    assert f'<option value="{hosted}">' not in page.split('id="move-target"')[0]
    assert "Postfach umziehen" in manager.get("/mail/settings/").get_data(as_text=True)

    refused = manager.post(MOVE, data={"source": hosted, "target": other_hosted})
    assert refused.status_code == 400
    assert "Die Quelle muss ein externes Postfach sein" in refused.get_data(as_text=True)
    refused = manager.post(MOVE, data={"source": other_hosted, "target": external})
    assert "Das Ziel muss ein bei tricoma gehostetes Postfach sein." in refused.get_data(as_text=True)
    assert manager.post(MOVE, data={"source": "x", "target": ""}).status_code == 400

    half = client_of(app, "halb")  # manages the source, only reads the target
    assert half.post(MOVE, data={"source": external, "target": hosted}).status_code == 403
    assert half.post(MOVE, data={"source": external, "target": 999999}).status_code == 404
    page = half.get(MOVE).get_data(as_text=True)
    assert 'id="move-nothing"' in page and 'id="move-form"' not in page
    assert "Move a mailbox" not in half.get("/mail/settings/").get_data(as_text=True)
    assert runs_count(app) == 0

    run_id = add_run(app, external, hosted, "done", 5)
    assert half.get(f"{MOVE}{run_id}").status_code == 403  # not theirs to watch
    assert half.get(f"{MOVE}{run_id}/status").status_code == 403
    status = manager.get(f"{MOVE}{run_id}/status").get_json()
    assert (status["state"], status["percent"], status["active"]) == ("done", 100, False)


def test_a_move_under_way_is_shown_and_a_lost_one_can_be_resumed(app, boxes):
    external, hosted, _ = boxes
    manager = client_of(app, "verwalterin")
    running = add_run(app, external, hosted, "running", 2)  # wrote its progress 2 s ago
    started = manager.post(MOVE, data={"source": external, "target": hosted})
    assert started.status_code == 302 and started.headers["Location"].endswith(f"{MOVE}{running}")
    assert runs_count(app) == 1
    page = manager.get(f"{MOVE}{running}").get_data(as_text=True)
    assert "Wird kopiert …" in page and "4 von 10 Nachrichten" in page and 'value="40"' in page
    assert 'id="move-again" hidden' in page and "move.js" in page
    status = manager.get(f"{MOVE}{running}/status").get_json()
    assert status["active"] and status["count_text"] == "4 von 10 Nachrichten"

    app.config["TRICOMA_MAIL_V2_MOVE_STALE_SECONDS"] = 1  # its process died: no progress since
    status = manager.get(f"{MOVE}{running}/status").get_json()
    assert status["state"] == "interrupted" and not status["active"]
    assert "Starten Sie ihn erneut" in status["state_text"]
    resumed = manager.post(MOVE, data={"source": external, "target": hosted})
    assert resumed.status_code == 302 and not resumed.headers["Location"].endswith(f"{MOVE}{running}")
    assert runs_count(app) == 2
    # the job ran (in a thread of this process) and stopped at once: these mailboxes have no server
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with app.app_context():
            state, error = db.session.execute(select(move_runs.c.state, move_runs.c.error)
                                              .order_by(move_runs.c.id.desc())).first()
        if state == "failed":
            break
        time.sleep(0.1)
    assert state == "failed" and error
