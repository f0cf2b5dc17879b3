"""Server autodiscovery (SPEC M2): presets, autoconfig over a real local HTTP server, DNS SRV and
MX through fake and local resolvers, the guess, and address checks.

Every test runs under `loopback_only`: any socket to a non-loopback address fails the test."""
from __future__ import annotations

import ipaddress
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tricoma_mail_v1_imap import autodiscovery as ad
from tricoma_mail_v1_imap.autodiscovery import (
    MAX_RESPONSE_BYTES,
    AutoconfigError,
    InvalidAddress,
    ResponseTooLarge,
    ServerGuess,
    UnsafeUrl,
    discover,
    parse_address,
    parse_autoconfig,
    urllib_http_get,
)

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

# --------------------------------------------------------------------------------------------
# No internet, ever
# --------------------------------------------------------------------------------------------


def _is_loopback_host(host: object) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Fail the test on any attempt to reach (or even resolve) a non-loopback address.

    Attempts are also recorded and checked at teardown, because dnspython swallows the error."""
    attempts: list[str] = []

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback_host(address[0]):
            attempts.append(f"reach {address!r}")
            raise AssertionError(f"test tried to reach {address!r}")

    real_connect, real_connect_ex, real_sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self, address):
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return real_connect_ex(self, address)

    def sendto(self, data, *args):
        check(self, args[-1])
        return real_sendto(self, data, *args)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback_host(host):
            attempts.append(f"resolve {host!r}")
            raise AssertionError(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for variable in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    yield
    assert not attempts, f"the test tried to leave loopback: {attempts}"


# --------------------------------------------------------------------------------------------
# Fakes and a real local HTTP server
# --------------------------------------------------------------------------------------------


@dataclass
class FakeResolver:
    """SRV and MX answers from dicts; unknown names answer like NXDOMAIN (empty)."""

    srv_records: dict[str, list[tuple[int, int, int, str]]] = field(default_factory=dict)
    mx_records: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)

    def srv(self, name):
        self.queries.append(f"SRV {name}")
        return self.srv_records.get(name, [])

    def mx(self, domain):
        self.queries.append(f"MX {domain}")
        return self.mx_records.get(domain, [])


class FailingResolver:
    """A resolver whose look-ups fail the way a broken DNS does."""

    def srv(self, name):
        raise OSError("network unreachable")

    def mx(self, domain):
        raise LookupError("NXDOMAIN")


class NoNetwork:
    """Stands in for the resolver and http_get where a test must not look anything up."""

    def __call__(self, url, timeout):
        raise AssertionError(f"unexpected fetch of {url}")

    def srv(self, name):
        raise AssertionError(f"unexpected SRV look-up of {name}")

    def mx(self, domain):
        raise AssertionError(f"unexpected MX look-up of {domain}")


def not_found(url, timeout):
    return 404, b""


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        self.send_response(route.status)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.send_length:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        try:
            self.wfile.write(route.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: that is what a size cap does

    def log_message(self, format, *args):  # noqa: A002 - http.server's name
        pass


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def serve(self, url: str, body: bytes = b"", **route) -> None:
        """Answer requests for the https `url` (as rewritten by `http_get`) with `body`."""
        self.routes[self.local_path(url)] = Route(body=body, **route)

    @staticmethod
    def local_path(url: str) -> str:
        parts = urllib.parse.urlsplit(url)
        return f"/{parts.hostname}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def http_get(self, url: str, timeout: float):
        """The real `urllib_http_get`, with https://host/path rewritten to this server."""
        assert url.startswith("https://"), url
        return urllib_http_get(self.base + self.local_path(url), timeout, allow_loopback_http=True)


@pytest.fixture
def web():
    server = LocalHttpServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def server_xml(element, kind, host, port, socket_type, username="%EMAILADDRESS%"):
    return (
        f'<{element} type="{kind}"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket_type}</socketType><username>{username}</username>"
        f"<authentication>password-cleartext</authentication></{element}>"
    )


def client_config(*servers, name="Example Mail"):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<clientConfig version="1.1">'
        f'<emailProvider id="example.org"><domain>example.org</domain><displayName>{name}</displayName>'
        + "".join(servers)
        + "</emailProvider></clientConfig>"
    ).encode()


EXAMPLE_CONFIG = client_config(
    server_xml("incomingServer", "imap", "mail.example.org", 993, "SSL", "%EMAILLOCALPART%"),
    server_xml("outgoingServer", "smtp", "mail.example.org", 587, "STARTTLS", "%EMAILLOCALPART%"),
)

