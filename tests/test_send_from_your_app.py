"""``docs/send_from_your_app.md`` keeps its promises: the code it shows is the example plugin in
``docs/examples/contracts``, that plugin is under 50 lines of Python, and, installed with pip as
a distribution, it sends a contract by e-mail through the real local mail stack and passes its
own tests (written with ``tricoma_mail_plugin.testing``)."""
from __future__ import annotations

import ast
import contextlib
import email
import email.policy
import importlib
import io
import re
import sys
import time
import tokenize
from pathlib import Path

import pytest
from example_plugins import install_example, run_example_tests

from app_fixtures import _fresh_account, login
from hostapp.extensions import db
from tricoma_mail_plugin.rights import access
from tricoma_mail_plugin.mailboxes import service
from tricoma_mail_plugin.sending import outbox
from tricoma_mail_plugin.models import Mailbox

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "send_from_your_app.md"
EXAMPLE = ROOT / "docs" / "examples" / "contracts"
PACKAGE = "tricoma_mail_contracts"
LINE_LIMIT = 50


def shown_files() -> dict[str, str]:
    """Each code block of the doc that follows a line naming its file: path -> code."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^`docs/examples/contracts/([^`]+)`:\n\n```[^\n]*\n(.*?)^```$", text, re.M | re.S)
    return dict(blocks)


def example_files() -> dict[str, str]:
    files = {}
    for path in sorted(EXAMPLE.rglob("*")):
        if path.is_file() and not {"__pycache__", "build"} & set(path.parts) \
                and not any(part.endswith(".egg-info") for part in path.parts):
            files[path.relative_to(EXAMPLE).as_posix()] = path.read_text(encoding="utf-8")
    return files


def code_lines(source: str) -> int:
    """Lines of Python that do something: blank lines, comments and docstrings do not count.

    A line counts when it holds a token other than a comment, a line break or indentation, and
    is not part of a docstring (the string that opens a module, class or function body)."""
    docstring_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docstring_lines.update(range(first.lineno, first.end_lineno + 1))
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
               tokenize.ENCODING, tokenize.ENDMARKER}
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstring_lines)


def test_the_doc_shows_every_file_of_the_example_as_it_is():
    shown, files = shown_files(), example_files()
    assert set(shown) == set(files), "the doc and docs/examples/contracts list different files"
    for path, code in files.items():
        assert shown[path] == code, f"the doc's {path} differs from docs/examples/contracts/{path}"


def test_the_plugin_is_under_fifty_lines_of_python():
    counts = {path: code_lines(code) for path, code in example_files().items()
              if path.startswith(PACKAGE + "/") and path.endswith(".py")}
    total = sum(counts.values())
    assert total < LINE_LIMIT, counts
    # the doc says how many lines they are
    assert f"**{total} lines of Python**" in DOC.read_text(encoding="utf-8")


def test_the_line_count_leaves_out_docstrings_comments_and_blank_lines():
    source = ('"""Doc\nstring."""\n\nimport os  # why\n# only a comment\n\n\n'
              'def f():\n    """Doc."""\n    return (1,\n            2)\n')
    assert code_lines(source) == 4  # import, def, and the return over two lines


@contextlib.contextmanager
def importable_from(folder: Path):
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """The example installed with pip into a folder of its own, as a developer would install it."""
    return install_example(EXAMPLE, tmp_path_factory.mktemp("contracts"))


@pytest.mark.slow
@pytest.mark.db_independent  # the example's own suite runs on its own SQLite database
def test_the_examples_own_tests_pass_with_the_testing_plugin(installed_example):
    assert "3 passed" in run_example_tests(installed_example)


@pytest.mark.slow
def test_the_example_sends_a_contract_from_its_page(installed_example, app, make_app, make_mailbox, make_user,
                                                     mailstack, imap_client):
    # the stack: a tested mailbox, a clerk who may send from apps through it, a customer
    address, password = _fresh_account(mailstack, 1)
    mailbox_id = make_mailbox(1, address, password)
    clerk_id = make_user("clerk", language="en").id
    customer, customer_password = _fresh_account(mailstack, 2)
    with app.app_context():
        service.run_test(db.session.get(Mailbox, mailbox_id))
        access.grant(mailbox_id, "user", clerk_id, "send_from_apps")

    with importable_from(installed_example):
        contracts_app = make_app(TRICOMA_MAIL_LOAD_ENTRYPOINTS=True, TRICOMA_MAIL_EXTRA_PLUGINS=(),
                                 TRICOMA_MAIL_UNDO_SEND_SECONDS=0,
                                 TRICOMA_MAIL_CA_FILE=app.config["TRICOMA_MAIL_CA_FILE"])
        plugin = sys.modules[PACKAGE]
        assert Path(plugin.__file__).is_relative_to(installed_example)
        assert "contracts" in contracts_app.extensions["tricoma_mail"].plugins
        plugin.CONTRACTS["7"].email = customer

        client = contracts_app.test_client()
        login(client, "clerk")
        page = client.get("/contracts/7").get_data(as_text=True)
        send_url = re.search(r'<a href="([^"]+)" id="send-by-mail">', page).group(1).replace("&amp;", "&")
        dialog = client.get(send_url).get_data(as_text=True)
        form = dialog[dialog.index('<form method="post" action="/mail/compose/app/"'):]

        def value(name):
            return re.search(rf'name="{name}"[^>]*value="([^"]*)"', form).group(1)

        assert value("to") == customer and value("subject") == "Your contract C-2026-007"
        sent = client.post("/mail/compose/app/", data={
            "reference": value("reference"), "next": value("next"), "key": value("key"), "mailbox": str(mailbox_id),
            "to": value("to"), "subject": value("subject"),
            "text": re.search(r'name="text"[^>]*>(.*?)</textarea>', form, re.S).group(1),
            "attachment": value("attachment")})
        assert sent.status_code == 302 and sent.headers["Location"] == "/contracts/7"
        with contracts_app.app_context():
            assert outbox.run_once() == 1
        assert plugin.CONTRACTS["7"].sent_at is not None  # message_sent marked it
        page = client.get("/contracts/7").get_data(as_text=True)
        assert "sent" in page and "sent: Your contract C-2026-007 (sent)" in page

    inbox = imap_client(2, customer, customer_password)
    deadline = time.monotonic() + 15
    while True:
        inbox.select_folder("INBOX", readonly=True)
        uids = inbox.search(["ALL"])
        if uids or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    (data,) = inbox.fetch(uids, ["BODY.PEEK[]"]).values()
    message = email.message_from_bytes(data[b"BODY[]"], policy=email.policy.default)
    assert message["Subject"] == "Your contract C-2026-007"
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == "C-2026-007.txt"
    assert attachment.get_content() == "Maintenance contract\n"
