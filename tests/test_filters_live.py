"""Filters and vacation over ManageSieve (issue 12, point 4), on the real Dovecot + Pigeonhole of
the local mail stack: rules made on the page file mail delivered over SMTP → LMTP → Sieve (or
mark it read, or throw it away), the vacation reply answers each sender once per interval, a
broken script shows the server's error with its line; every condition and action round-trips
through the script."""
from __future__ import annotations

import datetime as dt
import time
import uuid
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from app_fixtures import login

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import sieve_rules
from tricoma_mail_plugin.models import Mailbox
from tricoma_mail_plugin.rights import access


def _mail(sender: str, to: str, subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@example.test>"
    message.set_content("Hallo.")
    return message.as_bytes()


def _subjects(imap, folder: str) -> list[str]:
    if not imap.folder_exists(folder):
        return []
    imap.select_folder(folder, readonly=True)
    fetched = imap.fetch(imap.search("ALL"), ["BODY.PEEK[HEADER.FIELDS (SUBJECT)]"])
    return [str(make_header(decode_header(data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip())))
            for data in fetched.values()]


def _wait_for(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


@pytest.fixture
def filter_box(app, mailstack, make_mailbox, fresh_user):
    """A mailbox of profile 1 (owner "owner", who manages it), its account and a signed-in client
    with the stack's ManageSieve port saved on the filters page."""
    email, password = fresh_user(1)
    mailbox_id = make_mailbox(1, email, password)
    client = app.test_client()
    assert login(client, "owner").status_code == 302
    url = f"/mail/settings/mailboxes/{mailbox_id}/filters"
    response = client.post(url, data={"action": "port", "sieve_port": str(mailstack.profile(1).sieve_port)})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Mailbox, mailbox_id).sieve_port == mailstack.profile(1).sieve_port
    return mailbox_id, email, password, client, url


def test_a_rule_made_on_the_page_files_new_mail_into_its_folder(filter_box, imap_client, smtp_client, fresh_user):
    _, email, password, client, url = filter_box
    page = client.get(url)
    assert page.status_code == 200 and "No rules yet." in page.get_data(as_text=True)
    response = client.post(url, data={
        "action": "save_rule", "rule": "", "name": "Rechnungen", "match": "all",
        "cond_field_0": "subject", "cond_operator_0": "contains", "cond_value_0": "Rechnung",
        "action_kind_0": "move", "action_argument_0": "Rechnungen"})
    assert response.status_code == 302, response.get_data(as_text=True)
    listed = client.get(url).get_data(as_text=True)
    assert "Rechnungen" in listed and "„Rechnung“" in listed
    assert "changed by hand" not in listed and "Another program" not in listed

    sender, sender_password = fresh_user(1)
    smtp = smtp_client(1, sender, sender_password)
    smtp.sendmail(sender, [email], _mail(sender, email, "Ihre Rechnung 4711"))
    smtp.sendmail(sender, [email], _mail(sender, email, "Hallo"))
    imap = imap_client(1, email, password)
    assert _wait_for(lambda: _subjects(imap, "Rechnungen")) == ["Ihre Rechnung 4711"]
    assert _wait_for(lambda: _subjects(imap, "INBOX")) == ["Hallo"]

    # The editor reads its rule back from the server and changes it in place.
    edit = client.get(url, query_string={"edit": "0"}).get_data(as_text=True)
    assert 'value="Rechnung"' in edit and 'name="rule" value="0"' in edit
    assert client.post(url, data={"action": "toggle_rule", "rule": "0"}).status_code == 302
    assert "Switch on" in client.get(url).get_data(as_text=True)


def test_the_vacation_reply_answers_each_sender_once_within_its_interval(filter_box, imap_client, smtp_client,
                                                                          fresh_user):
    _, email, password, client, url = filter_box
    tag = uuid.uuid4().hex[:6]
    today = dt.date.today()
    form = {"action": "vacation", "vacation_enabled": "1", "vacation_subject": f"Nicht im Büro {tag}",
            "vacation_text": "Ich bin bis Montag nicht im Büro.", "vacation_days": "3"}
    # Not yet begun: no reply.
    response = client.post(url, data={**form, "vacation_start": (today + dt.timedelta(days=2)).isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)
    early, early_password = fresh_user(1)
    smtp_client(1, early, early_password).sendmail(early, [email], _mail(early, email, "Zu früh"))

    response = client.post(url, data={**form, "vacation_start": (today - dt.timedelta(days=1)).isoformat(),
                                      "vacation_end": (today + dt.timedelta(days=5)).isoformat()})
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert f'value="Nicht im Büro {tag}"' in page and 'name="vacation_days" type="number" min="1" max="365" value="3"' in page
    first, first_password = fresh_user(1)
    second, second_password = fresh_user(1)
    smtp = smtp_client(1, first, first_password)
    for number in range(3):
        smtp.sendmail(first, [email], _mail(first, email, f"Frage {number}"))
    smtp_client(1, second, second_password).sendmail(second, [email], _mail(second, email, "Andere Frage"))

    inbox = imap_client(1, email, password)
    assert _wait_for(lambda: len(_subjects(inbox, "INBOX")) == 5)  # every mail is kept
    replies = f"Nicht im Büro {tag}"
    first_box, second_box = imap_client(1, first, first_password), imap_client(1, second, second_password)
    assert _wait_for(lambda: _subjects(second_box, "INBOX")) == [replies]
    assert _subjects(first_box, "INBOX") == [replies]  # three mails, one reply
    assert _subjects(imap_client(1, early, early_password), "INBOX") == []


def test_a_broken_raw_script_shows_the_server_error_with_its_line(app, filter_box, make_user):
    mailbox_id, _, _, client, url = filter_box
    raw_url = url + "/raw"
    assert client.get(raw_url).status_code == 200
    broken = 'require ["fileinto"];\n\nif header :contains "Subject" "x" {\n    fileinot "Somewhere";\n}\n'
    response = client.post(raw_url, data={"script": broken})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "because of line 4" in page  # the line the server named, and the line itself
    assert "4:     fileinot &#34;Somewhere&#34;;" in page
    assert "line 4: error: unknown command" in page  # Pigeonhole's own words
    with app.app_context():  # a German manager reads the same in German, addressed formally
        access.grant(mailbox_id, "user", make_user("verwalterin", language="de").id, "manage")
    german = app.test_client()
    assert login(german, "verwalterin").status_code == 302
    page = german.post(raw_url, data={"script": broken}).get_data(as_text=True)
    assert "Der Mailserver hat das Skript wegen Zeile 4 abgelehnt" in page and "Prüfen und speichern" in page
    assert "Filter und automatische Antwort" in german.get(url).get_data(as_text=True)

    good = 'require ["fileinto"];\nif header :contains "Subject" "x" { fileinto "Somewhere"; }\n'
    response = client.post(raw_url, data={"script": good})
    assert response.status_code == 302
    assert 'fileinto "Somewhere"' in client.get(raw_url).get_data(as_text=True).replace("&#34;", '"')
    # A hand-written script without the editor's values: the rule editor says it would replace it.
    assert "Another program" in client.get(url).get_data(as_text=True)


def test_rules_round_trip_through_the_script():
    rule = sieve_rules.Rule("Große Mails", (sieve_rules.Condition("size", "over", "2M"),
                                            sieve_rules.Condition("header", "contains", 'a "b"', "List-Id")),
                            (sieve_rules.Action("flag"), sieve_rules.Action("forward", "x@example.test", False),
                             sieve_rules.Action("stop")), match="any", enabled=False)
    filters = sieve_rules.FilterSet((rule,), sieve_rules.Vacation(True, "Weg", "Text", 2, dt.date(2026, 1, 2)))
    script = sieve_rules.render(filters)
    assert sieve_rules.parse(script) == filters
    assert not sieve_rules.edited_by_hand(script, filters)
    assert sieve_rules.edited_by_hand(script.replace("stop;", "keep;"), filters)
    assert 'header :contains "List-Id" "a \\"b\\""' in script and 'redirect "x@example.test"' in script
    assert 'currentdate :value "ge" "date" ["2026-01-02"]' in script and "if false" in script


def test_from_and_to_conditions_and_the_discard_and_mark_read_actions_round_trip():
    rules = (
        sieve_rules.Rule("Chefin", (sieve_rules.Condition("from", "is", "chefin@example.test"),),
                         (sieve_rules.Action("mark_read"),)),
        sieve_rules.Rule("Verteiler", (sieve_rules.Condition("to", "contains", "alle@"),
                                       sieve_rules.Condition("from", "not_contains", "example.test")),
                         (sieve_rules.Action("discard"),), match="all"),
        sieve_rules.Rule("Nicht an mich", (sieve_rules.Condition("to", "not_is", "info@example.test"),),
                         (sieve_rules.Action("mark_read"), sieve_rules.Action("stop"))),
    )
    filters = sieve_rules.FilterSet(rules)
    script = sieve_rules.render(filters)
    assert sieve_rules.parse(script) == filters
    assert not sieve_rules.edited_by_hand(script, filters)
    assert 'address :is "from" "chefin@example.test"' in script
    assert 'address :contains ["to","cc"] "alle@"' in script.replace(", ", ",")
    assert 'not address :contains "from" "example.test"' in script  # Sieve has no :notcontains
    assert 'not address :is ["to","cc"] "info@example.test"' in script.replace(", ", ",")
    assert 'addflag "\\\\Seen";' in script and "discard;" in script
    assert sieve_rules.edited_by_hand(script.replace("discard;", "keep;"), filters)


def test_mark_read_and_discard_rules_made_on_the_page_act_on_delivered_mail(filter_box, imap_client, smtp_client,
                                                                            fresh_user):
    """Delivered over SMTP → LMTP → Sieve: mail from the boss arrives read, a circular to "alle@"
    from outside is thrown away, the rest arrives unread."""
    _, email, password, client, url = filter_box
    boss, boss_password = fresh_user(1)
    other, other_password = fresh_user(1)
    for rule in ({"name": "Chefin", "cond_field_0": "from", "cond_operator_0": "is", "cond_value_0": boss,
                  "action_kind_0": "mark_read"},
                 {"name": "Verteiler", "cond_field_0": "to", "cond_operator_0": "contains", "cond_value_0": "alle@",
                  "action_kind_0": "discard"}):
        response = client.post(url, data={"action": "save_rule", "rule": "", "match": "all", **rule})
        assert response.status_code == 302, response.get_data(as_text=True)
    listed = client.get(url).get_data(as_text=True)
    assert "Chefin" in listed and "Verteiler" in listed

    smtp_client(1, boss, boss_password).sendmail(boss, [email], _mail(boss, email, "Von der Chefin"))
    smtp = smtp_client(1, other, other_password)
    smtp.sendmail(other, [email], _mail(other, "alle@example.test", "Rundschreiben"))
    smtp.sendmail(other, [email], _mail(other, email, "Persönlich"))
    imap = imap_client(1, email, password)
    assert _wait_for(lambda: sorted(_subjects(imap, "INBOX")) == ["Persönlich", "Von der Chefin"])
    time.sleep(0.5)  # the circular was delivered before the last mail: discarded, not late
    assert sorted(_subjects(imap, "INBOX")) == ["Persönlich", "Von der Chefin"]
    imap.select_folder("INBOX", readonly=True)
    fetched = imap.fetch(imap.search("ALL"), ["FLAGS", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]"]).values()
    seen = {str(make_header(decode_header(data[b"BODY[HEADER.FIELDS (SUBJECT)]"].decode().split(":", 1)[1].strip()))):
            b"\\Seen" in data[b"FLAGS"] for data in fetched}
    assert seen == {"Von der Chefin": True, "Persönlich": False}


def test_create_mailbox_on_the_command_line_with_its_managesieve_port(app, mailstack, fresh_user, make_user):
    """``flask mail create-mailbox --sieve-port`` (what ``./dev run`` gives its demo mailboxes):
    the filters page then talks to that port at once; a port out of range is refused."""
    email, password = fresh_user(1)
    profile = mailstack.profile(1)
    app.config["TRICOMA_MAIL_CA_FILE"] = str(mailstack.cert)
    make_user("sieve-owner", language="en")
    runner = app.test_cli_runner()
    base = ["mail", "create-mailbox", "CLI box", "--email", email, "--password", password,
            "--imap", f"127.0.0.1:{profile.imap_port}", "--imap-security", "starttls",
            "--smtp", f"127.0.0.1:{profile.smtp_port}", "--grant", "user:sieve-owner:all"]
    refused = runner.invoke(args=[*base, "--sieve-port", "70000"])
    assert refused.exit_code != 0 and "70000" in refused.output
    result = runner.invoke(args=[*base, "--sieve-port", str(profile.sieve_port)])
    assert result.exit_code == 0 and result.output.strip().endswith("tested"), result.output
    mailbox_id = int(result.output.split()[0])
    with app.app_context():
        assert db.session.get(Mailbox, mailbox_id).sieve_port == profile.sieve_port
    client = app.test_client()
    assert login(client, "sieve-owner").status_code == 302
    page = client.get(f"/mail/settings/mailboxes/{mailbox_id}/filters").get_data(as_text=True)
    assert 'id="sieve-unavailable"' not in page and 'id="rule-heading"' in page
