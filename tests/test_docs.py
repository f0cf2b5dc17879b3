"""The docs keep up with the code: every hook is documented with its exact signature and has a
test, and the example plugin shown in ``docs/writing_plugins.md`` is the one in
``docs/examples/hello``."""
from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from tricoma_mail_plugin import hookspecs

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TESTS = ROOT / "tests"
EXAMPLE = DOCS / "examples" / "hello"
PREFIX = hookspecs.PROJECT_NAME + "_"


def hook_signatures() -> dict[str, str]:
    """Every hookspec, by name without the prefix, as ``name(args)``."""
    specs = {}
    for name, function in vars(hookspecs).items():
        if callable(function) and hasattr(function, hookspecs.PROJECT_NAME + "_spec"):
            short = name.removeprefix(PREFIX)
            specs[short] = f"{short}{inspect.signature(function)}"
    return specs


HOOKS = hook_signatures()


def documented_hooks() -> dict[str, str]:
    """The ``## name(args)`` headings of docs/plugin_hooks.md, by name."""
    text = (DOCS / "plugin_hooks.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (\w+\(.*\))\s*$", text, re.M)
    return {heading.split("(")[0]: heading for heading in headings}


def test_hookspecs_are_found():
    assert "resolve_folder" in HOOKS and len(HOOKS) >= 10, HOOKS


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_plugin_hooks_are_documented(hook):
    documented = documented_hooks()
    assert hook in documented, f"docs/plugin_hooks.md has no heading '## {HOOKS[hook]}'"
    assert documented[hook] == HOOKS[hook], (
        f"docs/plugin_hooks.md documents '{documented[hook]}', the hookspec is '{HOOKS[hook]}'"
    )


def test_plugin_hooks_docs_document_only_existing_hooks():
    unknown = sorted(set(documented_hooks()) - set(HOOKS))
    assert not unknown, f"docs/plugin_hooks.md documents hooks that do not exist: {unknown}"


def names_of_tests() -> set[str]:
    """The names of every test function under tests/ (methods of test classes included)."""
    names = set()
    for path in sorted(TESTS.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("test_"):
                    names.add(node.name)
    return names


def test_plugin_hooks_have_tests():
    tests = names_of_tests()
    missing = sorted(f"test_hook_{hook}" for hook in HOOKS if f"test_hook_{hook}" not in tests)
    assert not missing, f"hooks without a test under tests/: {', '.join(missing)}"


# A file shown in docs/writing_plugins.md: a line "`docs/examples/hello/<path>`:", a blank line,
# then a fenced code block holding the file's text.
SHOWN_FILE = re.compile(r"^`(docs/examples/hello/[^`]+)`:\n\n```[\w+-]*\n(.*?)\n```$", re.M | re.S)


def shown_files() -> dict[str, str]:
    text = (DOCS / "writing_plugins.md").read_text(encoding="utf-8")
    return {path: code for path, code in SHOWN_FILE.findall(text)}


def example_files() -> list[str]:
    skipped = {"__pycache__", "build"}
    return sorted(
        path.relative_to(ROOT).as_posix()
        for path in EXAMPLE.rglob("*")
        if path.is_file()
        and not skipped & set(path.parts)
        and not any(part.endswith(".egg-info") for part in path.parts)
    )


def test_writing_plugins_shows_every_file_of_the_example():
    shown = shown_files()
    assert set(example_files()) <= set(shown), (
        f"docs/writing_plugins.md does not show {sorted(set(example_files()) - set(shown))}"
    )


@pytest.mark.parametrize("path", sorted(shown_files()))
def test_writing_plugins_shows_the_example_files_as_they_are(path):
    file = ROOT / path
    assert file.is_file(), f"docs/writing_plugins.md shows {path}, which does not exist"
    assert shown_files()[path] == file.read_text(encoding="utf-8").removesuffix("\n"), (
        f"the code shown for {path} in docs/writing_plugins.md differs from the file"
    )


# A link in a page: [text](target); the target's part after "#" is a heading's anchor.
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCED = re.compile(r"^```.*?^```", re.M | re.S)


def anchors_of(path: Path) -> set[str]:
    """The anchors GitHub gives the headings of a page: lower case, punctuation dropped (but
    ``-`` and ``_``), spaces as ``-``."""
    text = FENCED.sub("", path.read_text(encoding="utf-8"))
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", text, re.M)}


def test_links_between_the_docs_lead_somewhere():
    broken = []
    for page in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        for target in LINK.findall(FENCED.sub("", page.read_text(encoding="utf-8"))):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            name, _sep, anchor = target.partition("#")
            linked = (page.parent / name) if name else page
            if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors_of(linked)):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, f"links that lead nowhere: {broken}"


def test_team_mail_is_documented_with_its_hooks_and_what_is_not_built():
    """docs/team_mail.md (issue 15): every part of team mail, the pages it leaves to others, each
    team hook linked to its heading, the keys, and why assignee and status are no IMAP keywords."""
    from tricoma_mail_plugin.events.team_hooks import TEAM_HOOKS

    text = (DOCS / "team_mail.md").read_text(encoding="utf-8")
    for words in ("### Assign and status", "### Views", "unified inbox", "### Who is answering",
                  "### Internal notes", "### Snooze", "### Follow-up reminders", "### On the linked record",
                  "### Tags", "### Audit and export", "audit.csv", "### Hook events",
                  "### Not built: assignee and status as IMAP keywords"):
        assert words in text, words
    for page in ("notes_and_templates.md", "tags.md", "plugin_hooks.md", "rights.md"):
        assert f"]({page}" in text, page
    headings = documented_hooks()
    for hook in TEAM_HOOKS:
        anchor = re.sub(r"[^\w\- ]", "", headings[hook].lower()).replace(" ", "-")
        assert f"(plugin_hooks.md#{anchor})" in text, hook
    for key in ("`y`", "`i`", "`d`", "`s`", "`b`", "`g`", "`n`", "`Alt+T`"):
        assert f"| {key}" in text, key
