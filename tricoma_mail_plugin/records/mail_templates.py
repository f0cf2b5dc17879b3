"""Mail templates that admins edit (subject and body of app mails): Jinja in a sandbox, so a
template can read the values it is given and nothing else, and a broken one names its line."""
from __future__ import annotations

from flask_babel import gettext as _
from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import MailError

#: The most a template's ``*`` may make of a text or list, and the largest exponent and result
#: (in bits) of ``**``: ``{{ 'x' * 10**9 }}`` or ``{{ ((9**99)**99)**99 }}`` would hold a web
#: worker for minutes.
MAX_REPEATED_LENGTH = 100_000
MAX_EXPONENT = 100
MAX_POWER_BITS = 4096


class _MailTemplateSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` bounded (its ``range`` is bounded already)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator: str, left, right):
        if operator == "**" and isinstance(right, (int, float)) and (
                abs(right) > MAX_EXPONENT or isinstance(left, int) and left.bit_length() * abs(right) > MAX_POWER_BITS):
            raise SecurityError("a power this large is not allowed in a mail template")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, (str, list, tuple)) and isinstance(times, int) \
                        and len(sequence) * times > MAX_REPEATED_LENGTH:
                    raise SecurityError(f"a text or list longer than {MAX_REPEATED_LENGTH} is not allowed "
                                        "in a mail template")
        return super().call_binop(context, operator, left, right)


_ENVIRONMENT = _MailTemplateSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateFailed(MailError):
    """A mail template cannot be rendered; the message names the template and the line."""


def render_mail_template(source: str, values: dict, name: str = "template") -> str:
    """Render ``source`` with ``values``; raises :class:`TemplateFailed` (nothing is sent then)."""
    try:
        template = _ENVIRONMENT.from_string(source)
        return template.render(**values)
    except TemplateSyntaxError as error:
        raise TemplateFailed(_("Template %(name)s, line %(line)d: %(error)s",
                               name=name, line=error.lineno or 0, error=error.message)) from None
    except TemplateError as error:
        raise TemplateFailed(_("Template %(name)s, line %(line)d: %(error)s",
                               name=name, line=_line_of(error), error=str(error))) from None


def template_variables(source: str, name: str = "template") -> set[str]:
    """The names ``source`` reads from its values (``{{ due_date }}``, ``{% if amount %}``);
    raises :class:`TemplateFailed` for a template that does not parse."""
    try:
        return set(meta.find_undeclared_variables(_ENVIRONMENT.parse(source)))
    except TemplateSyntaxError as error:
        raise TemplateFailed(_("Template %(name)s, line %(line)d: %(error)s",
                               name=name, line=error.lineno or 0, error=error.message)) from None


#: Filters and tests whose text arguments name an attribute to read (``map(attribute=…)``,
#: ``selectattr("…")``); other filters' text arguments are only text (``replace("_", "-")``).
_ATTRIBUTE_READERS = frozenset({"attr", "map", "sort", "groupby", "selectattr", "rejectattr", "sum", "min", "max",
                                "unique", "dictsort"})


def forbidden_reads(source: str, name: str = "template") -> list[str]:
    """What ``source`` reads besides its values and their text, in order, without repeats: an
    attribute or item whose name starts with ``_`` (``''.__class__``, ``x['__globals__']``, also
    named to a filter that reads attributes, ``map(attribute='__class__')``), the ``attr``
    filter, and the names the template engine itself provides (``cycler``, ``range``,
    ``lipsum``, ``self``…), also where the template sets one itself, which would hide a later
    use. The sandbox refuses the first kind when rendering, however the name is built; a template
    that is saved is refused all of them at once, so it never gets that far. Raises
    :class:`TemplateFailed` for a template that does not parse."""
    try:
        tree = _ENVIRONMENT.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateFailed(_("Template %(name)s, line %(line)d: %(error)s",
                               name=name, line=error.lineno or 0, error=error.message)) from None
    engine = set(_ENVIRONMENT.globals) | {"self"}
    found: dict[str, None] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Test, nodes.Name)):
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            found.setdefault(node.attr)
        elif isinstance(node, nodes.Getitem) and _private(node.arg):
            found.setdefault(node.arg.value)
        elif isinstance(node, (nodes.Filter, nodes.Test)) and node.name in _ATTRIBUTE_READERS:
            if node.name == "attr":
                found.setdefault("|attr")
            for argument in [*node.args, *(keyword.value for keyword in node.kwargs)]:
                if _private(argument):
                    found.setdefault(argument.value)
        elif isinstance(node, nodes.Name) and node.name in engine:
            found.setdefault(node.name)
    return list(found)


def _private(node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, str) and node.value.startswith("_")


def _line_of(error: BaseException) -> int:
    """The template line of a render-time error, from the traceback Jinja rewrites."""
    traceback = error.__traceback__
    line = 0
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line
