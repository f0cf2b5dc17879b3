"""The OAuth2 mail stack stops only its own processes: a pid file outlives its process, and a
stale one may name an unrelated process by now (pid numbers are reused within minutes while the
suite runs; one such pid stopped a whole part of the suite)."""
from __future__ import annotations

import subprocess

from oauth_mailstack import OAuthMailStack


def test_stale_pid_files_stop_no_other_process(tmp_path):
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        stack = OAuthMailStack(tmp_path / "oauth", port_offset=0)
        (tmp_path / "oauth" / "run").mkdir(parents=True)
        (tmp_path / "oauth" / "relay.pid").write_text(str(bystander.pid))
        (tmp_path / "oauth" / "run" / "master.pid").write_text(str(bystander.pid))
        stack.stop()
        assert bystander.poll() is None, "the stack stopped a process that is not its own"
        assert not (tmp_path / "oauth" / "relay.pid").exists()
        assert not (tmp_path / "oauth" / "run" / "master.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()
