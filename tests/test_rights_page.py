"""Settings → Mailboxes → Rights (SPEC M6): who may open it, the matrix and its exact diff, adding
and removing users and groups, bad input, the preview, the log, "open as admin", German.

No mail server is needed: rights belong to the mailbox row, not to its servers."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app_fixtures import login
from hostapp.extensions import db
from test_mailbox_settings import audit as form_audit
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import AuditEntry

BASE = "/mail/settings/mailboxes"


def page(response) -> str:
    return response.get_data(as_text=True)


def client_of(app, username: str):
    client = app.test_client()
    assert login(client, username).status_code == 302
    return client


def rights_url(mailbox_id: int, action: str = "") -> str:
    return f"{BASE}/{mailbox_id}/rights" + (f"/{action}" if action else "")


def grants(app, mailbox_id: int) -> dict[tuple[str, str], set[str]]:
    with app.app_context():
        return access.grants_of(mailbox_id)


def audit_entries(app, mailbox_id: int) -> list[tuple[str, str, dict]]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.mailbox_id == mailbox_id)
                                  .order_by(AuditEntry.id))
        return [(row.actor, row.action, dict(row.details)) for row in rows]


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


@pytest.fixture
def team(app, make_user):
    """A mailbox "Team" created by olga (so she manages it) and the people around it."""
    people = {
        "olga": make_user("olga", language="en"),
        "ulla": make_user("ulla", language="en"),
        "gus": make_user("gus", language="en", groups=("team",)),
        "root": make_user("root", admin=True, language="en"),
    }
    with app.app_context():
        mailbox_id = service.create_mailbox("Team", people["olga"]).id
        group_id = mail_state().directory.find("group", "team").id
    ids = {name: str(user.id) for name, user in people.items()}
    ids["team"] = str(group_id)
    return mailbox_id, ids


# -- who may open the page -------------------------------------------------------------------


def test_the_page_needs_manage(app, team):
    mailbox_id, ids = team
    with app.app_context():
        access.grant(mailbox_id, "user", ids["gus"], "read")
    stranger = page(response := client_of(app, "ulla").get(rights_url(mailbox_id)))
    assert response.status_code == 404
    assert "does not exist, or you may no longer use it" in stranger and "Team" not in stranger
    read_only = client_of(app, "gus").get(rights_url(mailbox_id))
    assert read_only.status_code == 403
    assert "Only users who hold Manage on this mailbox" in page(read_only)
    manager = client_of(app, "olga").get(rights_url(mailbox_id))
    assert manager.status_code == 200 and "Rights of Team" in page(manager)
    admin = client_of(app, "root").get(rights_url(mailbox_id))
    assert admin.status_code == 200 and "Rights of Team" in page(admin)
    assert (("user", ids["root"])) not in grants(app, mailbox_id)  # the admin holds no grant
    anonymous = app.test_client().get(rights_url(mailbox_id))
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_the_settings_pages_link_to_the_rights(app, team):
    mailbox_id, _ids = team
    client = client_of(app, "olga")
    link = f'href="{rights_url(mailbox_id)}"'
    assert link in page(client.get(f"{BASE}/")) and link in page(client.get(f"{BASE}/{mailbox_id}/"))


def test_the_matrix_shows_every_holder_and_every_right_with_its_description(app, team):
    mailbox_id, ids = team
    with app.app_context():
        access.grant(mailbox_id, "group", ids["team"], "send")
        access.grant(mailbox_id, "user", "424242", "read")  # a user the host has since deleted
    html = page(client_of(app, "olga").get(rights_url(mailbox_id)))
    header = re.search(r"<thead>.*?</thead>", html, re.S).group(0)
    assert re.findall(r'data-right="([^"]+)"', header) == [
        "read", "write", "delete", "send", "send_from_apps", "manage", "sample_approve"]
    assert 'title="Set flags, move and file mail."' in header
    assert "Olga" in html and "group</span>" in html
    assert "deleted user #424242" in html
    assert re.search(rf'id="cell-user-{ids["olga"]}-6"[^>]*value="user:{ids["olga"]}:manage" checked', html)
    assert re.search(rf'value="group:{ids["team"]}:send" checked', html)
    # a deleted user can lose rights but not be given new ones
    assert re.search(r'value="user:424242:write" disabled', html)
    assert re.search(r'value="user:424242:read" checked>', html)
    result = form_audit(html)
    assert not result.unlabelled(), result.unlabelled()
    assert not result.posts_without_csrf()


# -- saving the matrix -----------------------------------------------------------------------


def test_saving_the_matrix_changes_exactly_the_difference_and_audits_each_change(app, team):
    mailbox_id, ids = team
    with app.app_context():
        for right in ("read", "write"):
            access.grant(mailbox_id, "user", ids["ulla"], right)
        access.grant(mailbox_id, "group", ids["team"], "read")
    before = len(audit_entries(app, mailbox_id))
    olga, ulla, group = f"user:{ids['olga']}", f"user:{ids['ulla']}", f"group:{ids['team']}"
    client = client_of(app, "olga")
    response = client.post(rights_url(mailbox_id), data={
        "principal": [olga, ulla, group],
        "grant": [f"{olga}:manage", f"{ulla}:read", f"{ulla}:send", f"{group}:read", f"{group}:write"],
    })
    assert response.status_code == 302 and response.location == rights_url(mailbox_id)
    assert grants(app, mailbox_id) == {
        ("user", ids["olga"]): {"manage"},
        ("user", ids["ulla"]): {"read", "send"},
        ("group", ids["team"]): {"read", "write"},
    }
    new = audit_entries(app, mailbox_id)[before:]
    assert sorted(new, key=str) == sorted([
        (ids["olga"], "grant", {"principal": ulla, "right": "send"}),
        (ids["olga"], "revoke", {"principal": ulla, "right": "write"}),
        (ids["olga"], "grant", {"principal": group, "right": "write"}),
    ], key=str)
    html = page(client.get(rights_url(mailbox_id)))
    assert "3 changes" in html
    log = re.search(r'<table class="data audit-log">.*?</table>', html, re.S).group(0)
    assert "Right granted" in log and "Right revoked" in log
    assert "Send for Ulla" in log and "Write for Ulla" in log and "Write for group team" in log
    assert "Olga" in log


def test_saving_an_unchanged_matrix_changes_and_audits_nothing(app, team):
    mailbox_id, ids = team
    count = audit_count(app)
    olga = f"user:{ids['olga']}"
    client = client_of(app, "olga")
    response = client.post(rights_url(mailbox_id), data={"principal": [olga], "grant": [f"{olga}:manage"]})
    assert response.status_code == 302
    assert audit_count(app) == count
    assert "Nothing was changed." in page(client.get(rights_url(mailbox_id)))


@pytest.mark.parametrize("forged", [
    {"grant_extra": "{ulla}:fly"},  # no such right
    {"grant_extra": "{ulla}:read:extra"},  # no such right either
    {"principal_extra": "user:999999", "grant_extra": "user:999999:read"},  # no such user
    {"principal_extra": "group:999999"},  # no such group
    {"principal_extra": "robot:{ulla_id}"},  # no such kind of principal
    {"principal_extra": "user:"},
    {"grant_extra": "user:{ulla_id}"},  # a cell without a right
    {"grant_extra": "group:{team_id}:read"},  # a cell of a row that was not shown
])
def test_an_unknown_right_or_principal_is_refused_and_nothing_changes(app, team, forged):
    mailbox_id, ids = team
    with app.app_context():
        access.grant(mailbox_id, "user", ids["ulla"], "read")
    before, count = grants(app, mailbox_id), audit_count(app)
    olga, ulla = f"user:{ids['olga']}", f"user:{ids['ulla']}"
    values = {"ulla": ulla, "ulla_id": ids["ulla"], "team_id": ids["team"]}
    data = {"principal": [olga, ulla], "grant": [f"{ulla}:send"]}  # would grant send, if valid
    if "principal_extra" in forged:
        data["principal"].append(forged["principal_extra"].format(**values))
    if "grant_extra" in forged:
        data["grant"].append(forged["grant_extra"].format(**values))
    response = client_of(app, "olga").post(rights_url(mailbox_id), data=data)
    assert response.status_code == 400
    assert "names a right, user or group that does not exist" in page(response)
    assert "Traceback" not in page(response)
    assert grants(app, mailbox_id) == before and audit_count(app) == count


def test_rights_of_a_plugin_that_is_switched_off_survive_a_save(app, team):
    mailbox_id, ids = team
    with app.app_context():
        access.grant(mailbox_id, "user", ids["ulla"], "sample_approve")
        access.grant(mailbox_id, "user", ids["ulla"], "read")
        mail_state().plugin_states.set_enabled("sample_plugin", False, changed_by="test")
    ulla = f"user:{ids['ulla']}"
    html = page(client_of(app, "olga").get(rights_url(mailbox_id)))
    assert 'data-right="sample_approve"' not in html
    client_of(app, "olga").post(rights_url(mailbox_id), data={"principal": [ulla], "grant": []})
    assert grants(app, mailbox_id)[("user", ids["ulla"])] == {"sample_approve"}


# -- adding and removing a user or group -----------------------------------------------------


def test_add_a_user_or_group_with_rights(app, team):
    mailbox_id, ids = team
    client = client_of(app, "olga")
    html = page(client.get(rights_url(mailbox_id)))
    select_html = re.search(r'<select id="add-principal".*?</select>', html, re.S).group(0)
    assert f'value="user:{ids["ulla"]}"' in select_html and f'value="group:{ids["team"]}"' in select_html
    assert f'value="user:{ids["olga"]}"' not in select_html  # already in the matrix
    response = client.post(rights_url(mailbox_id, "add"), data={"principal": f"group:{ids['team']}",
                                                              "right": ["read", "send_from_apps"]})
    assert response.status_code == 302
    assert grants(app, mailbox_id)[("group", ids["team"])] == {"read", "send_from_apps"}
    assert [entry for entry in audit_entries(app, mailbox_id) if entry[2].get("principal") == f"group:{ids['team']}"] == [
        (ids["olga"], "grant", {"principal": f"group:{ids['team']}", "right": "read"}),
        (ids["olga"], "grant", {"principal": f"group:{ids['team']}", "right": "send_from_apps"}),
    ]
    html = page(client.get(rights_url(mailbox_id)))
    assert f'id="principal-group-{ids["team"]}"' in html
    assert f'value="group:{ids["team"]}"' not in re.search(r'<select id="add-principal".*?</select>', html, re.S).group(0)


def test_adding_needs_a_known_principal_and_at_least_one_known_right(app, team):
    mailbox_id, ids = team
    client = client_of(app, "olga")
    count = audit_count(app)
    no_right = client.post(rights_url(mailbox_id, "add"), data={"principal": f"user:{ids['ulla']}"})
    assert no_right.status_code == 400 and "Choose at least one right to give." in page(no_right)
    for data in ({"principal": "user:999999", "right": "read"}, {"principal": "", "right": "read"},
                 {"principal": f"user:{ids['ulla']}", "right": ["read", "fly"]},
                 {"principal": f"user:{ids['ulla']}x", "right": "read"}):
        response = client.post(rights_url(mailbox_id, "add"), data=data)
        assert response.status_code == 400, data
    assert ("user", ids["ulla"]) not in grants(app, mailbox_id) and audit_count(app) == count


def test_remove_a_user_takes_every_right_and_audits_each(app, team):
    mailbox_id, ids = team
    with app.app_context():
        for right in ("read", "delete", "sample_approve"):
            access.grant(mailbox_id, "user", ids["ulla"], right)
    response = client_of(app, "olga").post(rights_url(mailbox_id, "remove"), data={"remove": f"user:{ids['ulla']}"})
    assert response.status_code == 302
    assert ("user", ids["ulla"]) not in grants(app, mailbox_id)
    revoked = {entry[2]["right"] for entry in audit_entries(app, mailbox_id)
               if entry[1] == "revoke" and entry[0] == ids["olga"]}
    assert revoked == {"read", "delete", "sample_approve"}
    assert client_of(app, "olga").post(rights_url(mailbox_id, "remove"), data={"remove": "nobody"}).status_code == 400


def test_removing_the_last_manager_is_allowed_with_a_warning(app, team):
    mailbox_id, ids = team
    client = client_of(app, "olga")
    response = client.post(rights_url(mailbox_id, "remove"), data={"remove": f"user:{ids['olga']}"})
    assert response.status_code == 302 and response.location == f"{BASE}/"  # she can no longer stay
    html = page(client.get(response.location))
    assert "No user or group manages this mailbox any more. Only admins can now change" in html
    assert "You no longer manage the mailbox Team." in html
    assert grants(app, mailbox_id) == {}
    admin_page = page(client_of(app, "root").get(rights_url(mailbox_id)))
    assert "No user or group manages this mailbox. Only admins can change" in admin_page


# -- the preview ------------------------------------------------------------------------------


def preview_rows(html: str) -> dict[str, tuple[str, str]]:
    table = re.search(r'<table class="data rights-preview">.*?</table>', html, re.S).group(0)
    rows = re.findall(r'data-right="([^"]+)">\s*<th[^>]*>[^<]*</th>\s*<td>(.*?)</td>\s*<td>(.*?)</td>', table, re.S)
    return {key: (re.sub(r"<[^>]+>|[✓–]", "", allowed).strip(), because.strip()) for key, allowed, because in rows}


def test_the_preview_shows_the_union_of_user_and_group_rights_with_their_sources(app, team):
    mailbox_id, ids = team
    with app.app_context():
        access.grant(mailbox_id, "user", ids["gus"], "read")
        access.grant(mailbox_id, "group", ids["team"], "read")
        access.grant(mailbox_id, "group", ids["team"], "send")
    html = page(client_of(app, "olga").get(rights_url(mailbox_id), query_string={"user": ids["gus"]}))
    assert "Rights of Gus on Team" in html
    rows = preview_rows(html)
    assert rows["read"] == ("yes", "given directly; through group team")
    assert rows["send"] == ("yes", "through group team")
    assert rows["write"] == ("no", "—") and rows["manage"] == ("no", "—")


def test_the_preview_of_an_admin_shows_manage_as_admin_and_no_mail_reading(app, team):
    mailbox_id, ids = team
    html = page(client_of(app, "olga").get(rights_url(mailbox_id), query_string={"user": ids["root"]}))
    rows = preview_rows(html)
    assert rows["manage"] == ("yes", "as admin") and rows["read"] == ("no", "—")
    assert "reads its mail only after “Open as admin”" in html


def test_the_preview_of_an_unknown_user_says_so(app, team):
    mailbox_id, _ids = team
    for forged in ("999999", "olga", "-1", "x" * 300):
        response = client_of(app, "olga").get(rights_url(mailbox_id), query_string={"user": forged})
        assert response.status_code == 400 and "There is no such user." in page(response), forged


# -- the log ------------------------------------------------------------------------------------


def test_the_log_names_the_actor_the_action_and_the_details(app, team, make_user):
    mailbox_id, ids = team
    with app.app_context():
        access.grant(mailbox_id, "user", ids["ulla"], "read", actor="cli")
        access.audit(ids["olga"], mailbox_id, "send_on_behalf", reference="sample:42", outbox_item=7,
                     recipients="customer@example.test", subject="Sample 42")
        access.revoke(mailbox_id, "user", ids["ulla"], "read", actor="9999")  # an actor since deleted
    log = re.search(r'<table class="data audit-log">.*?</table>',
                    page(client_of(app, "olga").get(rights_url(mailbox_id))), re.S).group(0)
    rows = re.findall(r"<tr>\s*<td><time[^>]*>[^<]+</time></td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*"
                      r'<td class="details">(.*?)</td>', log, re.S)
    assert rows[0] == ("deleted user #9999", "Right revoked", "Read for Ulla")
    assert rows[1] == ("Olga", "Sent on behalf", "“Sample 42” to customer@example.test · from Sample 42")
    assert rows[2] == ("command line (operator)", "Right granted", "Read for Ulla")
    assert rows[-1] == ("Olga", "Right granted", "Manage for Olga")  # creating the mailbox


# -- open as admin ------------------------------------------------------------------------------


def test_open_as_admin_needs_a_reason_and_is_audited(app, team):
    mailbox_id, ids = team
    admin = client_of(app, "root")
    html = page(admin.get(rights_url(mailbox_id)))
    assert "Open as admin" in html and "you may not read its mail" in html
    assert not form_audit(html).unlabelled()
    count = audit_count(app)
    for reason in ("", "   "):
        refused = admin.post(rights_url(mailbox_id, "admin-read"), data={"reason": reason})
        assert refused.status_code == 400 and "State why you need to read" in page(refused)
    assert audit_count(app) == count and ("user", ids["root"]) not in grants(app, mailbox_id)

    response = admin.post(rights_url(mailbox_id, "admin-read"), data={"reason": "Ticket 4711: lost invoice"})
    assert response.status_code == 302
    assert grants(app, mailbox_id)[("user", ids["root"])] == {"read"}
    assert audit_entries(app, mailbox_id)[-2:] == [
        (ids["root"], "grant", {"principal": f"user:{ids['root']}", "right": "read"}),
        (ids["root"], "admin_read", {"reason": "Ticket 4711: lost invoice"}),
    ]
    html = page(admin.get(rights_url(mailbox_id)))
    assert "You may now read the mail of Team" in html
    assert 'id="admin-read-heading"' not in html  # the admin holds read now
    assert "Opened as admin" in html and "Reason: Ticket 4711: lost invoice" in html


def test_only_admins_can_open_as_admin(app, team):
    mailbox_id, ids = team
    manager = client_of(app, "olga")
    assert 'id="admin-read-heading"' not in page(manager.get(rights_url(mailbox_id)))
    count = audit_count(app)
    assert manager.post(rights_url(mailbox_id, "admin-read"), data={"reason": "curious"}).status_code == 403
    assert audit_count(app) == count


# -- German -------------------------------------------------------------------------------------


def test_the_page_in_german(app, make_user):
    greta = make_user("greta", language="de")
    make_user("ulla", language="en")
    make_user("chef", admin=True, language="de")
    with app.app_context():
        mailbox_id = service.create_mailbox("Vertrieb", greta).id
    client = client_of(app, "greta")
    html = page(client.get(rights_url(mailbox_id)))
    for german in ("Rechte von Vertrieb", "Wer was darf", "Lesen", "Verwalten", "Aus Apps senden",
                   "Benutzer oder Gruppe hinzufügen", "Was darf ein Benutzer hier?", "Protokoll",
                   "Rechte speichern", "Entfernen", "Recht gegeben", "Verwalten für Greta"):
        assert german in html, german
    for english in ("Who may do what", "Save rights", "How rights work"):
        assert english not in html, english
    preview = page(client.get(rights_url(mailbox_id), query_string={"user": str(greta.id)}))
    assert "direkt gegeben" in preview and "ja" in preview
    admin_html = page(client_of(app, "chef").get(rights_url(mailbox_id)))
    assert "Als Admin öffnen" in admin_html and "geben Sie den Grund an" in admin_html
    refused = page(client_of(app, "ulla").get(rights_url(mailbox_id + 1000)))
    assert "does not exist" in refused  # ulla reads English
    client.post("/language", data={"language": "de", "next": "/"})
    gone = page(client.get(rights_url(mailbox_id + 1000)))
    assert "Dieses Postfach ist nicht verfügbar" in gone
