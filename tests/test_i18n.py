"""German and English: the browser's language, the user's choice, formal address."""
from app_fixtures import login


def test_login_page_in_german_and_in_english(client):
    german = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"}).get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="de">' in german and "Anmelden" in german and "Benutzername" in german
    assert '<html lang="en">' in english and "Log in" in english and "User name" in english


def test_the_plugin_page_in_german_and_in_english(app, make_user):
    make_user("ada", admin=True, language="de")
    make_user("eve", admin=True, language="en")
    pages = {}
    for name in ("ada", "eve"):
        client = app.test_client()
        login(client, name)
        pages[name] = client.get("/mail/admin/plugins/").get_data(as_text=True)
    assert "Ausschalten" in pages["ada"] and "Switch off" not in pages["ada"]
    assert "Switch off" in pages["eve"] and "Ausschalten" not in pages["eve"]


def test_error_messages_address_the_user_formally(client, make_user):
    make_user("ulla")
    page = client.post("/login", data={"username": "ulla", "password": "x"},
                       headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Benutzername oder das Passwort" in page or "Benutzername oder Passwort" in page
    for _ in range(5):
        page = client.post("/login", data={"username": "ulla", "password": "x"},
                           headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Bitte warten Sie" in page


def test_the_language_switch_is_remembered(client, make_user):
    make_user("ulla", language="en")
    login(client, "ulla")
    client.post("/language", data={"language": "de", "next": "/"})
    assert "Willkommen" in client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
