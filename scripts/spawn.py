"""Start a daemon detached from the caller: stdin /dev/null, stdout and stderr appended to LOG,
no inherited file descriptors, its own session. Prints the child's pid.

Usage: python scripts/spawn.py LOG COMMAND [ARG...]
"""
import subprocess
import sys

log, *command = sys.argv[1:]
with open(log, "ab") as output:
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                             stderr=subprocess.STDOUT, close_fds=True, start_new_session=True)
print(child.pid)
