"""The customer's pages without a hosting stack: sign-in, languages, mailbox set-up failing with
its reason, the rules for names, domains, quota and addresses, the grace period from the config;
and the portal's migrations build exactly the models' schema."""
from __future__ import annotations

import time
from datetime import timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from portal_testing import PASSWORD, TEST_CONFIG, active_domain, sign_in
from sqlalchemy import select
from tricoma_portal import create_app, mailboxes, provisioning_jobs, purge_job
from tricoma_portal.extensions import db
from tricoma_portal.models import Base, Domain, DomainOrder, Mailbox, utcnow


def test_sign_in_languages_and_the_rules_of_mailboxes_and_addresses(portal_app, make_customer, make_operator):
    portal_app.config["TRICOMA_PORTAL_GRACE_DAYS"] = 3
    customer = make_customer("Seiten Kunde", language="de")
    other = make_customer("Andere Firma")
    operator = make_operator()
    with portal_app.app_context():
        domain_id = active_domain(customer.admin_email, operator, "seiten.test")
        other_domain_id = active_domain(other.admin_email, operator, "andere.test")

    client = portal_app.test_client()
    wrong = client.post("/login", data={"email": customer.user_email, "password": "wrong"})
    assert wrong.status_code == 401 and "E-Mail-Adresse oder Passwort ist falsch." in wrong.get_data(as_text=True)
    client = sign_in(portal_app, customer.user_email)
    assert "Postfach anlegen" in client.get("/mailboxes").get_data(as_text=True)
    changed = client.post("/account", data={"current_password": "nope", "new_password": "a new secret",
                                            "back": "/account"}, follow_redirects=True)
    assert "Das aktuelle Passwort ist falsch." in changed.get_data(as_text=True)
    client.post("/account", data={"current_password": PASSWORD, "new_password": "a new secret"})
    assert portal_app.test_client().post("/login", data={"email": customer.user_email,
                                                         "password": PASSWORD}).status_code == 401
    client = sign_in(portal_app, customer.user_email, "a new secret")
    client.post("/language", data={"language": "en", "back": "/mailboxes"})
    assert "Create a mailbox" in client.get("/mailboxes").get_data(as_text=True)

    def refused(data, message):
        page = client.post("/mailboxes", data={**data, "back": "/mailboxes"}, follow_redirects=True)
        assert message in page.get_data(as_text=True), message

    refused({"name": "a b", "domain_id": domain_id}, "A mailbox name has letters")
    refused({"name": "x", "domain_id": other_domain_id}, "Please choose one of your active domains.")
    refused({"name": "x", "domain_id": domain_id, "quota_mb": "0"}, "The quota is between 1 and")

    page = client.post("/mailboxes", data={"name": "Team", "domain_id": domain_id, "display_name": "Das Team"})
    text = page.get_data(as_text=True)
    assert "team@seiten.test" in text and "shown only this once" in text
    provisioning_jobs.wait_all(10)
    with portal_app.app_context():
        mailbox = db.session.scalar(select(Mailbox))
        mailbox_id = mailbox.id
        assert (mailbox.state, mailbox.active) == ("failed", 0)
        assert mailbox.aliases[0].address == "team@seiten.test"
    detail = client.get(f"/mailboxes/{mailbox_id}").get_data(as_text=True)
    # the reason is kept in the customer's language (German here), the page is in the user's
    assert "Setting up the mailbox failed: Für dieses Portal ist kein Mailserver eingerichtet." in detail
    assert "Try again" in detail
    refused({"name": "team", "domain_id": domain_id}, "The address team@seiten.test is already in use.")

    def add(address):
        return client.post(f"/mailboxes/{mailbox_id}/addresses",
                           data={"address": address, "back": f"/mailboxes/{mailbox_id}"}, follow_redirects=True)

    assert "The address must be on one of your active domains." in add("x@andere.test").get_data(as_text=True)
    assert "The mailbox has this address already." in add("team@seiten.test").get_data(as_text=True)
    add("info@seiten.test")
    with portal_app.app_context():
        aliases = {a.address: a.id for a in db.session.get(Mailbox, mailbox_id).aliases}
    client.post(f"/mailboxes/{mailbox_id}/addresses/{aliases['info@seiten.test']}/remove")
    page = client.get(f"/mailboxes/{mailbox_id}").get_data(as_text=True)
    assert 'name="delete_mailbox" value="yes" required' in page  # the last address asks first
    assert "Delete the mailbox with all its mail in 3 days" in page
    refused_removal = client.post(f"/mailboxes/{mailbox_id}/addresses/{aliases['team@seiten.test']}/remove")
    assert refused_removal.status_code == 409
    assert "Removing the last address deletes the mailbox" in refused_removal.get_data(as_text=True)
    with portal_app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert mailbox.state == "failed" and [a.address for a in mailbox.aliases] == ["team@seiten.test"]
    client.post(f"/mailboxes/{mailbox_id}/addresses/{aliases['team@seiten.test']}/remove",
                data={"delete_mailbox": "yes"})
    with portal_app.app_context():
        mailbox = db.session.get(Mailbox, mailbox_id)
        assert mailbox.state == "deleting"
        left = mailbox.delete_after - utcnow()
        assert timedelta(days=2, hours=23) < left <= timedelta(days=3)  # the configured grace
    assert "deleted on" in client.get("/mailboxes").get_data(as_text=True)


