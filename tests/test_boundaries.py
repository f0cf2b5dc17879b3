"""Import boundaries: core imports neither the host nor a plugin; the host and the plugins use
only core's root API; plugins never import each other."""
import ast
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

ROOT = Path(__file__).resolve().parent.parent
CORE = "tricoma_mail_plugin"


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def python_files(folder: Path, skip_tests: bool = False):
    for dirpath, dirnames, filenames in os.walk(folder):
        skipped = {"__pycache__", "build"} | ({"tests"} if skip_tests else set())
        dirnames[:] = [d for d in dirnames if d not in skipped and not d.endswith(".egg-info")]
        for filename in filenames:
            if filename.endswith(".py"):
                yield Path(dirpath) / filename


def plugin_packages() -> dict[str, Path]:
    """Every plugin package under plugins/ and docs/examples/: name -> folder."""
    packages = {}
    for base in (ROOT / "plugins", ROOT / "docs" / "examples"):
        for init in base.glob("*/tricoma_mail_*/__init__.py"):
            packages[init.parent.name] = init.parent
    return packages


def test_core_imports_neither_host_nor_plugins():
    offenders = []
    for path in python_files(ROOT / CORE):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "hostapp" or (top.startswith("tricoma_mail_") and top != CORE):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not offenders, offenders


def test_host_uses_only_the_root_api():
    offenders = []
    for path in python_files(ROOT / "hostapp"):
        for module in imported_modules(path):
            if module.startswith(CORE + "."):
                offenders.append(f"{path.relative_to(ROOT)} imports {module}")
            elif module.split(".")[0].startswith("tricoma_mail_") and module.split(".")[0] != CORE:
                offenders.append(f"{path.relative_to(ROOT)} imports the plugin {module}")
    assert not offenders, offenders


def test_plugins_import_only_the_root_api_and_never_each_other():
    packages = plugin_packages()
    offenders = []
    for own, folder in packages.items():
        # A plugin's own tests may look into the host and core's tables; its code may not.
        for path in python_files(folder.parent, skip_tests=True):
            for module in imported_modules(path):
                top = module.split(".")[0]
                if module.startswith(CORE + "."):
                    offenders.append(f"{path.relative_to(ROOT)} imports {module}")
                elif top == "hostapp":
                    offenders.append(f"{path.relative_to(ROOT)} imports the host")
                elif top.startswith("tricoma_mail_") and top not in (CORE, own):
                    offenders.append(f"{path.relative_to(ROOT)} imports the plugin {top}")
    assert not offenders, offenders


def test_the_boundary_check_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from tricoma_mail_plugin.plugins.manager import HookCaller\nimport hostapp\n")
    assert imported_modules(bad) == ["tricoma_mail_plugin.plugins.manager", "hostapp"]
