from tricoma_mail_plugin import available_rights


def test_the_page_the_menu_entry_the_panel_and_the_right(app, admin_client):
    assert "Hello, Admin!" in admin_client.get("/mail/hello/").get_data(as_text=True)
    assert 'href="/mail/hello/"' in admin_client.get("/").get_data(as_text=True)
    assert 'href="/mail/hello/settings"' in admin_client.get("/mail/settings/").get_data(as_text=True)
    with app.app_context():
        assert "hello_greet" in [right.key for right in available_rights()]


def test_the_settings_page_is_for_admins(user_client):
    assert user_client.get("/mail/hello/settings").status_code == 403


def test_switched_off_it_is_gone(admin_client):
    admin_client.post("/mail/admin/plugins/hello/state", data={"enabled": "0"})
    assert admin_client.get("/mail/hello/").status_code == 404
