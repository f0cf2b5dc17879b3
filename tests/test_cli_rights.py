"""``flask mail grant|revoke|rights`` (SPEC M6): rights from the shell, audited as "cli"; bad
input changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hostapp.extensions import db
from tricoma_mail_plugin._state import mail_state
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.models import AuditEntry


@pytest.fixture
def mailbox(app, make_user):
    olga = make_user("olga")
    make_user("ulla", groups=("support",))
    with app.app_context():
        return service.create_mailbox("Support", olga).id


def ids(app, kind: str, name: str) -> str:
    with app.app_context():
        return mail_state().directory.find(kind, name).id


def grants(app, mailbox_id: int):
    with app.app_context():
        return access.grants_of(mailbox_id)


def audit_rows(app) -> list[tuple[str, str, dict]]:
    with app.app_context():
        return [(row.actor, row.action, dict(row.details))
                for row in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def mail(app, *args: str):
    return app.test_cli_runner().invoke(args=["mail", *map(str, args)])


def test_grant_by_name_to_a_user_and_a_group_is_audited_as_cli(app, mailbox):
    ulla, support = ids(app, "user", "ulla"), ids(app, "group", "support")
    result = mail(app, "grant", mailbox, "user:ulla", "read", "send")
    assert result.exit_code == 0, result.output
    assert f"granted read to user ulla (#{ulla})" in result.output
    assert mail(app, "grant", mailbox, f"group:{support}", "read").exit_code == 0  # by id works too
    assert grants(app, mailbox)[("user", ulla)] == {"read", "send"}
    assert grants(app, mailbox)[("group", support)] == {"read"}
    assert audit_rows(app)[-3:] == [
        ("cli", "grant", {"principal": f"user:{ulla}", "right": "read"}),
        ("cli", "grant", {"principal": f"user:{ulla}", "right": "send"}),
        ("cli", "grant", {"principal": f"group:{support}", "right": "read"}),
    ]
    again = mail(app, "grant", mailbox, "user:ulla", "read")
    assert again.exit_code == 0 and "nothing to change for user ulla" in again.output


def test_grant_all_gives_every_right_including_plugin_rights(app, mailbox):
    assert mail(app, "grant", mailbox, "user:ulla", "all").exit_code == 0
    assert grants(app, mailbox)[("user", ids(app, "user", "ulla"))] == {
        "read", "write", "delete", "send", "send_from_apps", "manage", "sample_approve"}


@pytest.mark.parametrize("args, message", [
    (("user:ulla", "read", "fly"), "unknown right fly; the rights are read, write"),
    (("user:nobody", "read"), "there is no user 'nobody'"),
    (("robot:ulla", "read"), "is not user:NAME or group:NAME"),
    (("ulla", "read"), "is not user:NAME or group:NAME"),
    (("group:nobody", "read"), "there is no group 'nobody'"),
])
def test_bad_input_changes_nothing(app, mailbox, args, message):
    before, count = grants(app, mailbox), len(audit_rows(app))
    for command in ("grant", "revoke"):
        result = mail(app, command, mailbox, *args)
        assert result.exit_code != 0 and message in result.output, (command, result.output)
    assert grants(app, mailbox) == before and len(audit_rows(app)) == count


def test_unknown_or_deleted_mailboxes_are_refused(app, mailbox):
    from tricoma_mail_plugin.models import Mailbox, utcnow

    with app.app_context():
        db.session.get(Mailbox, mailbox).deleted_at = utcnow()
        db.session.commit()
    for args in (("grant", mailbox, "user:ulla", "read"), ("revoke", mailbox, "user:olga", "manage"),
                 ("rights", mailbox), ("rights", 987654)):
        result = mail(app, *args)
        assert result.exit_code == 1 and "there is no mailbox" in result.output, args


def test_revoke_by_name_all_and_from_a_deleted_user(app, mailbox):
    ulla = ids(app, "user", "ulla")
    mail(app, "grant", mailbox, "user:ulla", "read", "write", "delete")
    with app.app_context():
        access.grant(mailbox, "user", "424242", "read")
        access.grant(mailbox, "user", "424242", "sample_approve")
    result = mail(app, "revoke", mailbox, "user:ulla", "write")
    assert result.exit_code == 0 and "revoked write from user ulla" in result.output
    assert grants(app, mailbox)[("user", ulla)] == {"read", "delete"}
    assert mail(app, "revoke", mailbox, "user:ulla", "all").exit_code == 0
    assert ("user", ulla) not in grants(app, mailbox)
    gone = mail(app, "revoke", mailbox, "user:#424242", "all")
    assert gone.exit_code == 0 and "from deleted user #424242" in gone.output
    assert ("user", "424242") not in grants(app, mailbox)
    assert audit_rows(app)[-1][:2] == ("cli", "revoke")
    assert mail(app, "grant", mailbox, "user:#424242", "read").exit_code == 1  # never given anew


def test_rights_lists_every_holder_and_warns_without_a_manager(app, mailbox):
    olga = ids(app, "user", "olga")
    mail(app, "grant", mailbox, "group:support", "read", "send_from_apps")
    listing = mail(app, "rights", mailbox)
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert lines[0] == f"mailbox {mailbox}: Support"
    assert any(line.startswith("user") and "olga (Olga)" in line and line.endswith("manage") for line in lines)
    assert any(line.startswith("group") and "support" in line and line.endswith("read, send_from_apps")
               for line in lines)
    result = mail(app, "revoke", mailbox, f"user:{olga}", "manage")
    assert result.exit_code == 0 and "no user or group manages this mailbox any more" in result.output
    assert "warning: no user or group manages this mailbox" in mail(app, "rights", mailbox).output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.actor == "cli")) == 3
