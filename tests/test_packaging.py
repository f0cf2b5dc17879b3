"""Packaging: the core distribution holds the extension only, each distribution requires what its
code imports and nothing else, and the core installed alone into an empty virtual environment
imports and passes its pure unit tests."""
from __future__ import annotations

import ast
import configparser
import os
import re
import subprocess
import sys
import textwrap
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_FOLDERS = {"tests", "build", "__pycache__", "instance"}
# Core's unit tests that need neither the host nor a database: they run against a core installed
# alone.
PURE_CORE_TESTS = ("tests/test_message_parser.py", "tests/test_html_sanitizer.py", "tests/test_sender_check.py")


def distribution_folders() -> list[Path]:
    """Every folder with a setup.cfg: the core (the root), the host, the plugins, the examples."""
    folders = [ROOT, ROOT / "hostapp"]
    folders += sorted(path.parent for path in ROOT.glob("plugins/*/setup.cfg"))
    folders += sorted(path.parent for path in ROOT.glob("docs/examples/*/setup.cfg"))
    return folders


def read_setup_cfg(folder: Path) -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(folder / "setup.cfg", encoding="utf-8")
    return config


def requirement_names(value: str) -> set[str]:
    names = set()
    for line in value.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(normalize(re.match(r"[A-Za-z0-9._-]+", line).group(0)))
    return names


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_sources(folder: Path, config: configparser.ConfigParser) -> dict[str, Path]:
    """The top-level packages a distribution ships, and the folder each is read from."""
    options = config["options"]
    if options.get("packages", "").strip().startswith("find"):
        names = config["options.packages.find"]["include"].split()
    else:
        names = options["packages"].split()
    mapping = dict(line.split("=") for line in options.get("package_dir", "").split("\n") if "=" in line)
    mapping = {key.strip(): value.strip() for key, value in mapping.items()}
    tops = {name.split(".")[0] for name in names}
    return {name: (folder / mapping.get(name, name)).resolve() for name in tops}


def imported_top_levels(source: Path) -> set[str]:
    """The top-level modules imported (absolutely) anywhere in the package's code."""
    names = set()
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED_FOLDERS and not d.endswith(".egg-info")]
        for filename in filenames:
            if not filename.endswith(".py"):
                continue
            tree = ast.parse(Path(dirpath, filename).read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__"}


@cache
def module_owners() -> dict[str, set[str]]:
    """Import name -> the installed distributions that provide it."""
    return {module: {normalize(dist) for dist in dists}
            for module, dists in metadata.packages_distributions().items()}


@cache
def requirements_closure(names: frozenset[str]) -> frozenset[str]:
    """``names`` and everything they require in turn (extras they are asked for not followed)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(normalize(re.match(r"[A-Za-z0-9._-]+", req).group(0)) for req in requires
                    if "extra ==" not in req)
    return frozenset(seen)


def imports_and_requirements(folder: Path) -> tuple[set[str], set[str], set[str], dict[str, Path]]:
    config = read_setup_cfg(folder)
    own = package_sources(folder, config)
    imported = set()
    for source in own.values():
        imported |= imported_top_levels(source)
    imported -= set(own)
    requires = requirement_names(config["options"].get("install_requires", ""))
    extras = set()
    if config.has_section("options.extras_require"):
        for value in config["options.extras_require"].values():
            extras |= requirement_names(value)
    return imported, requires, extras, own


@pytest.mark.parametrize("folder", distribution_folders(), ids=lambda path: str(path.relative_to(ROOT)) or ".")
def test_each_distribution_requires_what_it_imports_and_nothing_else(folder):
    imported, requires, extras, _own = imports_and_requirements(folder)
    setup_cfg = (folder / "setup.cfg").relative_to(ROOT)
    needed = {module: module_owners().get(module) for module in imported}
    unknown = sorted(module for module, owners in needed.items() if not owners)
    assert not unknown, f"the code of {setup_cfg} imports modules no installed distribution provides: {unknown}"
    reachable = requirements_closure(frozenset(requires | extras))
    missing = sorted(module for module, owners in needed.items() if not owners & reachable)
    assert not missing, f"{setup_cfg} does not require what provides {missing}"
    imported_dists = set().union(*needed.values()) if needed else set()
    unused = sorted(requires - imported_dists)
    assert not unused, f"{setup_cfg} requires {unused}, which its code never imports"


def test_the_core_ships_the_extension_only():
    imported, requires, extras, own = imports_and_requirements(ROOT)
    assert set(own) == {"tricoma_mail_plugin"}
    assert not {"hostapp", "imapclient", "psycopg"} & (imported | requires)
    assert "flask-mail" not in requires and "flask-mail" in extras  # an optional bridge
    host = read_setup_cfg(ROOT / "hostapp")
    assert "flask-mail" in requirement_names(host["options"]["install_requires"])
    assert requirement_names(host["options.extras_require"]["postgres"]) == {"psycopg"}
    v1 = read_setup_cfg(ROOT / "plugins" / "v1_imap")
    assert "imapclient" in requirement_names(v1["options"]["install_requires"])


def test_bootstrap_installs_and_watches_every_distribution():
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert "hostapp/setup.cfg" in bootstrap and "plugins/*/setup.cfg" in bootstrap
    assert '"./hostapp[postgres,server]"' in bootstrap and '".[test,dev,flask-mail]"' in bootstrap


@pytest.mark.slow
def test_the_core_alone_installs_into_an_empty_venv_and_passes_its_pure_tests(tmp_path):
    venv = tmp_path / "venv"
    # Without a pip of its own (ensurepip's install of pip takes seconds): the project's pip
    # installs into it with --python, running under the venv's interpreter, so the venv ends up
    # with the core and what it requires, nothing else (not even pip).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The core with its extra for tests (pytest and what its pytest plugin builds on); no host,
    # no plugin, no database driver.
    install = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install", "-q", f"{ROOT}[testing]"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr

    probe = subprocess.run([python, "-c", textwrap.dedent("""
        import importlib.util, sys, tricoma_mail_plugin
        print(tricoma_mail_plugin.__file__)
        absent = ["hostapp", "imapclient", "psycopg", "flask_mail", "tricoma_mail_v1_imap",
                  "tricoma_mail_invoices"]
        print(",".join(name for name in absent if importlib.util.find_spec(name) is not None))
        """)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    location, present = probe.stdout.splitlines()
    assert location.startswith(str(venv)), location  # the installed copy, not the checkout
    assert present == "", f"installed without being asked for: {present}"

    # Only pytest's own settings, not the project's conftest (which builds the host app). The
    # default import mode puts tests/ on the path, for the helpers the tests share (corpora.py).
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    db_independent: pure logic\n    slow: slow\n", encoding="utf-8")
    tests = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"),
         "--rootdir", str(tmp_path), "--confcutdir", str(ROOT / "tests"), "--import-mode=prepend",
         *(str(ROOT / path) for path in PURE_CORE_TESTS)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert re.search(r"\b\d{2,} passed\b", tests.stdout), tests.stdout[-2000:]
