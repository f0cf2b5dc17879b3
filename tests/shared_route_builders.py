"""The URL builders of the test apps' routes, made once per test process instead of once per app.

Every test makes an app of its own, and Werkzeug compiles a URL builder function for each of
its 150 routes, twice (with and without query arguments): building Python code from an AST,
about a fifth of a page test's CPU. A builder is a function of the route's parsed parts alone —
it reads the converters through the rule it is bound to when it runs — so the same function
serves the same route of every app. This pytest plugin keeps them by those parts (the rule
text, the parsed parts, the defaults that are folded into the code) and binds each to its rule.
Werkzeug versions without ``Rule._compile_builder`` are left as they are."""
from __future__ import annotations

from collections.abc import Callable

from werkzeug.routing.rules import Rule

_made = getattr(Rule, "_compile_builder", None)
_builders: dict[tuple, Callable] = {}


def _shared_builder(rule: Rule, append_unknown: bool = True) -> Callable:
    defaults = rule.defaults or {}
    key = (rule.rule, tuple(rule._trace), append_unknown,
           tuple(sorted((name, repr(value), type(rule._converters.get(name)).__qualname__)
                        for name, value in defaults.items())))
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _made(rule, append_unknown)
    return builder


def pytest_configure(config) -> None:
    if _made is not None:
        Rule._compile_builder = _shared_builder
