"""Tenant isolation, like the rights matrix: every route of the portal, as each role of another
tenant (and as the operator), with the victim tenant's ids → 404 and none of its data; the
victim's rows are unchanged afterwards. A route added without a row here fails the test."""
from __future__ import annotations

import pytest
from portal_testing import active_domain, sign_in
from sqlalchemy import func, select
from tricoma_portal import (
    api_tokens,
    domain_orders,
    domains,
    mailboxes,
    provisioning_jobs,
)
from tricoma_portal.extensions import db
from tricoma_portal.models import (
    Alias,
    ApiToken,
    AppPassword,
    Domain,
    DomainOrder,
    Mailbox,
    User,
)

# Routes anyone may call (no tenant data behind them), and the API (tested below with tokens).
PUBLIC = {"static", "auth.favicon", "auth.start", "auth.login", "auth.logout", "auth.language", "api.list_mailboxes",
          "autoconfig.thunderbird", "autoconfig.outlook"}


@pytest.fixture
def world(portal_app, make_customer, make_operator):
    victim = make_customer("Victim Corp")
    intruder = make_customer("Intruder Ltd")
    operator_email = make_operator()
    with portal_app.app_context():
        victim_admin = db.session.scalar(select(User).where(User.email == victim.admin_email))
        domain_id = active_domain(victim.admin_email, operator_email, "victim-mail.test")
        pending = domain_orders.order_domain(victim.tenant_id, victim_admin.id, "victim-moving.test",
                                             auth_code="Victim-Code-42")
        external = domains.add_external_domain(victim.tenant_id, "victim-own.test")
        mailbox, _password = mailboxes.create_mailbox(victim.tenant_id, "boss", domain_id)
        provisioning_jobs.wait_all(10)  # it fails at once here: no hosting stack
        mailboxes.add_address(mailbox, "ceo@victim-mail.test")
        token, _plain = api_tokens.create_token(victim.tenant_id, victim_admin.id, "Victim ERP")
        mailbox.state, mailbox.active = "active", 1  # as provisioning would leave it
        api_tokens.integration_password(token, mailbox)
        db.session.commit()
        ids = {
            "domain_id": external.id, "mailbox_id": mailbox.id,
            "alias_id": mailbox.aliases[1].id, "app_password_id": mailbox.app_passwords[0].id,
            "token_id": token.id, "user_id": victim_admin.id, "order_id": pending.id,
            "active_domain_id": domain_id,
        }
    return victim, intruder, operator_email, ids


VICTIM_MARKERS = ("victim-mail.test", "victim-own.test", "victim-moving.test", "Victim Corp",
                  "Victim ERP", "boss@", "ceo@", "admin@victimcorp.test", "Victim-Code-42")


def victim_state(app, tenant_id):
    with app.app_context():
        db.session.expire_all()
        counts = {model.__name__: db.session.scalar(
            select(func.count()).select_from(model).where(model.tenant_id == tenant_id))
            for model in (Domain, Mailbox, Alias, AppPassword, ApiToken, DomainOrder, User)}
        details = (
            sorted((d.name, d.state, d.active) for d in db.session.scalars(
                select(Domain).where(Domain.tenant_id == tenant_id))),
            sorted((m.local_part, m.state, m.quota, m.password_hash, m.active) for m in db.session.scalars(
                select(Mailbox).where(Mailbox.tenant_id == tenant_id))),
            sorted((a.active, a.selector) for a in db.session.scalars(
                select(AppPassword).where(AppPassword.tenant_id == tenant_id))),
            sorted(str(t.revoked_at) for t in db.session.scalars(
                select(ApiToken).where(ApiToken.tenant_id == tenant_id))),
            sorted(o.state for o in db.session.scalars(
                select(DomainOrder).where(DomainOrder.tenant_id == tenant_id))),
        )
        return counts, details


def _url(rule, ids) -> str:
    values = {name: ids[name] for name in rule.arguments}
    return rule.build(values, append_unknown=False)[1]


def test_every_route_as_each_role_of_another_tenant_gives_404_and_no_data(portal_app, world):
    """Also: the intruder's API token lists none of the victim's mailboxes, and a signed-out
    visitor is sent to the login from every route."""
    victim, intruder, operator_email, ids = world
    before = victim_state(portal_app, victim.tenant_id)
    clients = {
        "customer_admin": sign_in(portal_app, intruder.admin_email),
        "customer_user": sign_in(portal_app, intruder.user_email),
        "operator": sign_in(portal_app, operator_email),
    }
    # form values that point at the victim's objects where a route takes them from the form
    form = {"domain_id": str(ids["active_domain_id"]), "name": "intruder", "address": "x@victim-mail.test",
            "confirm": "boss@victim-mail.test", "quota_mb": "5", "reason": "no", "label": "x",
            "email": "new@intruder.test", "contact_email": "c@intruder.test"}
    checked = 0
    for rule in portal_app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for role, client in clients.items():
            if role == "operator" and rule.endpoint.startswith("operator."):
                continue  # the operator's area spans every tenant by design (test_portal_domain_orders)
            url = _url(rule, ids)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(url, method=method, data=form if method == "POST" else None)
                body = response.get_data(as_text=True)
                leaked = [marker for marker in VICTIM_MARKERS if marker in body]
                assert not leaked, (role, method, url, leaked)
                allowed = portal_app.view_functions[rule.endpoint].allowed_roles
                if rule.arguments or role not in allowed:
                    assert response.status_code == 404, (role, method, url, response.status_code)
                else:
                    # an own-tenant page or form: it works on the intruder's own data only
                    assert response.status_code in (200, 302, 400), (role, method, url, response.status_code)
                checked += 1
    assert checked > 60
    _api_token_sees_only_its_own_tenant(portal_app, intruder)
    _signed_out_visitors_are_sent_to_the_login(portal_app, ids)
    assert victim_state(portal_app, victim.tenant_id) == before


def _api_token_sees_only_its_own_tenant(portal_app, intruder):
    with portal_app.app_context():
        intruder_admin = db.session.scalar(select(User).where(User.email == intruder.admin_email))
        _token, plain = api_tokens.create_token(intruder.tenant_id, intruder_admin.id, "Intruder ERP")
    response = portal_app.test_client().get("/api/v1/mailboxes",
                                            headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
    assert response.get_json() == {"mailboxes": []}
    assert not [m for m in VICTIM_MARKERS if m in response.get_data(as_text=True)]


def _signed_out_visitors_are_sent_to_the_login(portal_app, ids):
    client = portal_app.test_client()
    for rule in portal_app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_url(rule, ids), method=method)
            assert response.status_code == 302 and "/login" in response.headers["Location"], rule
