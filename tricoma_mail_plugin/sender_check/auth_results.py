"""Reading ``Authentication-Results`` (RFC 8601): what the receiving server found out about
SPF, DKIM and DMARC.

Only the results of a server we trust count: anyone can write this header into a mail. The
receiving server adds its own on top and (RFC 8601, section 5) removes forged ones that carry
its id, so we read the headers with a configured ``authserv-id``, or, when none is configured,
those with the id of the topmost header.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_HEADER_CHARS = 8192
_PAIR = re.compile(r'([A-Za-z0-9_.\-/]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]*)')


@dataclass(frozen=True)
class AuthResult:
    """One method's result: ``method`` ("spf", "dkim", "dmarc"…), ``result`` ("pass", "fail"…)
    and its properties by ``ptype.property`` ("header.d", "smtp.mailfrom", "header.from")."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str:
        return next((value for key, value in self.properties if key == name), "")


def _without_comments(value: str) -> str:
    """``value`` with RFC 5322 comments (nested parentheses) removed, quoted strings kept."""
    out, depth, quoted, escaped = [], 0, False, False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
            continue
        if quoted:
            quoted = char != '"'
            out.append(char)
        elif char == '"' and depth == 0:
            quoted = True
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _split_outside_quotes(value: str, separator: str = ";") -> list[str]:
    parts, current, quoted = [], [], False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse(value: str) -> tuple[str, list[AuthResult]]:
    """The ``authserv-id`` of one header's value and its results; malformed parts are left out."""
    parts = _split_outside_quotes(_without_comments(value[:MAX_HEADER_CHARS]))
    head = parts[0].split()
    authserv_id = head[0].lower() if head else ""
    results = []
    for part in parts[1:]:
        pairs = [(key.lower(), _unquote(val)) for key, val in _PAIR.findall(part)]
        if not pairs:
            continue  # "none"
        method, result = pairs[0]
        results.append(AuthResult(method.split("/")[0], result.lower(), tuple(pairs[1:])))
    return authserv_id, results


def trusted_results(values: Iterable[str], trusted_ids: Sequence[str] = ()) -> list[AuthResult] | None:
    """The results of the headers we trust, topmost first; ``None`` when there is no such header.

    ``values`` are the ``Authentication-Results`` headers as they stand in the message, topmost
    first. With ``trusted_ids`` only headers carrying one of them count; without, those with the
    id of the topmost header (the one the receiving server added last).
    """
    parsed = [parse(value) for value in values]
    if not parsed:
        return None
    wanted = {authserv_id.lower() for authserv_id in trusted_ids} or {parsed[0][0]}
    chosen = [results for authserv_id, results in parsed if authserv_id in wanted]
    if not chosen:
        return None
    return [result for results in chosen for result in results]
