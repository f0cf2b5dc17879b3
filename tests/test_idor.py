"""Ids of other mailboxes (issue 5, "Bad input"): the user of mailbox A tries every mailbox-scoped
route with the ids of mailbox B, of a deleted mailbox, and forged ids; each answers 404 with no
traceback and nothing of the other mailbox. Revoking a right takes effect on the very next
request, in every app instance; a user who loses a right while a page is open is told so.

The routes come from the URL map, through the classification of test_rights_matrix: every
classified route with an id argument is tried, so new routes are covered as they are classified.
"""
from __future__ import annotations

import pytest

from app_fixtures import login
from hostapp.extensions import db
from test_rights_matrix import EXPECTED, Scene, failed_outbox_item, mail_rules, own_template, route_values, send
from test_rights_matrix import stock_mailbox  # noqa: F401,F811  (a fixture, used by name)
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.rights.catalogue import CORE_RIGHT_KEYS
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox, utcnow

BASE = "/mail/settings/mailboxes"
HUGE = (2**31, 2**63 - 1, 2**63, 2**64, 10**30)


def page(response) -> str:
    return response.get_data(as_text=True)


def client_of(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def user_id(app, username: str) -> str:
    with app.app_context():
        return mail_state().directory.find("user", username).id


@pytest.fixture
def abc(app, stock_mailbox, make_user) -> dict[str, Scene]:
    """Mailboxes A (user "owner"), B (user "bertha" only) and C (deleted; "owner" still holds
    its grants), each with a synced message, a failed outbox item and an app mail of "owner"."""
    made = {name: stock_mailbox(name.title()) for name in ("alpha", "bravo", "charlie")}
    bertha = make_user("bertha", language="en")
    owner = user_id(app, "owner")
    with app.app_context():
        for scene in made.values():
            scene.own_items[owner] = failed_outbox_item(scene.mailbox_id, f"{scene.title} app mail",
                                                        state="queued", created_by=owner)
            own_template(scene, owner)
        for right in CORE_RIGHT_KEYS:
            access.revoke(made["bravo"].mailbox_id, "user", owner, right, actor="test")
            access.grant(made["bravo"].mailbox_id, "user", bertha.id, right, actor="test")
        db.session.get(Mailbox, made["charlie"].mailbox_id).deleted_at = utcnow()
        db.session.commit()
    return made


def scoped_rules(app):
    """Every classified route whose path names mailbox data by id."""
    return [rule for rule in mail_rules(app) if rule.endpoint in EXPECTED
            and any(argument.endswith(("_id", "_pk")) for argument in rule.arguments)]


def forged_values(made: dict[str, Scene], argument: str, owner: str) -> list:
    """Ids of B and of the deleted C, and ids no one has; a part id only exists within a
    message, so only parts that do not exist are forged."""
    bravo, charlie = made["bravo"], made["charlie"]
    if argument == "mailbox_id":
        return [bravo.mailbox_id, charlie.mailbox_id, -1, 0, *HUGE]
    if argument == "item_id":
        return [bravo.item_id, charlie.item_id, charlie.own_items[owner], bravo.own_items[owner], -1, 0, *HUGE]
    if argument == "message_pk":
        return [bravo.message_pk, charlie.message_pk, -1, 0, *HUGE]
    if argument == "part_id":
        return ["3", "99", "0", "2.1", "1.2.3", "-1", "9" * 30]
    if argument in ("tag_id", "thread_id", "reminder_id", "template_id"):  # tags and team mail (issue 15)
        return [getattr(bravo, argument), getattr(charlie, argument), -1, 0, *HUGE]
    if argument == "run_id":  # a move of an external mailbox into a hosted one (issue 12)
        return [bravo.move_run_id, charlie.move_run_id, -1, 0, *HUGE]
    if argument == "token":
        # an upload of the compose dialog: random, and only the session's own count (another
        # session's token removes nothing: plugins/v2_hosted/tests/test_compose_files.py)
        return []
    raise AssertionError(f"a route takes {argument}: give test_idor forged values for it "
                         "(another mailbox's, a deleted mailbox's, negative, 0, huge)")


def assert_nothing_of(response, made: dict[str, Scene], *names: str) -> None:
    body = page(response)
    where = (response.request.method, response.request.full_path)
    assert response.status_code == 404, (*where, response.status_code)
    assert "Traceback" not in body and "sqlalchemy" not in body.lower(), where
    for name in names:
        for secret in made[name].secrets:
            assert secret not in body, (*where, secret)


# -- another mailbox's ids, a deleted mailbox's ids, forged ids ----------------------------------


def test_every_scoped_route_answers_404_for_foreign_deleted_and_forged_ids(app, abc):
    made, owner = abc, user_id(app, "owner")
    client = client_of(app, "owner")
    adapter = app.url_map.bind("localhost")
    tried = 0
    for rule in scoped_rules(app):
        own = route_values(rule, made["alpha"], owner)
        for argument in rule.arguments:
            for forged in forged_values(made, argument, owner):
                for method in EXPECTED[rule.endpoint]:
                    response = send(client, adapter, rule, method, made["alpha"], owner, {**own, argument: forged})
                    assert_nothing_of(response, made, "bravo", "charlie")
                    tried += 1
    assert tried >= len(scoped_rules(app)) * 8
    with app.app_context():  # nothing was changed through a forged request
        assert db.session.get(Mailbox, made["bravo"].mailbox_id).title == made["bravo"].title
        assert ("user", owner) not in access.grants_of(made["bravo"].mailbox_id)


def test_the_same_routes_with_own_ids_are_not_refused(app, abc):
    """So that the 404s above mean something: mailbox A's own ids get through."""
    made, owner = abc, user_id(app, "owner")
    client = client_of(app, "owner")
    adapter = app.url_map.bind("localhost")
    for rule in scoped_rules(app):
        for method in EXPECTED[rule.endpoint]:
            response = send(client, adapter, rule, method, made["alpha"], owner)
            assert response.status_code in (200, 201, 302, 400, 403), (rule.endpoint, method, response.status_code)


def test_foreign_ids_inside_forms_and_queries_find_nothing(app, abc):
    made = abc
    alpha, bravo, charlie = made["alpha"], made["bravo"], made["charlie"]
    client = client_of(app, "owner")
    draft = {"to": "someone@example.test", "subject": "x", "body": "y", "compose_id": "idor"}
    attempts = [
        ("post", f"/mail/m/{alpha.mailbox_id}/actions", {"action": "read", "ids": bravo.message_pk}, None),
        ("post", f"/mail/m/{alpha.mailbox_id}/actions", {"action": "delete", "ids": charlie.message_pk}, None),
        ("post", "/mail/unified/actions", {"action": "read", "ids": f"{bravo.mailbox_id}:{bravo.message_pk}"}, None),
        ("post", "/mail/unified/actions", {"action": "delete", "ids": f"{alpha.mailbox_id}:{bravo.message_pk}"}, None),
        ("post", "/mail/unified/actions", {"action": "read", "ids": f"{charlie.mailbox_id}:{charlie.message_pk}"}, None),
        ("get", f"/mail/m/{alpha.mailbox_id}/compose", None, {"source": bravo.message_pk}),
        ("get", f"/mail/m/{alpha.mailbox_id}/compose", None, {"source": bravo.message_pk, "mode": "forward"}),
        ("get", f"/mail/m/{alpha.mailbox_id}/compose", None, {"restore": bravo.item_id}),
        ("get", f"/mail/m/{alpha.mailbox_id}/compose", None, {"draft": bravo.message_pk}),
        ("get", f"/mail/m/{alpha.mailbox_id}/compose", None,
         {"draft": bravo.message_pk, "draft_mailbox": bravo.mailbox_id}),
        ("get", f"/mail/m/{alpha.mailbox_id}/compose", None, {"source": alpha.message_pk, "draft": bravo.message_pk,
                                                              "draft_mailbox": bravo.mailbox_id}),
        ("post", f"/mail/m/{alpha.mailbox_id}/compose", {**draft, "from": bravo.mailbox_id, "action": "draft"}, None),
        ("post", f"/mail/m/{alpha.mailbox_id}/compose", {**draft, "from": charlie.mailbox_id}, None),
        ("post", f"/mail/m/{alpha.mailbox_id}/compose/draft", {**draft, "from": bravo.mailbox_id}, None),
    ]
    for method, url, form, query in attempts:
        response = getattr(client, method)(url, data=form, query_string=query)
        assert_nothing_of(response, made, "bravo", "charlie")


def test_the_app_dialog_refuses_a_foreign_mailbox_without_showing_it(app, abc):
    """The dialog's mailbox is a choice among the user's own: another id is a form error."""
    made = abc
    client = client_of(app, "owner")
    for foreign in (made["bravo"].mailbox_id, made["charlie"].mailbox_id, 0, 2**64):
        response = client.post("/mail/compose/app/", data={
            "reference": "sample:7", "key": f"idor-{foreign}", "mailbox": foreign,
            "to": "customer@example.test", "subject": "Sample 7", "text": "Hello"})
        body = page(response)
        assert response.status_code == 400 and "Choose a mailbox you may send from." in body
        for name in ("bravo", "charlie"):
            assert not any(secret in body for secret in made[name].secrets)


def test_a_deleted_mailbox_is_gone_for_admins_too(app, abc, make_user):
    made = abc
    make_user("root", admin=True, language="en")
    root = user_id(app, "root")
    made["charlie"].own_items[root] = made["charlie"].item_id
    made["charlie"].own_templates[root] = made["charlie"].template_id
    client = client_of(app, "root")
    adapter = app.url_map.bind("localhost")
    for rule in scoped_rules(app):
        for method in EXPECTED[rule.endpoint]:
            response = send(client, adapter, rule, method, made["charlie"], root)
            assert_nothing_of(response, made, "charlie")


def test_lists_and_search_never_show_another_mailbox(app, abc):
    """Two users, three mailboxes: each user's lists show only their own."""
    made = abc
    pages = {
        "/mail/settings/mailboxes/": "title", "/mail/outbox/": "item_subject", "/mail/": "title",
        "/mail/unified": "message_subject", "/api/mail/addresses?q=sender": "sender",
        f"/mail/m/{made['alpha'].mailbox_id}/search?q=message&scope=all": "message_subject",
        "/mail/settings/": None, "/": None,
    }
    for user, own, others in (("owner", "alpha", ("bravo", "charlie")), ("bertha", "bravo", ("alpha", "charlie"))):
        client = client_of(app, user)
        for url, shown in pages.items():
            url = url.replace(str(made["alpha"].mailbox_id), str(made[own].mailbox_id)) if "/m/" in url else url
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            body = page(response)
            if shown:
                assert getattr(made[own], shown) in body, (user, url, shown)
            for name in others:
                for secret in made[name].secrets:
                    assert secret not in body, (user, url, secret)


# -- revoking takes effect at once, everywhere ---------------------------------------------------


def test_revoking_takes_effect_on_the_next_request(app, abc, make_user):
    made = abc
    mailbox_id, item_id = made["alpha"].mailbox_id, made["alpha"].item_id
    rita = make_user("rita", language="en")
    client = client_of(app, "rita")
    settings, item, folder = f"{BASE}/{mailbox_id}/", f"/mail/outbox/{item_id}", f"/mail/m/{mailbox_id}/"
    assert client.get(settings).status_code == 404
    for right, url, seen in (("read", folder, 200), ("read", settings, 403), ("manage", settings, 200),
                             ("send", item, 200)):
        with app.app_context():
            access.grant(mailbox_id, "user", rita.id, right, actor="test")
        assert client.get(url).status_code == seen, right
        with app.app_context():
            access.revoke(mailbox_id, "user", rita.id, right, actor="test")
        assert client.get(url).status_code == 404, right


def test_revoking_takes_effect_in_every_app_instance(app, make_app, abc, make_user):
    made = abc
    mailbox_id = made["alpha"].mailbox_id
    make_user("rita", language="en")
    other_app = make_app()  # another process's app on the same database
    clients = [client_of(app, "rita"), client_of(other_app, "rita")]
    runner = other_app.test_cli_runner()
    assert runner.invoke(args=["mail", "grant", str(mailbox_id), "user:rita", "manage"]).exit_code == 0
    assert [client.get(f"{BASE}/{mailbox_id}/rights").status_code for client in clients] == [200, 200]
    result = app.test_cli_runner().invoke(args=["mail", "revoke", str(mailbox_id), "user:rita", "manage"])
    assert result.exit_code == 0, result.output
    assert [client.get(f"{BASE}/{mailbox_id}/rights").status_code for client in clients] == [404, 404]


def test_losing_a_right_while_a_page_is_open_gives_a_clear_message_on_the_next_action(
        app, abc, make_user):
    made = abc
    mailbox_id, item_id = made["alpha"].mailbox_id, made["alpha"].item_id
    rita = make_user("rita", language="en")
    message_pk = made["alpha"].message_pk
    rights = ("read", "write", "send", "manage")
    with app.app_context():
        for right in rights:
            access.grant(mailbox_id, "user", rita.id, right, actor="test")
    client = client_of(app, "rita")
    assert client.get(f"{BASE}/{mailbox_id}/rights").status_code == 200  # the pages are open
    assert client.get(f"/mail/outbox/{item_id}").status_code == 200
    assert client.get(f"/mail/m/{mailbox_id}/messages/{message_pk}").status_code == 200
    with app.app_context():
        for right in rights:
            access.revoke(mailbox_id, "user", rita.id, right, actor="owner")
        before = access.grants_of(mailbox_id)

    flagged = client.post(f"/mail/m/{mailbox_id}/actions", data={"action": "flag", "ids": message_pk})
    assert_nothing_of(flagged, made, "bravo")
    assert "There is no such mailbox." in page(flagged)

    saved = client.post(f"{BASE}/{mailbox_id}/rights",
                        data={"principal": f"user:{rita.id}", "grant": f"user:{rita.id}:manage"})
    assert_nothing_of(saved, made, "bravo")
    assert "you may no longer use it" in page(saved) and "your rights may just have been changed" in page(saved)
    configured = client.post(f"{BASE}/{mailbox_id}/", data={"title": "Taken over"})
    assert_nothing_of(configured, made, "bravo")
    assert "not found" in page(configured).lower()  # a sentence for people, not a stack trace
    cancelled = client.post(f"/mail/outbox/{item_id}/cancel")
    assert_nothing_of(cancelled, made, "bravo")
    with app.app_context():
        assert access.grants_of(mailbox_id) == before
        assert db.session.get(Mailbox, mailbox_id).title == made["alpha"].title


@pytest.mark.parametrize("action", ["flag", "delete"])
def test_a_unified_action_with_one_foreign_id_changes_nothing(app, abc, action):
    """Ids of a mailbox the user may use and of one he may not: refused as a whole, before the
    allowed message is flagged or moved (it was acted on, without an undo, before)."""
    alpha, bravo = abc["alpha"], abc["bravo"]
    client = client_of(app, "owner")
    ids = [f"{alpha.mailbox_id}:{alpha.message_pk}", f"{bravo.mailbox_id}:{bravo.message_pk}"]
    response = client.post("/mail/unified/actions", data={"action": action, "ids": ids})
    assert response.status_code == 404
    with app.app_context():
        row = db.session.get(CachedMessage, alpha.message_pk)
        assert row is not None and not row.flagged
        assert db.session.get(CachedFolder, row.folder_id).name == "INBOX"
    # the same request without the foreign id does what it says
    response = client.post("/mail/unified/actions", data={"action": action, "ids": ids[:1]})
    assert response.status_code == 302
