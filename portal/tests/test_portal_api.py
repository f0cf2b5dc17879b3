"""API tokens (shown once, stored hashed, revocable, customer admins only) and
``GET /api/v1/mailboxes`` with a per-integration app password; tokens never reach the log."""
from __future__ import annotations

import hashlib
import logging
import re

from portal_testing import active_domain, sign_in
from sqlalchemy import select, text
from tricoma_portal import mailboxes, provisioning_jobs, secret_box
from tricoma_portal.extensions import db
from tricoma_portal.hosting import passwords
from tricoma_portal.models import ApiToken, AppPassword, Mailbox


def _customer_with_mailboxes(app, make_customer, make_operator):
    customer = make_customer("Api Kunde")
    operator_email = make_operator()
    with app.app_context():
        domain_id = active_domain(customer.admin_email, operator_email, "api-kunde.test")
        ready, _ = mailboxes.create_mailbox(customer.tenant_id, "ready", domain_id)
        mailboxes.create_mailbox(customer.tenant_id, "waiting", domain_id)
        provisioning_jobs.wait_all(10)  # no hosting stack here: both fail at once
        mailboxes.add_address(ready, "sales@api-kunde.test")
        ready.state, ready.active = "active", 1  # what provisioning leaves on the real stack
        db.session.commit()
    return customer


def test_tokens_are_shown_once_stored_hashed_and_revocable(portal_app, make_customer, make_operator, caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    customer = _customer_with_mailboxes(portal_app, make_customer, make_operator)
    admin = sign_in(portal_app, customer.admin_email)
    assert sign_in(portal_app, customer.user_email).post("/tokens", data={"label": "x"}).status_code == 404

    created = admin.post("/tokens", data={"label": "Unser ERP"}).get_data(as_text=True)
    token = re.search(r'<code class="secret">(tpt_[^<]+)</code>', created).group(1)
    assert token not in admin.get("/tokens").get_data(as_text=True)  # once only
    with portal_app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr(db.session.execute(text("SELECT * FROM api_tokens")).all())

    api = portal_app.test_client()
    assert api.get("/api/v1/mailboxes").status_code == 401
    assert api.get("/api/v1/mailboxes", headers={"Authorization": "Bearer tpt_wrong"}).status_code == 401
    assert api.get(f"/api/v1/mailboxes?token={token}").status_code == 401  # header only
    response = api.get("/api/v1/mailboxes", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    listed = {entry["login"]: entry for entry in response.get_json()["mailboxes"]}
    assert set(listed) == {"ready@api-kunde.test", "waiting@api-kunde.test"}
    ready = listed["ready@api-kunde.test"]
    assert ready["addresses"] == ["ready@api-kunde.test", "sales@api-kunde.test"]
    assert ready["state"] == "active" and ready["quota_bytes"] == 1024 * 1024 * 1024
    assert listed["waiting@api-kunde.test"]["state"] == "failed"
    assert listed["waiting@api-kunde.test"]["credentials"] is None
    app_password = ready["credentials"]["app_password"]
    assert ready["credentials"] == {"username": "ready@api-kunde.test", "app_password": app_password,
                                    "label": "Unser ERP"}
    with portal_app.app_context():
        stored = db.session.scalar(select(AppPassword))
        mailbox = db.session.get(Mailbox, stored.mailbox_id)
        assert mailbox.login == "ready@api-kunde.test" and stored.active == 1
        assert stored.selector == app_password[:8]
        assert passwords.verify_password(app_password, stored.password_hash)
        assert not passwords.verify_password(app_password, mailbox.password_hash)
        assert secret_box.decrypt(stored.secret_encrypted) == app_password
        assert app_password not in repr(db.session.execute(text("SELECT * FROM app_passwords")).all())
        token_id = row.id
    # the customer sees it on the mailbox page, by its selector only
    page = admin.get(f"/mailboxes/{mailbox.id}").get_data(as_text=True)
    assert "Unser ERP" in page and stored.selector in page and app_password not in page

    assert admin.post(f"/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/mailboxes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with portal_app.app_context():
        revoked = db.session.scalar(select(AppPassword))
        assert revoked.active == 0 and revoked.secret_encrypted is None
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    assert "SELECT api_tokens" in log_text  # the statement log is really captured
    assert token not in log_text and app_password not in log_text
