"""XSS in the real browser (issue 7, point 7; SPEC X1, X3): every payload of DOMPurify's fixtures
(../shared/corpora/xss-dompurify/expect.mjs), delivered as the HTML body of a real mail on the
local Dovecot stack, synced, and opened in the real reading view of the running app in Debian's
headless Chromium (logged in, CSRF on), runs no script.

How a payload that runs is seen (any one is enough):

* a sentinel init script, run by Chromium in every frame that may run script at all (the top page,
  child frames, popups) before any of the page's own script: ``window.__xss = []``, and
  ``alert/confirm/prompt/print`` replaced by functions that push to it and call an exposed
  Playwright binding (a CDP binding: no CSP or opaque origin stops it); ``window.__xss`` of every
  frame is read after the page settled;
* ``dialog`` events (an alert the sentinel missed), and Chromium's "Ignored call to 'alert()'"
  console message (a sandboxed frame without ``allow-modals`` that still ran script);
* beacons: every payload that calls ``alert``/``confirm``/``prompt``/``print`` is also sent as a
  second message in which each such call first does ``fetch(<absolute URL>/xss-beacon-<n>)``; every
  request of the browser context is watched for "xss-beacon", and the test app counts the
  requests that reach it (a ``before_request`` hook registered only in this test's app);
* the top page changed: its title or its DOM differ from the HTML the server sent (re-parsed
  inert with ``DOMParser``), it navigated away, or a popup opened.

The body frame must really have been delivered, both ways the reading view delivers it: by default
the page carries the body document in the frame's ``srcdoc`` (frame URL ``about:srcdoc``, no
request for the body), and with ``TRICOMA_MAIL_INLINE_BODY_MAX_BYTES`` at 0 (the way of a body
above the limit) the frame loads it from the ``/body`` route, which answered 200 (one payload in
eight and all the canaries: the route serves the very document ``srcdoc`` carries, built by one
function, so a full second pass would test the sanitizer twice and cost CI four minutes). Either way the
frame holds the body document (its ``<meta>`` CSP) and keeps its ``sandbox`` without
``allow-scripts``/``allow-same-origin``. Requests of a ``srcdoc`` frame are invisible to
Playwright's (and CDP's) network events: a beacon from it is still counted by the app, and
Chromium resolves no host name but the app's, so nothing leaves the machine either way.

The test can fail: ``TRICOMA_MAIL_UNSAFE_RENDERING_FOR_TESTS`` (test-only, see config.py) makes the
reading view put the raw HTML into the app's page without sanitizer, frame or CSP; the second test
switches it on and requires that corpus payloads run and that each detection channel catches its
own canary. Reports of both runs go to ``test-artifacts/xss-browser-<mode>.json``.

The hostile-HTML acceptance (a mail of several MB, one of 50,000 nested divs: truncated with a
notice, the page's load event within a few seconds, the page still responsive) is the third test.
"""
from __future__ import annotations

import contextlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import select

