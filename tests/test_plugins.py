"""Admin → Plugins: listing, switching off and on across processes, isolation of failures."""
import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest

import sample_plugin
from tricoma_mail_plugin import menu_items
from tricoma_mail_plugin._state import mail_state

HERE = os.path.dirname(os.path.abspath(__file__))


def switch(client, name, enabled):
    return client.post(f"/mail/admin/plugins/{name}/state", data={"enabled": "1" if enabled else "0"})


def test_plugin_page_lists_plugins_with_version_and_hooks(admin_client):
    page = admin_client.get("/mail/admin/plugins/").get_data(as_text=True)
    assert "sample_plugin" in page
    assert "1.2.3" in page
    for hook in ("menu_items", "resolve_folder", "register_blueprints", "before_send"):
        assert f"<code>{hook}</code>" in page
    assert "tricoma_mail_plugin.plugins.defaults.folder_rules" in page
    # what a plugin does, not only its module's name: here the first line of its docstring
    assert '<p class="plugin-summary">A test plugin that implements every hook, records its calls, and has one page.</p>' in page


def test_plugin_page_needs_an_admin(client, user_client):
    assert user_client.get("/mail/admin/plugins/").status_code == 403
    assert switch(user_client, "sample_plugin", False).status_code == 403
    anonymous = client.get("/mail/admin/plugins/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_switching_off_removes_pages_menu_and_hooks_at_once(app, admin_client):
    assert admin_client.get("/sample/").status_code == 200
    assert "Sample app" in admin_client.get("/").get_data(as_text=True)

    assert switch(admin_client, "sample_plugin", False).status_code == 302
    assert admin_client.get("/sample/").status_code == 404
    sample_plugin.calls.clear()
    home = admin_client.get("/").get_data(as_text=True)
    assert "Sample app" not in home
    assert not [name for name, _ in sample_plugin.calls if name == "menu_items"]
    with app.app_context():
        assert mail_state().hooks.collect("register_rights") == mail_state().hooks.collect(
            "register_rights"
        )
        assert "sample_approve" not in [r.key for r in mail_state().hooks.collect("register_rights")]

    assert switch(admin_client, "sample_plugin", True).status_code == 302
    assert admin_client.get("/sample/").status_code == 200
    assert "Sample app" in admin_client.get("/").get_data(as_text=True)


def test_unknown_or_builtin_plugin_cannot_be_switched(admin_client):
    assert switch(admin_client, "no_such_plugin", False).status_code == 404
    builtin = "tricoma_mail_plugin.plugins.defaults.folder_rules"
    assert switch(admin_client, builtin, False).status_code == 404


def test_toggle_in_one_app_is_seen_by_another_at_its_next_request(make_app, make_user):
    first, second = make_app(), make_app()
    make_user("root", admin=True)
    clients = []
    for app in (first, second):
        client = app.test_client()
        client.post("/login", data={"username": "root", "password": "correct horse battery"})
        clients.append(client)
    assert clients[1].get("/sample/").status_code == 200
    switch(clients[0], "sample_plugin", False)
    assert clients[1].get("/sample/").status_code == 404
    switch(clients[0], "sample_plugin", True)
    assert clients[1].get("/sample/").status_code == 200


@pytest.mark.slow
def test_toggle_is_seen_by_a_second_process(app, admin_client, database_url):
    """A separate Python process on the same database answers 404 once the plugin is off."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.path[:0] = [{os.path.join(HERE, "plugins")!r}, {HERE!r}]
        from app_fixtures import _test_config
        from hostapp import create_app
        app = create_app(_test_config({database_url!r}))
        print(app.test_client().get("/sample/").status_code)
        """
    )

    def status_in_other_process() -> str:
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                timeout=60, cwd=HERE)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    assert status_in_other_process() == "200"
    switch(admin_client, "sample_plugin", False)
    assert status_in_other_process() == "404"


def test_a_hook_that_raises_does_not_break_the_page_and_the_admin_sees_it(make_app, make_user):
    app = make_app(TRICOMA_MAIL_EXTRA_PLUGINS=("sample_plugin", "failing_plugin"))
    make_user("root", admin=True, language="en")
    client = app.test_client()
    client.post("/login", data={"username": "root", "password": "correct horse battery"})
    home = client.get("/")
    assert home.status_code == 200
    assert "Sample app" in home.get_data(as_text=True)  # the other plugins still contribute
    page = client.get("/mail/admin/plugins/").get_data(as_text=True)
    assert "failing_plugin cannot build its menu" in page
    assert "menu_items" in page


def test_a_plugin_that_fails_to_import_is_listed_as_broken(make_app, make_user, monkeypatch):
    broken = importlib.metadata.EntryPoint("broken", "broken_plugin", "tricoma_mail")
    working = importlib.metadata.EntryPoint("sample", "sample_plugin", "tricoma_mail")

    def entry_points(group=None, **kwargs):
        assert group == "tricoma_mail"
        return [broken, working]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    app = make_app(TRICOMA_MAIL_LOAD_ENTRYPOINTS=True, TRICOMA_MAIL_EXTRA_PLUGINS=())
    make_user("root", admin=True, language="en")
    client = app.test_client()
    client.post("/login", data={"username": "root", "password": "correct horse battery"})
    page = client.get("/mail/admin/plugins/").get_data(as_text=True)
    assert "broken" in page and "ModuleNotFoundError" in page
    assert client.get("/sample/").status_code == 200


def test_menu_items_are_sorted_by_section(app, make_user):
    user = make_user("root", admin=True)
    with app.test_request_context("/"):
        sections = [item.section for item in menu_items(user)]
    assert sections == sorted(sections, key=["mail", "apps", "admin"].index)


def test_a_plugins_summary_is_its_docstrings_first_paragraph_on_one_line():
    """Not its first line alone: a docstring wraps its first sentence too."""
    from types import ModuleType

    from tricoma_mail_plugin.plugins.manager import _summary

    wrapped = ModuleType("wrapped", "A plugin whose first sentence is long: it wraps\n    onto a second line.\n\n"
                                    "    The rest of the docstring.")
    assert _summary(wrapped, None) == "A plugin whose first sentence is long: it wraps onto a second line."
    assert _summary(ModuleType("bare"), None) is None
