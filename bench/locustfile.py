"""The Locust users of the load test (bench/load_test.py starts Locust with this file; see there).

Each simulated user logs in as one of the load test's host users and, with pauses of 1–5 s:
browses its mailbox's INBOX (and the next page), opens messages (the reading view and its body
frame), searches, and writes and sends mail, now and then pressing Undo; 1 in 20 sends goes
through an app (the invoices app's "send by mail" dialog). Every mail it sends carries a unique
token in its subject, written with the outcome to ``$TRICOMA_LOAD_SENT`` (one file per Locust
process), so the load test can count each on the mail server afterwards.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
from pathlib import Path

from locust import HttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from web_flows import compose_and_send, hidden_fields, log_in, message_links, undo_send

PLAN = json.loads(Path(os.environ["TRICOMA_LOAD_PLAN"]).read_text())
SENT_LOG = Path(os.environ["TRICOMA_LOAD_SENT"])
SEARCH_WORDS = ("Rechnung", "meeting", "Angebot", "invoice", "Termin", "project", "Bestellung")
APP_SHARE = int(os.environ.get("TRICOMA_LOAD_APP_SHARE", "20"))  # 1 in 20 sends from an app
UNDO_SHARE = 8  # 1 in 8 of the others is undone


def record(line: dict) -> None:
    with SENT_LOG.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


class MailUser(HttpUser):
    wait_time = between(1, 5)

    def on_start(self) -> None:
        account = random.choice(PLAN["users"])
        self.mailbox_id = account["mailbox_id"]
        self.messages: list[str] = []
        log_in(self.client, "", account["username"], account["password"])

    @task(10)
    def browse(self) -> None:
        page = self.client.get(f"/mail/m/{self.mailbox_id}/", name="list: INBOX")
        if page.ok:
            self.messages = message_links(page.text) or self.messages
            nxt = page.text.find('rel="next" href="')
            if nxt >= 0 and random.random() < 0.3:
                href = page.text[nxt + 17:page.text.index('"', nxt + 17)].replace("&amp;", "&")
                self.client.get(href, name="list: next page")

    @task(8)
    def open_message(self) -> None:
        if not self.messages:
            return self.browse()
        link = random.choice(self.messages)
        page = self.client.get(link, name="open: reading view")
        if page.ok and '<iframe class="mail-body" src="' in page.text:
            # only a body above the inline limit is loaded by the frame; others ride in srcdoc
            self.client.get(f"{link}/body", name="open: body frame")

    @task(3)
    def search(self) -> None:
        self.client.get(f"/mail/m/{self.mailbox_id}/search", params={"q": random.choice(SEARCH_WORDS)},
                        name="search: subject and text")

    @task(3)
    def send(self) -> None:
        token = uuid.uuid4().hex[:12]
        to = random.choice(PLAN["recipients"])["email"]
        subject = f"Last {token}"
        if random.randrange(APP_SHARE) == 0:
            return self._send_from_app(token, to, subject)
        try:
            item_id = compose_and_send(self.client, "", self.mailbox_id, to, subject, "Guten Tag,\nein Test.\n")
        except Exception as error:  # noqa: BLE001 - recorded: a request lost with a killed process
            record({"token": token, "via": "compose", "ok": False, "error": str(error)[:200]})
            return None
        undone = False
        if item_id and random.randrange(UNDO_SHARE) == 0:
            form = self.client.get(f"/mail/m/{self.mailbox_id}/compose", name="compose form")
            csrf = hidden_fields(form.text).get("csrf_token") if form.ok else None
            if csrf:  # a page that did not come (a killed process) has no form to press Undo on
                undone = undo_send(self.client, "", self.mailbox_id, item_id, csrf)
        record({"token": token, "via": "compose", "ok": True, "item": item_id, "undone": undone})
        return None

    def _send_from_app(self, token: str, to: str, subject: str) -> None:
        dialog = self.client.get("/mail/compose/app/", params={"reference": PLAN["app_reference"]},
                                 name="app: send dialog")
        if not dialog.ok:
            record({"token": token, "via": "app", "ok": False, "error": f"dialog {dialog.status_code}"})
            return
        form = hidden_fields(dialog.text)
        form.update({"mailbox": str(self.mailbox_id), "to": to, "cc": "", "bcc": "", "subject": subject,
                     "text": "Guten Tag,\nanbei die Rechnung.\n"})
        response = self.client.post("/mail/compose/app/", data=form, name="app: send")
        record({"token": token, "via": "app", "ok": response.ok, "status": response.status_code})


FAILURE_LOG = Path(os.environ["TRICOMA_LOAD_FAILURES"])


@events.request.add_listener
def _failed(request_type, name, response_time, response_length, exception=None, **_kwargs) -> None:
    """Every failed request with its moment, so the load test can tell those in flight on the
    killed process from the others."""
    if exception is not None:
        with FAILURE_LOG.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"at": time.time(), "name": name, "error": repr(exception)[:200]}) + "\n")


@events.quitting.add_listener
def _done(environment, **_kwargs) -> None:
    environment.process_exit_code = 0  # the load test judges by its own counts