from app_fixtures import PASSWORD, _fresh_account
from hostapp.extensions import db
from test_html_sanitizer import XSS_FIXTURES, dompurify_payloads
from tricoma_mail_plugin.cache import bodies
from tricoma_mail_plugin.cache import refresh
from tricoma_mail_plugin.mailboxes.service import backend_for
from tricoma_mail_plugin.mime.parse import parse_message
from tricoma_mail_plugin.models import CachedFolder, CachedMessage, Mailbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run",
                 # no other host, also for requests Playwright cannot route (a srcdoc frame's)
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"]
SETTLE_MS = 120  # after the load event: for timers, focus and error events of late images
APPEND_CHUNK = 100
BEACON = "xss-beacon"
SENTINEL = """
(() => {
  const report = (kind, detail) => {
    try { (window.__xss = window.__xss || []).push(kind + ":" + detail); } catch (e) {}
    try { window.__xssReport(kind, String(detail), String(location.href)); } catch (e) {}
  };
  window.__xss = [];
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const trap = function (...args) {
      report(name, args.map(String).join(","));
      return name === "confirm" ? false : null;
    };
    try { Object.defineProperty(window, name, {value: trap, writable: true, configurable: true}); }
    catch (e) { window[name] = trap; }
  }
})();
"""
# In the top page, in one round trip: did the title or the DOM change against the HTML the server
# sent; what the sentinel caught; the body frame's sandbox and whether it carries ``srcdoc``.
TOP_PAGE = """
(html) => {
  const sent = new DOMParser().parseFromString(html, "text/html");
  const changes = [];
  if (sent.title !== document.title) changes.push("title: " + JSON.stringify(document.title));
  if (sent.documentElement.outerHTML !== document.documentElement.outerHTML) changes.push("dom");
  const frames = document.querySelectorAll("iframe.mail-body");
  const frame = frames.length === 1 ? frames[0] : null;
  return {changes, xss: Array.isArray(window.__xss) ? window.__xss.slice() : [], bodyFrames: frames.length,
          sandbox: frame ? frame.getAttribute("sandbox") : null, srcdoc: frame ? frame.hasAttribute("srcdoc") : false};
}
"""
# Own payloads, one per detection channel: in the unsafe run each must be caught by its channel.
CANARIES = {
    "canary-alert": '<p>a</p><script>alert("canary")</script>',
    "canary-beacon": '<img src="data:," onerror="fetch(\'{base}/xss-beacon-canary\')">',
    "canary-title": '<img src="data:," onerror="document.title=\'pwned\'">',
    "canary-dom": '<img src="data:," onerror="document.body.appendChild(document.createElement(\'i\'))">',
}
_CALL = re.compile(r"\b(alert|confirm|prompt|print)\b(?=\s*[(`])")


def beacon_variant(payload: str, base: str, tag: str) -> str | None:
    """``payload`` with each ``alert(…)``-like call also fetching ``<base>/xss-beacon-<tag>``;
    quote-free (a regex literal's source), so it fits any attribute or script context the call
    was in. ``None`` when the payload calls none of them."""
    host = base.replace("/", r"\/")
    replaced, count = _CALL.subn(lambda m: f"(fetch(/{host}\\/{BEACON}-{tag}/.source),{m.group(1)})", payload)
    return replaced if count else None


def html_mail(subject: str, html: str, when: datetime) -> bytes:
    message = EmailMessage()
    message["From"] = "Angreifer <attacker@example.test>"
    message["To"] = "owner@example.test"
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.test")
    message["Date"] = format_datetime(when)
    message.set_content(html, subtype="html")
    return message.as_bytes()


# -- the app on a real port, the mail on the stack ------------------------------------------------


@dataclass
class Served:
    app: object
    base: str
    mailbox_id: int
    beacon_log: Path  # the served app writes here the path of each request that reached its beacon hook
    pks: dict = field(default_factory=dict)  # subject -> message pk

    @property
    def beacons(self) -> list[str]:
        """The paths of the requests that reached the app's beacon hook, in order."""
        return self.beacon_log.read_text(encoding="utf-8").splitlines() if self.beacon_log.exists() else []


@pytest.fixture
def app(make_app, mailstack):
    """The app as a browser meets it (CSRF on), with no background work of its own."""
    return make_app(WTF_CSRF_ENABLED=True, TRICOMA_MAIL_CA_FILE=str(mailstack.cert),
                    TRICOMA_MAIL_SYNC_INTERVAL=0, TRICOMA_MAIL_OUTBOX_POLL_SECONDS=0)


