"""Fixtures of the plugin's tests on the real hosting stack: the hosting portal served over HTTP
on 127.0.0.1 (``portal``), for the import tests and the browser tests."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest
from werkzeug.serving import make_server

PORTAL_PASSWORD = "correct horse battery"


@dataclass
class Portal:
    app: object
    url: str
    tenant_id: int
    admin_id: int
    domain_id: int
    domain: str

    def new_token(self, label: str = "ERP") -> tuple[int, str]:
        """A new API token of the customer: (its id, the token)."""
        from tricoma_portal import api_tokens

        with self.app.app_context():
            token, plain = api_tokens.create_token(self.tenant_id, self.admin_id, label)
            return token.id, plain

    def add_mailboxes(self, *names: tuple[str, str]) -> dict[str, tuple[int, str, str]]:
        """Mailboxes (local part, display name), provisioned on the stack: by local part, (the
        portal's id, the login, the mailbox's own password)."""
        from tricoma_portal import mailboxes, provisioning_jobs

        made = {}
        with self.app.app_context():
            for local_part, title in names:
                mailbox, password = mailboxes.create_mailbox(self.tenant_id, local_part, self.domain_id, title)
                made[local_part] = (mailbox.id, mailbox.login, password)
            assert provisioning_jobs.wait_all(15)
        return made


@pytest.fixture
def portal(hostingstack):
    """The portal app on the hosting stack's database, served on 127.0.0.1, with a customer and
    an active domain."""
    from tricoma_portal import accounts, create_app, domain_orders
    from tricoma_portal.extensions import db as portal_db
    from tricoma_portal.models import ROLE_OPERATOR

    database_url = hostingstack.database_url
    if hostingstack.db_schema:
        database_url += ("&" if "?" in database_url else "?") + f"options=-csearch_path%3D{hostingstack.db_schema}"
    app = create_app({"TESTING": True, "SECRET_KEY": "portal-test-secret", "WTF_CSRF_ENABLED": False,
                      "TRICOMA_PORTAL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "TRICOMA_PORTAL_PURGE_INTERVAL": 0,
                      "SQLALCHEMY_DATABASE_URI": database_url,
                      "TRICOMA_PORTAL_HOSTING_STATE_DIR": str(hostingstack.client.state_dir)})
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        operator, _ = accounts.create_user(None, f"op-{tag}@hoster.test", ROLE_OPERATOR, password=PORTAL_PASSWORD)
        tenant, admin, _ = accounts.create_tenant(f"Import {tag}", f"c-{tag}@kunde.test", language="de",
                                                  admin_password=PORTAL_PASSWORD)
        order = domain_orders.order_domain(tenant.id, admin.id, f"import-{tag}.test")
        domain_orders.complete(order, operator.id)
        found = Portal(app, "", tenant.id, admin.id, order.domain_id, order.domain.name)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_port}"
    yield found
    server.shutdown()
    thread.join(5)
    with app.app_context():
        portal_db.session.remove()
        portal_db.engine.dispose()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def chromium(tmp_path):
    """Factory ``chromium(locale)`` → a new page of Debian's headless Chromium (Playwright) in a
    context of that language. ``page.problems`` collects script errors, ``page.shot(name)``
    writes ``<tmp>/screenshots/<name>.png``, ``page.sign_in(base_url, username, password)``
    signs in to the Mailclient.

    Playwright starts at the first call: start the live server before it, because the live
    server is a forked process, and a fork made later holds Playwright's driver pipe open (the
    driver then never ends and the test hangs at its end)."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    from contextlib import ExitStack
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    started = {}

    with ExitStack() as stack:
        def new_page(locale: str = "de-DE"):
            if "browser" not in started:
                playwright = stack.enter_context(playwright_api.sync_playwright())
                started["browser"] = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                                args=CHROMIUM_ARGS)
                stack.callback(started["browser"].close)
            context = started["browser"].new_context(locale=locale, viewport={"width": 1280, "height": 800})
            stack.callback(context.close)
            page = context.new_page()
            page.problems = []
            page.on("pageerror", lambda error: page.problems.append(str(error)))
            page.shot = lambda name: page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            page.sign_in = lambda base_url, username, password: _sign_in(page, base_url, username, password)
            return page

        yield new_page
    print(f"screenshots: {shots}")


def _sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
