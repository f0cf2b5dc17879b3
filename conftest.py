"""Root conftest: makes the shared fixtures (tests/app_fixtures.py, tests/mailstack_fixture.py)
and the test plugins (tests/plugins/) available to tests/ and to every plugins/*/tests/."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "plugins")]

pytest_plugins = ["app_fixtures", "mailstack_fixture", "record_fixtures", "hostingstack_fixture", "oauth_fixture"]