@pytest.fixture
def serve(app, live_server, make_mailbox, mailstack, imap_client, tmp_path):
    """``serve(messages_for(base) -> {subject: raw}, **config)``, once per test: the app (CSRF on,
    ``config`` on top) served on a random port by pytest-flask's live server, with a beacon
    counter, and a fresh account whose INBOX holds the messages (read already, bodies cached),
    synced. The server is a forked process, so the beacons it counts go to a file."""

    def start(messages_for, **config) -> Served:
        app.config.update(config)
        beacon_log = tmp_path / "beacons.txt"

        @app.before_request
        def _count_beacons():
            if BEACON in request.path:
                with beacon_log.open("a", encoding="utf-8") as log:
                    log.write(request.full_path + "\n")
                return "", 204
            return None

        base = live_server.url()

        email, password = _fresh_account(mailstack, 1)
        mailbox_id = make_mailbox(1, email, password, title="XSS")
        messages = messages_for(base)
        start_date = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
        items = [{"msg": raw, "flags": [b"\\Seen"], "date": start_date + timedelta(minutes=n)}
                 for n, raw in enumerate(messages.values())]
        imap = imap_client(1, email, password)
        for offset in range(0, len(items), APPEND_CHUNK):
            imap.multiappend("INBOX", items[offset:offset + APPEND_CHUNK])
        with app.app_context():
            mailbox = db.session.get(Mailbox, mailbox_id)
            refresh.run_sync(mailbox)
            pks = dict(db.session.execute(
                select(CachedMessage.subject, CachedMessage.id).join(CachedFolder)
                .where(CachedFolder.mailbox_id == mailbox_id)).all())
            assert set(pks) == set(messages), "every message must be synced"
            with backend_for(mailbox) as backend:  # bodies cached: the browser pass needs no IMAP
                for pk in pks.values():
                    bodies.raw_message(mailbox, pk, backend)
        live_server.start()
        return Served(app, base, mailbox_id, beacon_log, pks)

    return start


@dataclass
class Probe:
    """What the browser saw for the message being looked at."""

    label: str = ""
    hits: list = field(default_factory=list)  # evidence that script ran (or the top page changed)
    notes: list = field(default_factory=list)  # script attempts blocked (not a run)
    body_status: list = field(default_factory=list)


