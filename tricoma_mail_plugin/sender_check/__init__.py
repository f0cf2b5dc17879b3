"""The sender check: warnings in the reading view about forged senders and changed bank details.

Pure logic, like ``mime/``: it imports neither Flask nor the database, so it can check mail in
any script. :func:`check_message` takes the raw message, the contacts apps know
(:class:`KnownSender`) and how far to trust and verify, and returns :class:`SenderWarning`
values; ``mail/sender_warnings.py`` feeds it from the app.
"""
from .check import check_message
from .dkim_check import DnsLookup
from .values import CODES, KnownSender, SenderWarning

__all__ = ["CODES", "DnsLookup", "KnownSender", "SenderWarning", "check_message"]
