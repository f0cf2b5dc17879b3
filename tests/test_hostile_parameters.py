"""Every parameter of every mail route, sent with a NUL, a number far beyond any id, and an
oversized value, by a user who holds every right on a real mailbox: the answer is never a server
error (500) and never a traceback, on SQLite and PostgreSQL. The parameter names come from the
views' own source, so a new parameter is covered as soon as a view reads it."""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.test import run_wsgi_app
from werkzeug.wsgi import get_current_url

from app_fixtures import login
from test_rights_matrix import CALLS, mail_rules, methods_of, route_values, scene  # noqa: F401
from test_rights_matrix import stock_mailbox  # noqa: F401  (a fixture, used by name)
from tricoma_mail_plugin._state import mail_state

pytestmark = [pytest.mark.live, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [ROOT / "tricoma_mail_plugin" / "web", ROOT / "tricoma_mail_plugin" / "records",
           ROOT / "plugins", ROOT / "hostapp"]
READS = re.compile(r"""(?:request\.(?:args|form|values)\.get(?:list)?\(|\bform\[)\s*["']([A-Za-z_][\w-]*)["']""")
# "oversized": far beyond every limit a parameter has (a subject, a search, a name: at most a few
# thousand characters), and within the 500 KB a form may hold
HOSTILE = {"nul": "a\x00b", "huge number": "9" * 40, "oversized": "x" * 100_000}


def names_read_in(path: Path) -> set[str]:
    return set(READS.findall(path.read_text(encoding="utf-8")))


def parameter_names() -> list[str]:
    names = set()
    for base in SOURCES:
        for path in base.rglob("*.py"):
            if "tests" not in path.parts:
                names |= names_read_in(path)
    return sorted(names)


def test_the_parameter_list_is_real():
    names = parameter_names()
    assert {"q", "before", "source", "folder", "ids", "to", "subject", "tz_offset"} <= set(names), names


class QueryBlindCookieClient(FlaskClient):
    """The app's test client, less a cost of its own that grows with the query string: for its
    cookie jar (host and path only) werkzeug's client works out each request's whole URL, the
    query percent-decoded, twice per request, which for the oversized value costs more than the
    request does in the app. The app gets the very same request."""

    def run_wsgi_app(self, environ, buffered=False):
        if not hasattr(self, "_add_cookies_to_wsgi") or not hasattr(self, "_update_cookies_from_response"):
            return super().run_wsgi_app(environ, buffered=buffered)  # another werkzeug: its own way
        bare = {**environ, "QUERY_STRING": ""}
        self._add_cookies_to_wsgi(bare)
        environ.pop("HTTP_COOKIE", None)
        if "HTTP_COOKIE" in bare:
            environ["HTTP_COOKIE"] = bare["HTTP_COOKIE"]
        answer = run_wsgi_app(self.application, environ, buffered=buffered)
        url = urlsplit(get_current_url(bare))
        self._update_cookies_from_response(url.hostname or "localhost", url.path, answer[2].getlist("Set-Cookie"))
        return answer


def requests_for(app, rule):
    """(method, plausible fields, names to spoil one at a time) for each method of ``rule``: the
    names its view's module reads, plus what the rights matrix sends to it."""
    module = Path(inspect.getsourcefile(app.view_functions[rule.endpoint]))
    for method in sorted(methods_of(rule)):
        call = CALLS.get((rule.endpoint, method))
        plausible = {**((call.query or {}) if call else {}), **((call.form or {}) if call else {})}
        yield method, plausible, sorted(names_read_in(module) | set(plausible))


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_no_parameter_makes_a_server_error(app, scene, kind):  # noqa: F811
    value = HOSTILE[kind]
    # the v2 event stream stays open for this long (and reads "seconds" as a shorter wish only)
    app.config["TRICOMA_MAIL_V2_STREAM_SECONDS"] = 0.2
    client = QueryBlindCookieClient(app, app.response_class, use_cookies=True)
    with app.app_context():
        owner_id = mail_state().directory.find("user", "owner").id
    assert login(client, "owner").status_code == 302
    adapter = app.url_map.bind("localhost")
    fields_of_scene = {**scene.__dict__}
    failures, sent = [], 0
    for rule in sorted(mail_rules(app), key=lambda r: r.endpoint):
        if rule.endpoint.endswith(".static") or rule.endpoint.endswith(".upload"):
            continue
        try:
            url = adapter.build(rule.endpoint, route_values(rule, scene, owner_id))
        except KeyError:
            continue  # an argument the scene cannot fill (the rights matrix covers the route)
        for method, plausible, names in requests_for(app, rule):
            base = {key: str(text).format(**fields_of_scene) for key, text in plausible.items()}
            for name in names:
                fields = {**base, name: value}
                sent += 1
                try:  # the test app lets a view's exception through instead of answering 500
                    response = client.open(url, method=method, query_string=fields if method == "GET" else base,
                                           data=fields if method == "POST" else None)
                except Exception as error:  # noqa: BLE001 - collected, so all are listed at once
                    failures.append(f"{method} {rule.rule} {name}={kind} -> {type(error).__name__}: {error}"[:300])
                    with app.app_context():
                        mail_state().db.session.rollback()
                    continue
                if response.status_code >= 500 or "Traceback" in response.get_data(as_text=True):
                    failures.append(f"{method} {rule.rule} {name}={kind} -> {response.status_code}")
    assert sent > 100
    assert not failures, "\n".join(failures)
