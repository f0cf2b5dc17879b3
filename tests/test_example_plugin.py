"""The example plugin of ``docs/writing_plugins.md`` (``docs/examples/hello``) works as the doc
says: registered by config, and installed for real as a distribution found by its entry point;
and its own tests, written with ``tricoma_mail_plugin.testing``, pass when pytest runs them as
the plugin's author would."""
from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from example_plugins import install_example, run_example_tests

from tricoma_mail_plugin import available_rights

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "hello"
PACKAGE = "tricoma_mail_hello"
EXAMPLE_TEST = EXAMPLE / "tests" / "test_hello.py"
PASSWORD = "correct horse battery"


@contextlib.contextmanager
def importable_from(folder: Path):
    """Put ``folder`` first on ``sys.path``; afterwards take it off and forget the plugin's modules,
    so that no other test sees this copy of the plugin."""
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()


def logged_in_admin(app, make_user):
    make_user("root", admin=True, language="en")
    client = app.test_client()
    assert client.post("/login", data={"username": "root", "password": PASSWORD}).status_code == 302
    return client


def plugin_row(admin_page: str, name: str) -> str:
    match = re.search(rf'<tr id="plugin-{re.escape(name)}".*?</tr>', admin_page, re.S)
    assert match, f"plugin {name} is not listed on Admin → Plugins"
    return match.group(0)


def check_the_example_plugin(app, client, name: str, distribution: str | None) -> None:
    """Everything the doc promises, for the plugin registered as ``name``."""
    row = plugin_row(client.get("/mail/admin/plugins/").get_data(as_text=True), name)
    if distribution:
        assert distribution in row
        # the distribution's description says what the plugin does
        assert "An example tricoma mail plugin: a page, a menu entry, a settings panel and a right" in row
    assert "0.1.0" in row
    for hook in ("menu_items", "register_blueprints", "register_rights", "settings_panels"):
        assert f"<code>{hook}</code>" in row

    page = client.get("/mail/hello/")
    assert page.status_code == 200 and "Hello, Root!" in page.get_data(as_text=True)
    assert 'href="/mail/hello/"' in client.get("/").get_data(as_text=True)
    assert 'href="/mail/hello/settings"' in client.get("/mail/settings/").get_data(as_text=True)
    assert client.get("/mail/hello/settings").status_code == 200
    with app.app_context():
        assert "hello_greet" in [right.key for right in available_rights()]

    switched = client.post(f"/mail/admin/plugins/{name}/state", data={"enabled": "0"})
    assert switched.status_code == 302
    assert client.get("/mail/hello/").status_code == 404
    assert 'href="/mail/hello/"' not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert "hello_greet" not in [right.key for right in available_rights()]


def test_example_plugin_registered_by_config(make_app, make_user):
    with importable_from(EXAMPLE):
        app = make_app(TRICOMA_MAIL_EXTRA_PLUGINS=(PACKAGE,))
        client = logged_in_admin(app, make_user)
        check_the_example_plugin(app, client, PACKAGE, distribution=None)


def _missing_wheel_builder() -> str | None:
    """Why the venv cannot build a wheel without build isolation, or ``None`` if it can.

    ``bdist_wheel`` is part of setuptools from 70.1; older setuptools need ``wheel`` < 0.46.
    Versions are read from the metadata so that setuptools is not imported into the test run.
    """

    def version(distribution: str) -> tuple[int, ...] | None:
        try:
            text = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
        return tuple(int(part) for part in re.findall(r"\d+", text)[:3])

    setuptools, wheel = version("setuptools"), version("wheel")
    if setuptools is None:
        return "setuptools is not installed"
    if setuptools >= (70, 1) or (wheel is not None and wheel < (0, 46)):
        return None
    return (
        f"setuptools {'.'.join(map(str, setuptools))} cannot build wheels by itself; "
        "run scripts/bootstrap (it upgrades setuptools and wheel)"
    )


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """``docs/examples/hello`` installed with pip into a folder of its own (not the venv)."""
    reason = _missing_wheel_builder()
    if reason:
        pytest.skip(reason)
    return install_example(EXAMPLE, tmp_path_factory.mktemp("hello"))


def test_the_example_test_is_under_twenty_lines():
    assert len(EXAMPLE_TEST.read_text(encoding="utf-8").splitlines()) < 20


@pytest.mark.slow
@pytest.mark.db_independent  # the example's own suite runs on its own SQLite database
def test_the_example_tests_pass_with_the_testing_plugin(installed_example):
    assert "3 passed" in run_example_tests(installed_example)


@pytest.mark.slow
def test_example_plugin_installed_as_a_distribution(installed_example, make_app, make_user):
    with importable_from(installed_example):
        entry_points = importlib.metadata.entry_points(group="tricoma_mail", name="hello")
        assert [entry_point.value for entry_point in entry_points] == [PACKAGE]
        app = make_app(TRICOMA_MAIL_LOAD_ENTRYPOINTS=True, TRICOMA_MAIL_EXTRA_PLUGINS=())
        assert Path(sys.modules[PACKAGE].__file__).is_relative_to(installed_example)
        client = logged_in_admin(app, make_user)
        check_the_example_plugin(app, client, "hello", distribution="tricoma-mail-hello")
