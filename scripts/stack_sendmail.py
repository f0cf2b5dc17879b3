#!/usr/bin/env python3
"""The ``sendmail`` of the local mail stack's Dovecot: where Sieve's vacation replies and
redirects go (``sendmail_path`` in the config scripts/mailstack.py writes).

Called by Dovecot (as the ``mail`` user, with the system's Python: standard library only) as ``stack_sendmail.py --lmtp PORT... -i -f SENDER -- RCPT...`` with the
message on standard input. Like the SMTP relay, each recipient goes to the first of the stack's
LMTP servers that knows it, and nothing leaves the machine: a recipient no LMTP server knows is
reported on standard error (Dovecot logs it) and dropped.
"""
from __future__ import annotations

import argparse
import sys

from lmtp_route import deliver, probe_recipient


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--lmtp", type=int, action="append", default=[])
    parser.add_argument("-f", dest="sender", default="")
    parser.add_argument("-i", action="store_true")
    parser.add_argument("-o", action="append", default=[])  # sendmail options Dovecot may pass
    parser.add_argument("recipients", nargs="*")
    options = parser.parse_args(argv)
    sender = "" if options.sender in ("", "<>") else options.sender
    content = sys.stdin.buffer.read()
    failed = 0
    for rcpt in options.recipients:
        verdict = probe_recipient(options.lmtp, rcpt)
        error = verdict.reply if verdict.port is None else deliver(verdict.port, sender, rcpt, content)
        if error:
            print(f"stack_sendmail: <{rcpt}> not delivered: {error}", file=sys.stderr)
            failed += 1
    return 0 if not failed else 67  # EX_NOUSER: Dovecot logs the failure


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
