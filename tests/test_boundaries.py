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


# -- core's own layout ------------------------------------------------------------------------
# Core is a set of packages by concern (mime/, mailboxes/, rights/, cache/, mail/, sending/,
# records/, jobs/, cli/, plugins/, web/) and a few top-level modules. The rules below keep it so.

CORE_DIR = ROOT / CORE
FLASK_OR_DATABASE = ("flask", "flask_", "werkzeug", "sqlalchemy", "flask_sqlalchemy", "psycopg")
MAX_TOP_LEVEL_MODULES = 15


def core_modules() -> dict[str, tuple[Path, bool]]:
    """Every module of core (not its migrations): dotted name below core -> (file, is package)."""
    modules = {}
    for path in python_files(CORE_DIR):
        parts = list(path.relative_to(CORE_DIR).with_suffix("").parts)
        if "migrations" in parts:
            continue
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        modules[".".join(parts)] = (path, is_package)
    return modules


def core_imports(dotted: str, path: Path, is_package: bool, modules) -> tuple[set[str], set[str]]:
    """(core modules, outside modules) that one module imports, anywhere in the file."""
    here = dotted.split(".") if dotted else []
    inside, outside = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(CORE + "."):
                    inside.add(alias.name[len(CORE) + 1:])
                else:
                    outside.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith(CORE + "."):
                target = node.module[len(CORE) + 1:]
            elif node.module == CORE:
                target = ""
            else:
                outside.add(node.module or "")
                continue
            for alias in node.names:  # "from . import x" may name a module
                submodule = f"{target}.{alias.name}" if target else alias.name
                inside.add(submodule if submodule in modules else target)
    inside.discard("")
    return inside, outside


def import_graph():
    modules = core_modules()
    return modules, {name: core_imports(name, path, is_package, modules)
                     for name, (path, is_package) in modules.items()}


def test_core_has_few_top_level_modules():
    top_level = [path.name for path in CORE_DIR.glob("*.py")]
    assert len(top_level) <= MAX_TOP_LEVEL_MODULES, top_level


def test_mime_imports_neither_flask_nor_the_database():
    modules, graph = import_graph()
    # sender_check/ is pure logic of the same kind: it checks mail in any script too.
    seen, todo, offenders = set(), [m for m in modules if m.startswith(("mime", "sender_check"))], []
    while todo:  # everything mime/ reaches inside core counts, not just its own files
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        inside, outside = graph[name]
        offenders += [f"{name} imports {module}" for module in outside
                      if module.split(".")[0].startswith(FLASK_OR_DATABASE)]
        offenders += [f"{name} imports core's {module}" for module in inside if module in ("models", "_state")]
        todo.extend(inside)
    assert not offenders, offenders
    assert "errors" in seen  # the walk really followed mime's imports into core


def test_nothing_outside_web_imports_web():
    _, graph = import_graph()
    offenders = [f"{name} imports {module}" for name, (inside, _) in graph.items()
                 if not (name == "web" or name.startswith("web.")) and name != ""
                 for module in inside if module == "web" or module.startswith("web.")]
    assert not offenders, offenders


def test_no_import_inside_a_function():
    offenders = []
    for name, (path, _) in core_modules().items():
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(function):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} in {function.name}")
    assert not offenders, offenders


def package_graph(graph) -> dict[str, set[str]]:
    """Core's top-level packages and modules, and which of them each one imports. The root
    ``__init__`` (the plugin API, which re-exports everything) is left out."""
    packages: dict[str, set[str]] = {}
    for name, (inside, _) in graph.items():
        if not name:
            continue
        source = name.split(".")[0]
        packages.setdefault(source, set())
        packages[source] |= {module.split(".")[0] for module in inside} - {source, ""}
    return packages


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts with more than one member (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in list(edges):
        if node not in index:
            visit(node)
    return found


def test_no_package_cycle():
    _, graph = import_graph()
    assert cycles(package_graph(graph)) == []


def test_the_layout_checks_catch_violations():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
