"""OAuth2 pages without a mail server (issue 13): Administration → Sign-in providers keeps the
client secret encrypted and never shows it again; discovery of a Microsoft 365 or Google address
proposes OAuth2 with a matching provider; the callback refuses a sign-in it did not start."""
from __future__ import annotations

import re

from sqlalchemy import select

from hostapp.extensions import db
from tricoma_mail_plugin.mailboxes import oauth_providers
from tricoma_mail_plugin.models import OAuthProvider
from test_mailbox_settings import offline_discovery  # noqa: F401 - the fixture

PROVIDERS = "/mail/admin/sign-in-providers/"
SECRET = "entra-client-secret-value-0123456789"


def _selected(html: str, select_id: str) -> str | None:
    block = re.search(rf'<select id="{select_id}".*?</select>', html, re.S).group(0)
    found = re.search(r'<option value="([^"]*)" selected>', block)
    return found.group(1) if found else None


def test_a_provider_is_saved_with_its_secret_encrypted_and_never_shown_again(app, admin_client, user_client):
    page = admin_client.get(PROVIDERS + "?kind=microsoft").get_data(as_text=True)
    assert 'value="https://login.microsoftonline.com"' in page
    assert "/mail/settings/mailboxes/oauth/callback" in page  # the redirect URI to register
    refused = admin_client.post(PROVIDERS, data={"kind": "microsoft", "name": "Contoso", "client_id": "",
                                                 "client_secret": SECRET, "authority": "https://login.microsoftonline.com",
                                                 "scopes": "x"})
    assert refused.status_code == 400 and SECRET not in refused.get_data(as_text=True)
    saved = admin_client.post(PROVIDERS, data={
        "kind": "microsoft", "name": "Contoso", "tenant": "contoso.onmicrosoft.com", "client_id": "1111-2222",
        "client_secret": SECRET, "authority": "https://login.microsoftonline.com",
        "scopes": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
        "app_scopes": "https://outlook.office365.com/.default"})
    assert saved.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(OAuthProvider).where(OAuthProvider.name == "Contoso"))
        assert SECRET not in row.secrets and oauth_providers.provider_config(row).client_secret == SECRET
        provider_id = row.id
    page = admin_client.get(f"{PROVIDERS}{provider_id}").get_data(as_text=True)
    assert SECRET not in page and "A password is stored" in page
    kept = admin_client.post(f"{PROVIDERS}{provider_id}", data={
        "kind": "microsoft", "name": "Contoso Ltd", "tenant": "contoso.onmicrosoft.com", "client_id": "1111-2222",
        "client_secret": "", "authority": "https://login.microsoftonline.com", "scopes": "mail"})
    assert kept.status_code == 302
    with app.app_context():
        assert oauth_providers.provider_config(db.session.get(OAuthProvider, provider_id)).client_secret == SECRET
    assert user_client.get(PROVIDERS).status_code == 403  # admins only


def test_discovery_of_microsoft_365_proposes_oauth2_with_its_provider(app, user_client, offline_discovery):  # noqa: F811
    with app.app_context():
        google = oauth_providers.save_provider(None, {
            "kind": "google", "name": "Google", "client_id": "g", "client_secret": "s",
            "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
            "token_url": "https://oauth2.googleapis.com/token", "scopes": "https://mail.google.com/"}, "test").id
        microsoft = oauth_providers.save_provider(None, {
            "kind": "microsoft", "name": "Entra", "client_id": "m", "client_secret": "s",
            "authority": "https://login.microsoftonline.com", "scopes": "mail"}, "test").id
    created = user_client.post("/mail/settings/mailboxes/", data={"title": "Sales"})
    mailbox_url = created.headers["Location"]
    for email, provider_id in (("sales@contoso.onmicrosoft.com", microsoft), ("someone@gmail.com", google)):
        html = user_client.post(mailbox_url, data={"title": "Sales", "email": email, "action": "discover"}
                                ).get_data(as_text=True)
        assert "This provider wants OAuth2 sign-in instead of a password" in html
        assert _selected(html, "field-auth_kind") == "oauth2_delegated"
        assert _selected(html, "field-oauth_provider_id") == str(provider_id)
    html = user_client.post(mailbox_url, data={"title": "Shop", "email": "shop@web.de", "action": "discover"}
                            ).get_data(as_text=True)
    assert "OAuth2 sign-in instead" not in html


def test_the_callback_refuses_a_sign_in_it_did_not_start(user_client):
    answer = user_client.get("/mail/settings/mailboxes/oauth/callback?code=stolen&state=guessed")
    assert answer.status_code == 400
