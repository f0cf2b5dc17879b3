"""Root conftest: makes the shared fixtures (tests/app_fixtures.py, tests/mailstack_fixture.py)
and the test plugins (tests/plugins/) available to tests/ and to every plugins/*/tests/."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "plugins")]

pytest_plugins = ["app_fixtures", "mailstack_fixture", "record_fixtures", "hostingstack_fixture", "oauth_fixture",
                  "browser_fixtures", "thread_guard", "shared_route_builders"]


# `./dev test` runs the suite in four parts side by side (see `cmd_test` in ./dev); the part is
# chosen here rather than with -m so that a -m of the caller's still applies within each part.
# Each part is a test of (the test's markers, whether it lives in the core's tests/ folder).
TEST_PARTS = {
    # the core's tests but the browser tests, on the default database (SQLite)
    "main": lambda markers, core: core and "browser" not in markers,
    # the browser tests, and the plugins' and the portal's tests, on SQLite
    "browser": lambda markers, core: ("browser" in markers and "long_browser" not in markers) or not core,
    # the repeat on PostgreSQL: pure-logic and browser tests are not repeated; in two parts
    "postgres": lambda markers, core: core and "browser" not in markers and "db_independent" not in markers,
    # the plugins' part ends minutes before the others: the longest browser test runs in it
    # (its database plays no part), so that the browser part does not end the suite alone
    "postgres-plugins": lambda markers, core: (not core and "browser" not in markers
                                               and "db_independent" not in markers) or "long_browser" in markers,
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
        core = item.nodeid.startswith("tests/")
        (keep if wanted({mark.name for mark in item.iter_markers()}, core) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
