"""Login, logout, throttling of failed logins, and safe redirects."""
from app_fixtures import PASSWORD, login


def test_login_and_logout(client, make_user):
    make_user("ulla", language="en")
    assert client.get("/").status_code == 302
    response = login(client, "ulla")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Welcome, Ulla" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_gets_a_clear_message(client, make_user):
    make_user("ulla", language="en")
    response = login(client, "ulla", "wrong")
    assert response.status_code == 401
    assert "The user name or the password is wrong." in response.get_data(as_text=True)
    unknown = login(client, "nobody", "wrong")
    assert unknown.status_code == 401


def test_repeated_failures_are_slowed_even_with_the_right_password(client, app, make_user):
    make_user("ulla", language="en")
    free = app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS"]
    for _ in range(free + 1):
        assert login(client, "ulla", "wrong").status_code == 401
    blocked = login(client, "ulla", PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.get_data(as_text=True)


def test_a_successful_login_resets_the_counter(client, app, make_user):
    make_user("ulla", language="en")
    for _ in range(app.config["HOSTAPP_LOGIN_FREE_ATTEMPTS"]):
        login(client, "ulla", "wrong")
    assert login(client, "ulla").status_code == 302
    client.post("/logout")
    assert login(client, "ulla", "wrong").status_code == 401  # free attempts again


def test_next_parameter_never_leaves_the_site(client, make_user):
    make_user("ulla")
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        response = client.post(f"/login?next={target}", data={"username": "ulla", "password": PASSWORD})
        assert response.headers["Location"] == "/"
        client.post("/logout")
    response = client.post("/login?next=/admin/", data={"username": "ulla", "password": PASSWORD})
    assert response.headers["Location"] == "/admin/"


def test_forms_without_csrf_token_are_refused(make_app, make_user):
    app = make_app(WTF_CSRF_ENABLED=True)
    make_user("ulla")
    response = app.test_client().post("/login", data={"username": "ulla", "password": PASSWORD})
    assert response.status_code == 400


def test_admin_area_needs_the_admin_role(user_client, admin_client):
    assert user_client.get("/admin/").status_code == 403
    assert admin_client.get("/admin/").status_code == 200


def test_admin_creates_users_and_groups(admin_client):
    admin_client.post("/admin/users", data={"username": "neu", "password": "longenough", "email": "n@example.test"})
    admin_client.post("/admin/groups", data={"name": "Support"})
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "neu" in page and "Support" in page
    short = admin_client.post("/admin/users", data={"username": "x", "password": "short"}, follow_redirects=True)
    assert "at least 8 characters" in short.get_data(as_text=True)


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
