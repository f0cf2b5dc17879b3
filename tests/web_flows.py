"""What a person does in the mail client, over real HTTP (a ``requests.Session``, which Locust's
client also is): log in, open lists and messages, search, write and send (and undo). Shared by
the cluster test (tests/test_cluster_live.py) and the load test (bench/load_test.py)."""
from __future__ import annotations

import re
from html import unescape

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')
_SENT_BANNER = re.compile(r'/mail/m/(\d+)/sent/(\d+)/undo')
_MESSAGE_LINK = re.compile(r'href="(/mail/m/\d+/messages/\d+)[^"]*"')


def hidden_fields(html: str) -> dict[str, str]:
    return {name: unescape(value) for name, value in _HIDDEN.findall(html)}


def log_in(session, base: str, username: str, password: str, name: str | None = None) -> None:
    page = _get(session, f"{base}/login", name or "login form")
    form = {"csrf_token": hidden_fields(page.text).get("csrf_token", ""), "username": username, "password": password}
    response = _post(session, f"{base}/login", form, "login")
    if "/login" in response.url:
        raise RuntimeError(f"login of {username} failed ({response.status_code})")


def compose_and_send(session, base: str, mailbox_id: int, to: str, subject: str, body: str,
                     action: str = "send") -> int | None:
    """Open the editor, fill it in and send. Returns the outbox item's id (from the undo
    banner on the page the redirect leads to), or None when the page shows none."""
    page = _get(session, f"{base}/mail/m/{mailbox_id}/compose", "compose form")
    page.raise_for_status()
    form = hidden_fields(page.text)
    form.update({"from": str(mailbox_id), "to": to, "cc": "", "bcc": "", "subject": subject,
                 "body": body, "action": action})
    response = _post(session, f"{base}/mail/m/{mailbox_id}/compose", form, "send")
    response.raise_for_status()
    found = _SENT_BANNER.search(response.text)
    return int(found.group(2)) if found else None


def undo_send(session, base: str, mailbox_id: int, item_id: int, csrf_token: str) -> bool:
    response = _post(session, f"{base}/mail/m/{mailbox_id}/sent/{item_id}/undo", {"csrf_token": csrf_token}, "undo send")
    return response.ok and "/compose" in response.url


def message_links(html: str) -> list[str]:
    return list(dict.fromkeys(_MESSAGE_LINK.findall(html)))


def _named(session) -> bool:
    """Locust's client takes ``name=`` to group requests; a plain requests session does not."""
    return type(session).__module__.startswith("locust")


def _get(session, url: str, name: str):
    return session.get(url, name=name) if _named(session) else session.get(url)


def _post(session, url: str, data: dict, name: str):
    return session.post(url, data=data, name=name) if _named(session) else session.post(url, data=data)
