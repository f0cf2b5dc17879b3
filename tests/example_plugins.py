"""The documented example plugins (docs/examples/*) as a developer meets them: installed with
pip into a folder of their own, and their own tests run with pytest in their folder."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def install_example(example: Path, base: Path) -> Path:
    """Install ``example`` from a copy (setuptools writes build/ and *.egg-info/ beside the
    sources) into ``base/site-packages``; returns that folder."""
    source = base / "source"
    shutil.copytree(example, source, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    target = base / "site-packages"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--disable-pip-version-check", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def run_example_tests(installed: Path) -> str:
    """pytest in the example's folder with the example installed: tricoma_mail_plugin.testing
    and pytest-flask come in through their entry points, the host through the example's
    conftest.py. Returns pytest's output; fails the calling test when pytest does."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=installed.parent / "source", env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout
