"""Root conftest: makes the shared fixtures (tests/app_fixtures.py, tests/mailstack_fixture.py)
and the test plugins (tests/plugins/) available to tests/ and to every plugins/*/tests/."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "plugins")]

pytest_plugins = ["app_fixtures", "mailstack_fixture", "record_fixtures", "hostingstack_fixture", "oauth_fixture"]


# `./dev test` runs the suite in three parts side by side (see `cmd_test` in ./dev); the part is
# chosen here rather than with -m so that a -m of the caller's still applies within each part.
TEST_PARTS = {
    # everything but the browser tests, on the default database (SQLite)
    "main": lambda markers: "browser" not in markers,
    # the repeat on PostgreSQL: pure-logic and browser tests are not repeated
    "postgres": lambda markers: "browser" not in markers and "db_independent" not in markers,
    # the browser tests, on SQLite
    "browser": lambda markers: "browser" in markers,
}


def pytest_collection_modifyitems(config, items):
    part = os.environ.get("TRICOMA_TEST_PART")
    if not part:
        return
    if part not in TEST_PARTS:
        raise ValueError(f"TRICOMA_TEST_PART={part!r}: expected one of {', '.join(TEST_PARTS)}")
    wanted = TEST_PARTS[part]
    keep, drop = [], []
    for item in items:
        (keep if wanted({mark.name for mark in item.iter_markers()}) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
