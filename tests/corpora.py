"""The shared test corpora (../shared/corpora beside the checkout): public mail and XSS vectors.
Outside CI a missing corpus skips its tests with the reason; under CI (``CI=true``) it is a
failure, so a CI run can never pass without them."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(path: Path) -> Path:
    """``path`` (a corpus file or folder); skips the test when it is missing, or fails it in CI."""
    if not path.exists():
        message = f"the test corpus {path} is missing"
        if in_ci():
            pytest.fail(message + " (CI needs ../shared/corpora)", pytrace=False)
        pytest.skip(message)
    return path


def missing_param(name: str, path: Path):
    """The one parameter a parametrized corpus test gets when its corpus is missing: skipped
    outside CI; in CI the collection fails with the reason."""
    message = f"the test corpus {path} is missing"
    if in_ci():
        pytest.fail(message + " (CI needs ../shared/corpora)", pytrace=False)
    return pytest.param(None, id=f"{name}-missing", marks=pytest.mark.skip(reason=message))