OWN_URL = "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=jane.doe%40example.org"
WELL_KNOWN_URL = "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml"
ISPDB_URL = "https://autoconfig.thunderbird.net/v1.1/example.org"

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<clientConfig><emailProvider id="x"><displayName>&lol4;</displayName></emailProvider></clientConfig>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE clientConfig [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<clientConfig><emailProvider id="x"><displayName>&secret;</displayName></emailProvider></clientConfig>"""


# --------------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------------

GMAIL = ("imap.gmail.com", 993, "tls", "smtp.gmail.com", 465, "tls", True)
YAHOO = ("imap.mail.yahoo.com", 993, "tls", "smtp.mail.yahoo.com", 465, "tls", False)
WEB_DE = ("imap.web.de", 993, "tls", "smtp.web.de", 587, "starttls", False)
GMX = ("imap.gmx.net", 993, "tls", "mail.gmx.net", 587, "starttls", False)
T_ONLINE = ("secureimap.t-online.de", 993, "tls", "securesmtp.t-online.de", 465, "tls", False)
IONOS = ("imap.ionos.de", 993, "tls", "smtp.ionos.de", 465, "tls", False)
OUTLOOK = ("outlook.office365.com", 993, "tls", "smtp-mail.outlook.com", 587, "starttls", True)
EXCHANGE = ("outlook.office365.com", 993, "tls", "smtp.office365.com", 587, "starttls", True)


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("gmail.com", GMAIL),
        ("googlemail.com", GMAIL),
        ("yahoo.com", YAHOO),
        ("yahoo.de", YAHOO),
        ("web.de", WEB_DE),
        ("gmx.de", GMX),
        ("gmx.net", GMX),
        ("gmx.at", GMX),
        ("gmx.ch", GMX),
        ("t-online.de", T_ONLINE),
        ("1und1.de", IONOS),
        ("ionos.de", IONOS),
        ("online.de", IONOS),
        ("outlook.com", OUTLOOK),
        ("hotmail.com", OUTLOOK),
        ("live.com", OUTLOOK),
        ("msn.com", OUTLOOK),
        ("contoso.onmicrosoft.com", EXCHANGE),
    ],
)
def test_presets_fill_the_servers_without_network(domain, expected):
    imap_host, imap_port, imap_security, smtp_host, smtp_port, smtp_security, files_sent = expected
    offline = NoNetwork()

    found = discover(f"jane.doe@{domain}", resolver=offline, http_get=offline)

    assert found.source == "preset"
    assert found.provider_name
    assert (found.imap.protocol, found.imap.host, found.imap.port, found.imap.security) == (
        "imap", imap_host, imap_port, imap_security)
    assert (found.smtp.protocol, found.smtp.host, found.smtp.port, found.smtp.security) == (
        "smtp", smtp_host, smtp_port, smtp_security)
    assert found.provider_files_sent_mail is files_sent
    assert found.imap.username(f"jane.doe@{domain}") == f"jane.doe@{domain}"


def test_every_provider_has_a_preset_domain_or_suffix():
    reachable = set(ad.PRESETS.values()) | set(ad.PRESET_SUFFIXES.values())
    assert set(ad.PROVIDERS.values()) <= reachable


def test_preset_lookup_ignores_the_case_of_the_domain():
    assert discover("Jane@GMail.COM", resolver=NoNetwork(), http_get=NoNetwork()) is ad.GMAIL


def test_gmail_and_exchange_online_carry_their_login_notes():
    gmail_notes = " ".join(ad.GMAIL.notes)
    exchange_notes = " ".join(ad.EXCHANGE_ONLINE.notes)
    assert "app password" in gmail_notes and "OAuth2" in gmail_notes
    assert "SMTP AUTH" in exchange_notes and "OAuth2" in exchange_notes


def test_the_tables_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        ad.PRESETS["example.org"] = ad.GMAIL


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("%EMAILADDRESS%", "jane.doe@example.org"),
        ("%EMAILLOCALPART%", "jane.doe"),
        ("%EMAILLOCALPART%+%EMAILDOMAIN%", "jane.doe+example.org"),
        ("fixed-login", "fixed-login"),
    ],
)
def test_username_fills_the_template(template, expected):
    server = ServerGuess("imap", "mail.example.org", 993, "tls", template)
    assert server.username("jane.doe@example.org") == expected


def test_username_never_substitutes_text_from_the_address_again():
    server = ServerGuess("imap", "mail.example.org", 993, "tls", "%EMAILLOCALPART%")
    assert server.username("%EMAILDOMAIN%@example.org") == "%EMAILDOMAIN%"


@pytest.mark.parametrize(
    "arguments",
    [
        ("pop3", "mail.example.org", 995, "tls"),
        ("imap", "mail.example.org", 993, "ssl"),
        ("imap", "mail.example.org", 0, "tls"),
        ("imap", "mail.example.org", 70000, "tls"),
        ("imap", "mail.example.org", True, "tls"),
        ("imap", "bad host", 993, "tls"),
        ("imap", "-bad.example.org", 993, "tls"),
    ],
)
def test_server_guess_refuses_nonsense(arguments):
    with pytest.raises(ValueError):
        ServerGuess(*arguments)


def test_values_are_frozen():
    with pytest.raises(AttributeError):
        ad.GMAIL.imap.port = 143


# --------------------------------------------------------------------------------------------
# Mozilla autoconfig, fetched from a real local server
# --------------------------------------------------------------------------------------------


def test_autoconfig_from_the_domains_own_server(web):
    web.serve(OWN_URL, EXAMPLE_CONFIG)

    found = discover("jane.doe@example.org", resolver=NoNetwork(), http_get=web.http_get)

    assert web.requests == [web.local_path(OWN_URL)]
    assert found.source == "autoconfig"
    assert found.provider_name == "Example Mail"
    assert found.imap == ServerGuess("imap", "mail.example.org", 993, "tls", "%EMAILLOCALPART%")
    assert found.smtp == ServerGuess("smtp", "mail.example.org", 587, "starttls", "%EMAILLOCALPART%")
    assert found.imap.username("jane.doe@example.org") == "jane.doe"
    assert found.provider_files_sent_mail is False


def test_autoconfig_tries_well_known_then_ispdb(web):
    web.serve(WELL_KNOWN_URL, b"<clientConfig><emailProvider>")  # malformed: refused, next one
    web.serve(ISPDB_URL, EXAMPLE_CONFIG)

    found = discover("jane.doe@example.org", resolver=NoNetwork(), http_get=web.http_get)

    assert web.requests == [web.local_path(url) for url in (OWN_URL, WELL_KNOWN_URL, ISPDB_URL)]
    assert found.source == "autoconfig"
    assert found.imap.host == "mail.example.org"


def test_autoconfig_pointing_at_gmail_gets_gmails_notes(web):
    web.serve(OWN_URL, client_config(
        server_xml("incomingServer", "imap", "imap.gmail.com", 993, "SSL"),
        server_xml("outgoingServer", "smtp", "smtp.gmail.com", 465, "SSL"),
        name="Example on Google",
    ))

    found = discover("jane.doe@example.org", resolver=NoNetwork(), http_get=web.http_get)

    assert found.provider_name == "Example on Google"
    assert found.provider_files_sent_mail is True
    assert found.notes == ad.GMAIL.notes


def test_autoconfig_prefers_encrypted_imap_and_skips_pop3_and_bad_entries():
    data = client_config(
        server_xml("incomingServer", "pop3", "pop.example.org", 995, "SSL"),
        server_xml("incomingServer", "imap", "plain.example.org", 143, "plain"),
        server_xml("incomingServer", "imap", "bad host", 993, "SSL"),
        server_xml("incomingServer", "imap", "imap.example.org", "abc", "SSL"),
        server_xml("incomingServer", "imap", "imap.example.org", 993, "weird"),
        server_xml("incomingServer", "imap", "imap.%EMAILDOMAIN%", 993, "SSL"),
        server_xml("outgoingServer", "smtp", "smtp.example.org", 25, "plain"),
        server_xml("outgoingServer", "smtp", "SMTP.example.org", 465, "ssl"),
    )

    found = parse_autoconfig(data, "jane.doe@example.org")

    assert found.imap == ServerGuess("imap", "imap.example.org", 993, "tls")
    assert found.smtp == ServerGuess("smtp", "smtp.example.org", 465, "tls")
    assert found.notes == ()


def test_autoconfig_with_only_plain_imap_says_so():
    data = client_config(server_xml("incomingServer", "imap", "imap.example.org", 143, "plain"))

    found = parse_autoconfig(data, "jane.doe@example.org")

    assert found.imap.security == "none"
    assert found.smtp is None
    assert "no encryption" in found.notes[0]


def test_autoconfig_without_imap_is_no_answer():
    data = client_config(server_xml("incomingServer", "pop3", "pop.example.org", 995, "SSL"))
    assert parse_autoconfig(data, "jane.doe@example.org") is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (ENTITY_BOMB, "DOCTYPE"),
        (EXTERNAL_ENTITY, "DOCTYPE"),
        (b'<!DOCTYPE clientConfig SYSTEM "http://example.org/x.dtd"><clientConfig/>', "DOCTYPE"),
        (b"<clientConfig><emailProvider>&undefined;</emailProvider></clientConfig>", "malformed"),
        (b"<clientConfig><emailProvider></clientConfig>", "malformed"),
        (b"not xml at all", "malformed"),
        (b"", "malformed"),
        (b"<html><body>Not here</body></html>", "root element"),
    ],
)
def test_unsafe_or_malformed_autoconfig_is_refused(data, reason):
    with pytest.raises(AutoconfigError, match=reason):
        parse_autoconfig(data, "jane.doe@example.org")


def test_an_entity_bomb_served_over_http_is_refused_and_discovery_goes_on(web):
    web.serve(OWN_URL, ENTITY_BOMB)
    web.serve(WELL_KNOWN_URL, EXTERNAL_ENTITY)
    web.serve(ISPDB_URL, ENTITY_BOMB)

    found = discover("jane.doe@example.org", resolver=FakeResolver(), http_get=web.http_get)

    assert len(web.requests) == 3
    assert found.source == "guess"


def test_oversized_autoconfig_data_is_refused():
    padded = EXAMPLE_CONFIG.replace(b"<clientConfig", b" " * MAX_RESPONSE_BYTES + b"<clientConfig", 1)
    with pytest.raises(AutoconfigError, match="larger than"):
        parse_autoconfig(padded, "jane.doe@example.org")


@pytest.mark.parametrize("send_length", [True, False])
def test_oversized_response_is_refused(web, send_length):
    web.serve(OWN_URL, b"<" * (MAX_RESPONSE_BYTES + 1), send_length=send_length)

    with pytest.raises(ResponseTooLarge):
        web.http_get(OWN_URL, 5.0)
    found = discover("jane.doe@example.org", resolver=FakeResolver(), http_get=web.http_get)
    assert found.source == "guess"


def test_a_response_of_exactly_the_maximum_size_is_read(web):
    body = b"x" * MAX_RESPONSE_BYTES
    web.serve(OWN_URL, body, send_length=False)
    assert web.http_get(OWN_URL, 5.0) == (200, body)


def test_unreachable_autoconfig_server_is_skipped(web):
    def flaky(url, timeout):
        if "autoconfig.example.org" in url:
            raise ConnectionRefusedError("connection refused")
        return web.http_get(url, timeout)

    web.serve(WELL_KNOWN_URL, EXAMPLE_CONFIG)

    assert discover("jane.doe@example.org", resolver=NoNetwork(), http_get=flaky).source == "autoconfig"


# --------------------------------------------------------------------------------------------
# The default fetcher
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://example.org/config.xml", "ftp://example.org/config.xml", "file:///etc/passwd", "https:///no-host"],
)
def test_fetcher_refuses_anything_but_https(url):
    with pytest.raises(UnsafeUrl):
        urllib_http_get(url, 1.0, allow_loopback_http=True)


def test_fetcher_refuses_loopback_http_unless_allowed(web):
    with pytest.raises(UnsafeUrl):
        urllib_http_get(f"{web.base}/anything", 1.0)
    assert web.requests == []


def test_fetcher_reports_http_errors_with_an_empty_body(web):
    assert urllib_http_get(f"{web.base}/missing", 5.0, allow_loopback_http=True) == (404, b"")


def test_fetcher_follows_redirects_within_the_allowed_schemes(web):
    web.routes["/start"] = Route(status=302, headers={"Location": "/target"})
    web.routes["/target"] = Route(body=b"arrived")
    assert urllib_http_get(f"{web.base}/start", 5.0, allow_loopback_http=True) == (200, b"arrived")


def test_fetcher_refuses_a_redirect_to_plain_http(web):
    web.routes["/start"] = Route(status=302, headers={"Location": "http://example.invalid/config.xml"})
    with pytest.raises(UnsafeUrl):
        urllib_http_get(f"{web.base}/start", 5.0, allow_loopback_http=True)


def test_fetcher_never_follows_a_redirect_to_a_file(web):
    web.routes["/start"] = Route(status=302, headers={"Location": "file:///etc/passwd"})
    status, body = urllib_http_get(f"{web.base}/start", 5.0, allow_loopback_http=True)
    assert status != 200 and body == b""


def test_fetcher_stops_redirect_loops(web):
    web.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    status, body = urllib_http_get(f"{web.base}/loop", 5.0, allow_loopback_http=True)
    assert (status, body) == (302, b"")
    assert len(web.requests) <= 4


# --------------------------------------------------------------------------------------------
# DNS SRV
# --------------------------------------------------------------------------------------------


def srv_discover(records, **kwargs):
    resolver = FakeResolver(srv_records=records, **kwargs)
    return discover("jane.doe@example.org", resolver=resolver, http_get=not_found), resolver


def test_srv_records_give_imap_and_smtp():
    found, _ = srv_discover({
        "_imaps._tcp.example.org": [(0, 1, 993, "imap.example.net.")],
        "_submissions._tcp.example.org": [(0, 1, 465, "smtp.example.net.")],
    })
    assert found.source == "srv"
    assert found.imap == ServerGuess("imap", "imap.example.net", 993, "tls")
    assert found.smtp == ServerGuess("smtp", "smtp.example.net", 465, "tls")
    assert found.notes == ()


def test_srv_priority_wins_over_the_kind_of_tls():
    found, _ = srv_discover({
        "_imaps._tcp.example.org": [(10, 1, 993, "backup.example.org.")],
        "_imap._tcp.example.org": [(0, 1, 143, "primary.example.org.")],
        "_submissions._tcp.example.org": [(5, 1, 465, "smtp.example.org.")],
        "_submission._tcp.example.org": [(5, 1, 587, "smtp.example.org.")],
    })
    assert found.imap == ServerGuess("imap", "primary.example.org", 143, "starttls")
    assert found.smtp == ServerGuess("smtp", "smtp.example.org", 465, "tls")  # tie: implicit TLS


def test_srv_heavier_weight_first_within_a_priority():
    found, _ = srv_discover({
        "_imaps._tcp.example.org": [(0, 10, 993, "light.example.org."), (0, 50, 993, "heavy.example.org.")],
    })
    assert found.imap.host == "heavy.example.org"


def test_srv_dot_target_means_not_offered_under_that_name():
    found, _ = srv_discover({
        "_imaps._tcp.example.org": [(0, 0, 0, ".")],
        "_imap._tcp.example.org": [(0, 0, 143, "mail.example.org.")],
        "_submissions._tcp.example.org": [(0, 0, 0, ".")],
        "_submission._tcp.example.org": [(0, 0, 587, "mail.example.org.")],
    })
    assert found.imap == ServerGuess("imap", "mail.example.org", 143, "starttls")
    assert found.smtp == ServerGuess("smtp", "mail.example.org", 587, "starttls")


def test_srv_saying_no_imap_at_all_is_the_answer():
    found, resolver = srv_discover({
        "_imaps._tcp.example.org": [(0, 0, 0, ".")],
        "_imap._tcp.example.org": [(0, 0, 0, ".")],
        "_submissions._tcp.example.org": [(0, 1, 465, "smtp.example.org.")],
    })
    assert found.source == "srv"
    assert found.imap is None
    assert found.smtp.host == "smtp.example.org"
    assert "no IMAP" in found.notes[0]
    assert not any(query.startswith("MX") for query in resolver.queries)


def test_srv_without_submission_records_leaves_smtp_open():
    found, _ = srv_discover({"_imaps._tcp.example.org": [(0, 1, 993, "imap.example.org.")]})
    assert found.smtp is None
    assert any("SMTP" in note for note in found.notes)


def test_srv_submission_alone_does_not_stop_discovery():
    found, resolver = srv_discover({"_submission._tcp.example.org": [(0, 1, 587, "smtp.example.org.")]})
    assert found.source == "guess"
    assert "MX example.org" in resolver.queries


def test_srv_target_at_a_known_provider_gets_its_notes():
    found, _ = srv_discover({"_imaps._tcp.example.org": [(0, 1, 993, "outlook.office365.com.")]})
    assert found.provider_name == ad.EXCHANGE_ONLINE.provider_name
    assert found.provider_files_sent_mail is True


def test_failing_dns_is_treated_as_no_records():
    found = discover("jane.doe@example.org", resolver=FailingResolver(), http_get=not_found)
    assert found.source == "guess"


# --------------------------------------------------------------------------------------------
# MX
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mx_host", "preset"),
    [
        ("aspmx.l.google.com.", ad.GMAIL),
        ("alt1.aspmx.l.google.com", ad.GMAIL),
        ("aspmx2.googlemail.com.", ad.GMAIL),
        ("example-org.mail.protection.outlook.com.", ad.EXCHANGE_ONLINE),
        ("mx-ha03.web.de.", ad.WEB_DE),
        ("mx00.gmx.net.", ad.GMX),
        ("mx00.kundenserver.de.", ad.IONOS),
        ("mx01.ionos.de.", ad.IONOS),
        ("mx00.t-online.de.", ad.T_ONLINE),
        ("mta5.am0.yahoodns.net.", ad.YAHOO),
    ],
)
def test_mx_at_a_known_provider_uses_its_preset(mx_host, preset):
    resolver = FakeResolver(mx_records={"example.org": [(10, mx_host)]})

    found = discover("jane.doe@example.org", resolver=resolver, http_get=not_found)

    assert found.source == "mx"
    assert (found.imap, found.smtp, found.notes) == (preset.imap, preset.smtp, preset.notes)
    assert found.provider_files_sent_mail is preset.provider_files_sent_mail


def test_mx_preference_decides_and_null_mx_is_ignored():
    records = [(20, "mx.other.example."), (0, "."), (5, "aspmx.l.google.com.")]
    resolver = FakeResolver(mx_records={"example.org": records})
    assert discover("jane.doe@example.org", resolver=resolver, http_get=not_found).imap == ad.GMAIL.imap


def test_mx_domain_autoconfig_is_fetched_for_the_users_address(web):
    mx_ispdb = "https://autoconfig.thunderbird.net/v1.1/mailhost.net"
    web.serve(mx_ispdb, client_config(
        server_xml("incomingServer", "imap", "imap.mailhost.net", 993, "SSL"),
        server_xml("outgoingServer", "smtp", "smtp.mailhost.net", 465, "SSL"),
        name="Mailhost",
    ))
    resolver = FakeResolver(mx_records={"example.org": [(10, "mx1.eu.mailhost.net."), (20, "mx2.eu.mailhost.net.")]})

    found = discover("jane.doe@example.org", resolver=resolver, http_get=web.http_get)

    assert found.source == "mx"
    assert found.provider_name == "Mailhost"
    assert found.imap == ServerGuess("imap", "imap.mailhost.net", 993, "tls")
    own_of_mx = "https://autoconfig.mailhost.net/mail/config-v1.1.xml?emailaddress=jane.doe%40example.org"
    assert web.requests[3:] == [web.local_path(url) for url in (
        own_of_mx, "https://mailhost.net/.well-known/autoconfig/mail/config-v1.1.xml", mx_ispdb)]


def test_mx_in_the_users_own_domain_is_not_fetched_twice(web):
    resolver = FakeResolver(mx_records={"example.org": [(10, "mx.example.org.")]})

    found = discover("jane.doe@example.org", resolver=resolver, http_get=web.http_get)

    assert found.source == "guess"
    assert len(web.requests) == 3


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("mx1.eu.mailhost.net.", "mailhost.net"),
        ("mx.mail.example.co.uk", "example.co.uk"),
        ("example.org", "example.org"),
    ],
)
def test_registered_domain(host, domain):
    assert ad.registered_domain(host) == domain


# --------------------------------------------------------------------------------------------
# The default resolver, against a real DNS server on loopback
# --------------------------------------------------------------------------------------------


class LocalDnsServer:
    """Answers SRV and MX queries over UDP on 127.0.0.1 from a dict; other names: NXDOMAIN."""

    def __init__(self, zone: dict[tuple[str, str], list[str]]):
        self.zone = zone
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self):
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        while not self._stop.is_set():
            try:
                data, client = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            response = dns.message.make_response(query)
            name, rdtype = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
            if (name, rdtype) in self.zone:
                response.answer.append(dns.rrset.from_text(name, 300, "IN", rdtype, *self.zone[name, rdtype]))
            elif not any(key[0] == name for key in self.zone):
                response.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(response.to_wire(), client)


def test_dns_resolver_reads_srv_and_mx_and_turns_failures_into_empty_lists():
    pytest.importorskip("dns.resolver")
    import dns.resolver

    zone = {
        ("_imaps._tcp.example.org.", "SRV"): ["0 5 993 imap.example.org.", "10 1 993 backup.example.org."],
        ("example.org.", "MX"): ["10 mx1.example.org.", "20 mx2.example.org."],
    }
    with LocalDnsServer(zone) as server:
        stub = dns.resolver.Resolver(configure=False)
        stub.nameservers = ["127.0.0.1"]
        stub.port = server.port
        resolver = ad.DnsResolver(timeout=3.0, resolver=stub)

        assert sorted(resolver.srv("_imaps._tcp.example.org")) == [
            (0, 5, 993, "imap.example.org."), (10, 1, 993, "backup.example.org.")]
        assert sorted(resolver.mx("example.org")) == [(10, "mx1.example.org."), (20, "mx2.example.org.")]
        assert resolver.srv("_imap._tcp.example.org") == []  # NXDOMAIN
        assert resolver.srv("example.org") == []  # the name exists, no SRV: no answer

        found = discover("jane.doe@example.org", resolver=resolver, http_get=not_found)
    assert found.source == "srv"
    assert found.imap == ServerGuess("imap", "imap.example.org", 993, "tls")


# --------------------------------------------------------------------------------------------
# Guess
# --------------------------------------------------------------------------------------------


def test_guess_when_nothing_else_answers():
    found = discover("jane.doe@example.org", resolver=FakeResolver(), http_get=not_found)

    assert found.source == "guess"
    assert found.imap == ServerGuess("imap", "imap.example.org", 993, "tls")
    assert found.smtp == ServerGuess("smtp", "smtp.example.org", 587, "starttls")
    assert found.provider_name is None
    assert "guessed" in found.notes[0]


def test_no_answer_when_guessing_is_not_allowed():
    assert discover("jane.doe@example.org", resolver=FakeResolver(), http_get=not_found, allow_guess=False) is None


def test_internationalized_domains_are_used_in_ascii_form():
    found = discover("info@münchen.de", resolver=FakeResolver(), http_get=not_found)
    assert found.imap.host == "imap.xn--mnchen-3ya.de"


# --------------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "exactly one '@'"),
        ("jane.example.org", "exactly one '@'"),
        ("jane@@example.org", "exactly one '@'"),
        ("jane@doe@example.org", "exactly one '@'"),
        ("jane doe@example.org", "spaces"),
        (" jane@example.org", "spaces"),
        ("jane@example.org\r\nBcc: victim@example.com", "line breaks"),
        ("jane@example.org\n", "line breaks"),
        ("jane\t@example.org", "spaces"),
        ("jane\x00@example.org", "control"),
        ("@example.org", "empty"),
        ("j" * 65 + "@example.org", "64 characters"),
        (".jane@example.org", "not a valid part"),
        ("jane.@example.org", "not a valid part"),
        ("ja..ne@example.org", "not a valid part"),
        ('"jane"@example.org', "not a valid part"),
        ("jane(x)@example.org", "not a valid part"),
        ("jane@", "domain"),
        ("jane@localhost", "at least one dot"),
        ("jane@example..org", "domain"),
        ("jane@example.org.", "domain"),
        ("jane@-example.org", "domain"),
        ("jane@example-.org", "domain"),
        ("jane@exa_mple.org", "domain"),
        ("jane@example.org/evil?x=", "domain"),
        ("jane@" + "a" * 64 + ".org", "domain"),
        ("jane@192.168.1.10", "not a domain name"),
        ("jane@[127.0.0.1]", "domain"),
    ],
)
def test_invalid_addresses_are_refused_with_a_clear_message(email, message):
    with pytest.raises(InvalidAddress, match=message):
        discover(email, resolver=NoNetwork(), http_get=NoNetwork())


def test_an_invalid_address_is_a_value_error():
    assert issubclass(InvalidAddress, ValueError)


def test_a_valid_address_is_split_and_its_domain_normalized():
    address = parse_address("Jane.O'Neil+tag@Mail.Example.ORG")
    assert (address.local, address.domain) == ("Jane.O'Neil+tag", "mail.example.org")
    assert address.address == "Jane.O'Neil+tag@mail.example.org"