def test_migrations_build_the_models_schema(portal_database_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": portal_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        db.engine.dispose()
    assert differences == []


def test_a_stack_that_is_down_fails_visibly_and_leaves_orders_where_they_were(
        portal_app, make_customer, make_operator, tmp_path):
    portal_app.config["TRICOMA_PORTAL_HOSTING_STATE_DIR"] = str(tmp_path / "no-stack-here")
    customer = make_customer("Ohne Stack", language="de")
    operator = sign_in(portal_app, make_operator())
    admin = sign_in(portal_app, customer.admin_email)
    admin.post("/domains/order", data={"name": "ohne-stack.test"})
    with portal_app.app_context():
        order = db.session.scalar(select(DomainOrder))
        order_id, domain_id = order.id, order.domain_id
    response = operator.post(f"/admin/orders/{order_id}/complete")
    assert response.status_code == 503
    assert "The mail servers cannot be reached right now." in response.get_data(as_text=True)
    with portal_app.app_context():
        order = db.session.get(DomainOrder, order_id)
        assert (order.state, order.domain.state, order.domain.active) == ("requested", "pending", 0)
    # a domain that is active meanwhile: its mailbox fails with the reason, in the customer's language
    with portal_app.app_context():
        domain = db.session.get(Domain, domain_id)
        domain.state, domain.active = "active", 1
        db.session.commit()
    admin.post("/mailboxes", data={"name": "info", "domain_id": domain_id})
    provisioning_jobs.wait_all(10)
    with portal_app.app_context():
        mailbox_id = db.session.scalar(select(Mailbox.id))
    page = admin.get(f"/mailboxes/{mailbox_id}").get_data(as_text=True)
    assert "fehlgeschlagen" in page and "Die Mailserver sind gerade nicht erreichbar." in page


def test_the_purge_job_takes_mailboxes_whose_grace_period_is_over(portal_app, make_customer, make_operator):
    customer = make_customer("Purge Kunde")
    with portal_app.app_context():
        domain_id = active_domain(customer.admin_email, make_operator(), "purge.test")
        expired, _ = mailboxes.create_mailbox(customer.tenant_id, "alt", domain_id)
        kept, _ = mailboxes.create_mailbox(customer.tenant_id, "neu", domain_id)
        provisioning_jobs.wait_all(10)
        for mailbox, days in ((expired, -1), (kept, 1)):
            mailbox.state, mailbox.delete_after = "deleting", utcnow() + timedelta(days=days)
        db.session.commit()
        expired_id, kept_id = expired.id, kept.id
    portal_app.config["TRICOMA_PORTAL_PURGE_INTERVAL"] = 0.1
    thread = purge_job.start(portal_app)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with portal_app.app_context():
                gone = db.session.get(Mailbox, expired_id) is None
                db.session.remove()
            if gone:
                break
            time.sleep(0.1)
    finally:
        portal_app.extensions["tricoma_portal.purge_stop"].set()
        thread.join(5)
    with portal_app.app_context():
        assert db.session.get(Mailbox, expired_id) is None
        assert db.session.get(Mailbox, kept_id).state == "deleting"