@pytest.fixture
def browser():
    """A logged-in Playwright context factory on Debian's Chromium with the sentinel everywhere.

    Playwright starts at the first call, after ``serve`` started the app's server: that server is
    a forked process, and one forked later would hold Playwright's pipes open, so Playwright would
    wait for it forever when it closes."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is missing at {CHROMIUM}")
    with contextlib.ExitStack() as running:
        launched = []

        def open_page(base: str):
            if not launched:
                playwright = running.enter_context(playwright_api.sync_playwright())
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                launched.append(running.enter_context(contextlib.closing(chromium)))
            return _logged_in_page(launched[0], base)

        yield open_page


def _logged_in_page(chromium, base: str):
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    probe = Probe()
    context.expose_binding("__xssReport", lambda source, kind, detail, where:
                           probe.hits.append(f"{kind}({detail}) in {where}"))
    context.add_init_script(SENTINEL)
    # nothing leaves the machine: requests to any other host fail at once (after "request" fired)
    context.route(lambda url: not url.startswith(base + "/"), lambda route: route.abort())
    context.on("request", lambda req: probe.hits.append(f"request {req.url}") if BEACON in req.url else None)
    context.on("page", lambda new: probe.hits.append(f"popup {new.url}"))
    page = context.new_page()

    def on_dialog(dialog):
        probe.hits.append(f"dialog {dialog.type}({dialog.message})")
        dialog.dismiss()

    def on_console(message):
        text = message.text
        if "Ignored call to" in text:  # a sandboxed frame without allow-modals ran script
            probe.hits.append(f"console: {text}")
        elif "Blocked script execution" in text or "Refused to execute" in text:
            probe.notes.append(text[:200])

    def on_response(response):
        if re.search(r"/messages/\d+/body(\?|$)", response.url):
            probe.body_status.append(response.status)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("response", on_response)
    page.goto(base + "/login")
    page.fill("#username", "owner")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
    probe.hits.clear()
    return page, probe


def open_message(page, probe: Probe, served: Served, subject: str, *, body_frame: str | None) -> dict:
    """Open one message's reading view, let it settle, and collect every sign of script.
    ``body_frame``: how the body must have come, ``"srcdoc"`` or ``"src"`` (``None``: the unsafe
    test path, no frame)."""
    probe.label, probe.hits[:], probe.notes[:], probe.body_status[:] = subject, [], [], []
    url = f"{served.base}/mail/m/{served.mailbox_id}/messages/{served.pks[subject]}"
    beacons_before = len(served.beacons)
    response = page.goto(url, wait_until="load", timeout=20_000)
    assert response.status == 200, (subject, response.status)
    page.wait_for_timeout(SETTLE_MS)
    hits = list(probe.hits)
    top = None
    if page.url != url:
        hits.append(f"top page navigated to {page.url}")
    else:
        try:
            top = page.evaluate(TOP_PAGE, response.text())
        except Exception as error:  # noqa: BLE001 - a navigation destroyed the context
            hits.append(f"top page unreadable: {str(error)[:120]}")
        else:
            hits += [f"top page changed: {change}" for change in top["changes"]]
            hits += [f"__xss in {page.url}: {entry}" for entry in top["xss"]]
    for frame in page.frames:
        if frame == page.main_frame or frame.is_detached() or \
                not frame.url.startswith((served.base + "/", "about:", "data:", "blob:")):
            continue  # error pages and view-source: frames run no page script (and may never answer)
        try:
            found = frame.evaluate("() => Array.isArray(window.__xss) ? window.__xss.slice() : []")
        except Exception:  # noqa: BLE001 - a frame that went away or allows no evaluation
            continue
        hits += [f"__xss in {frame.url or 'about:blank'}: {entry}" for entry in found]
    hits += [f"beacon reached the app: {path}" for path in served.beacons[beacons_before:]]
    result = {"subject": subject, "hits": sorted(set(hits)), "blocked": list(probe.notes)}
    if body_frame:
        assert top is not None and top["bodyFrames"] == 1, (subject, hits)
        tokens = set((top["sandbox"] or "").split())
        assert top["sandbox"] is not None and not tokens & {"allow-scripts", "allow-same-origin"}, (subject, top)
        # the page's one iframe.mail-body is its main frame's one child frame
        frames = page.main_frame.child_frames
        assert len(frames) == 1, (subject, hits, [each.url for each in frames])
        frame = frames[0]
        if body_frame == "srcdoc":
            assert top["srcdoc"] and frame.url == "about:srcdoc", (subject, frame.url)
            assert not probe.body_status, f"{subject}: the body was asked for ({probe.body_status})"
        else:
            assert not top["srcdoc"], subject
            assert 200 in probe.body_status, f"{subject}: the body frame was not delivered ({probe.body_status})"
            assert re.search(r"/messages/\d+/body$", frame.url), (subject, frame.url)
        assert frame.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1, subject
    return result


# -- the corpus -----------------------------------------------------------------------------------


def corpus() -> list[str]:
    if not XSS_FIXTURES.is_file():
        pytest.fail(f"the XSS corpus {XSS_FIXTURES} is missing")
    payloads = dompurify_payloads()
    assert len(payloads) > 200
    return payloads


def corpus_messages(base: str) -> tuple[dict[str, bytes], dict[str, str]]:
    """{subject: raw mail} and {subject: the HTML it carries}: each payload as it is, each
    alert-calling payload once more as its beacon variant, and the canaries."""
    html: dict[str, str] = {}
    for index, payload in enumerate(corpus()):
        html[f"XSS {index:03d}"] = payload
        variant = beacon_variant(payload, base, f"{index:03d}")
        if variant is not None:
            html[f"XSS {index:03d} beacon"] = variant
    for name, markup in CANARIES.items():
        html[f"XSS {name}"] = markup.replace("{base}", base)
    start = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
    raw = {subject: html_mail(subject, markup, start) for subject, markup in html.items()}
    return raw, html


def _lines(markup: str) -> str:
    return markup.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def run_corpus(serve, browser, unsafe: bool, body_frame: str = "srcdoc",
               every: int = 1) -> tuple[list[dict], dict[str, str]]:
    """Every corpus message opened (with ``every`` > 1: every so many payloads, with their beacon
    variants, and all canaries); ``body_frame`` ``"src"`` sets the inline limit to 0, so every
    body comes from the body route (the way of a body above the limit)."""
    built: dict = {}

    def messages_for(base):
        raw, html = corpus_messages(base)
        chosen = [subject for subject in html
                  if not re.fullmatch(r"XSS \d{3}( beacon)?", subject) or int(subject[4:7]) % every == 0]
        built["raw"] = {subject: raw[subject] for subject in chosen}
        built["html"] = {subject: html[subject] for subject in chosen}
        return built["raw"]

    limit = {"srcdoc": 256 * 1024, "src": 0}[body_frame]
    served = serve(messages_for, TRICOMA_MAIL_UNSAFE_RENDERING_FOR_TESTS=unsafe,
                   TRICOMA_MAIL_INLINE_BODY_MAX_BYTES=limit)
    # what reaches the sanitizer is the payload itself (up to line ends, which mail transport and
    # the HTML parser both fold to LF), not a mangled copy
    for subject, raw in built["raw"].items():
        assert _lines(parse_message(raw).html or "") == _lines(built["html"][subject]), subject
    page, probe = browser(served.base)
    started = time.monotonic()
    results = [open_message(page, probe, served, subject, body_frame=None if unsafe else body_frame)
               for subject in built["html"]]
    seconds = time.monotonic() - started
    ran = [r for r in results if r["hits"]]
    ARTIFACTS.mkdir(exist_ok=True)
    mode = "unsafe" if unsafe else f"default-{body_frame}"
    (ARTIFACTS / f"xss-browser-{mode}.json").write_text(json.dumps({
        "messages": len(results), "ran": len(ran), "seconds": round(seconds, 1),
        "results": [dict(r, html=built["html"][r["subject"]][:400]) for r in results if r["hits"] or r["blocked"]],
    }, indent=1, ensure_ascii=False))
    print(f"\n{mode} rendering: {len(results)} messages opened in {seconds:.1f} s, "
          f"{len(ran)} ran script")
    return results, built["html"]


@pytest.mark.timeout(900)
@pytest.mark.long_browser  # the whole corpus, minutes: ./dev test runs it in the part that ends first
@pytest.mark.parametrize("body_frame, every", [("srcdoc", 1), ("src", 8)])
def test_no_dompurify_payload_runs_script_in_the_reading_view(serve, browser, body_frame, every):
    results, html = run_corpus(serve, browser, unsafe=False, body_frame=body_frame, every=every)
    originals = [subject for subject in html if re.fullmatch(r"XSS \d{3}", subject)]
    assert len(results) == len(html) and len(originals) == len(range(0, len(corpus()), every))
    ran = {r["subject"]: r["hits"] for r in results if r["hits"]}
    assert not ran, json.dumps(ran, indent=1, ensure_ascii=False)[:5000]
    # the sanitizer already removed everything: not even the sandbox had to block an attempt
    blocked = {r["subject"]: r["blocked"] for r in results if r["blocked"]}
    assert not blocked, blocked


@pytest.mark.timeout(900)
def test_the_detector_sees_script_when_the_unsafe_test_path_renders_raw_html(serve, browser):
    """The failure mode of the test above, proven: with the raw HTML in the app's page, corpus
    payloads run, and each detection channel catches its own canary. Every second payload (with
    its beacon variant) and all canaries: a proof of the detector needs no full pass (about a
    seventh of the payloads run script; the full corpus is the test above's)."""
    results, _html = run_corpus(serve, browser, unsafe=True, every=2)
    by_subject = {r["subject"]: r["hits"] for r in results}
    assert any(h.startswith(("alert(", "__xss")) for h in by_subject["XSS canary-alert"]), by_subject["XSS canary-alert"]
    assert any(h.startswith("beacon reached the app") for h in by_subject["XSS canary-beacon"])
    assert any(h.startswith("request ") for h in by_subject["XSS canary-beacon"])
    assert "top page changed: title: \"pwned\"" in by_subject["XSS canary-title"], by_subject["XSS canary-title"]
    assert "top page changed: dom" in by_subject["XSS canary-dom"], by_subject["XSS canary-dom"]
    corpus_runs = {s: h for s, h in by_subject.items() if h and "canary" not in s}
    # script beyond doubt: a trapped call, a dialog, or the beacon URL itself fetched (a URL that
    # merely contains "xss-beacon", e.g. an image's, counts as a sign above but not here)
    script_runs = {s for s, h in corpus_runs.items()
                   if any(x.startswith(("alert(", "confirm(", "prompt(", "print(", "__xss", "dialog ", "console: ",
                                        f"beacon reached the app: /{BEACON}-")) for x in h)}
    beacon_runs = {s for s in script_runs if s.endswith(" beacon")
                   and any(x.startswith(f"beacon reached the app: /{BEACON}-") for x in corpus_runs[s])}
    print(f"unsafe rendering: {len(corpus_runs)} corpus messages showed a sign, {len(script_runs)} ran script, "
          f"{len(beacon_runs)} beacon variants reached the app")
    assert len(script_runs) >= 10, corpus_runs
    assert beacon_runs, "no beacon variant reached the app"


# -- hostile HTML ---------------------------------------------------------------------------------


def test_huge_and_deeply_nested_html_renders_cut_with_a_notice_and_stays_responsive(serve, browser):
    hostile = {
        "Riesig": "<html><body>" + "<p>Zahnrad <b>Messing</b> <i>42</i> mm</p>\n" * 110_000 + "</body></html>",
        "Tief": "<div>" * 50_000 + "tief unten" + "</div>" * 50_000,
    }
    assert len(hostile["Riesig"]) > 4_000_000
    start = datetime(2026, 1, 1, 8, 0, tzinfo=timezone.utc)
    served = serve(lambda base: {subject: html_mail(subject, markup, start) for subject, markup in hostile.items()})
    page, probe = browser(served.base)
    # the cut huge body is still above the inline limit: its frame asks the body route
    for subject, shown, frame_url in (("Riesig", "Zahnrad", "/body"), ("Tief", "tief unten", "about:srcdoc")):
        url = f"{served.base}/mail/m/{served.mailbox_id}/messages/{served.pks[subject]}"
        started = time.monotonic()
        page.goto(url, wait_until="load", timeout=30_000)
        load_seconds = time.monotonic() - started
        # What proves the cut is the frame's content below (paragraphs, depth); the time only
        # guards against a page that hangs: uncut, "Riesig" takes several times as long (2.7 s
        # cut on a quiet machine, 7 s seen on one loaded four ways).
        assert load_seconds < 15, f"{subject}: load event after {load_seconds:.1f} s"
        notice = page.locator("p.warning")
        assert "Only part of it is shown" in notice.inner_text()
        frame = page.frame_locator("iframe.mail-body")
        assert shown in frame.locator("body").inner_text(timeout=5_000)
        started = time.monotonic()
        assert page.evaluate("() => document.querySelectorAll('*').length") > 10  # the page answers
        page.locator("a.button", has_text="View source").hover(timeout=2_000)
        answer_seconds = time.monotonic() - started
        assert answer_seconds < 1, f"{subject}: the page answered after {answer_seconds:.1f} s"
        body_frame = page.locator("iframe.mail-body").element_handle().content_frame()
        assert body_frame.url.endswith(frame_url), (subject, body_frame.url)
        depth = body_frame.evaluate(
            "() => { let d = 0, n = document.body; while (n && n.firstElementChild) { n = n.firstElementChild; d++; } return d; }")
        paragraphs = body_frame.evaluate("() => document.querySelectorAll('p').length")
        print(f"{subject}: load {load_seconds:.2f} s, answered in {answer_seconds * 1000:.0f} ms, "
              f"frame depth {depth}, {paragraphs} paragraphs, body frame at {frame_url}")
        assert depth <= 300
        # the body is cut at 1,000,000 characters: about 27,000 of the 110,000 paragraphs
        assert paragraphs < 30_000 if subject == "Riesig" else paragraphs == 0, paragraphs
        assert not probe.hits
