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


# `chromium` (pages of Debian's headless Chromium) is in tests/browser_fixtures.py, shared with tests/.
