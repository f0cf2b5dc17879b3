"""The mail templates' sandbox beyond Jinja's own: what a saved reply template may not read
(``forbidden_reads``) without refusing ordinary templates, and ``*`` / ``**`` bounded so that a
template cannot hold a web worker."""
from __future__ import annotations

import pytest

from tricoma_mail_plugin.records.mail_templates import TemplateFailed, forbidden_reads, render_mail_template

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it

ORDINARY = (
    "{{ invoice_number|replace('_', '-') }}",
    "{{ names|join('_') }}",
    "{{ name|default('_') }}",
    "{{ name|center(20, '_') }}",
    "{% if x is sameas '_' %}a{% endif %}",
    "{% for x in items %}{{ x }}{% endfor %}",
    "{{ amount|round(2) }}",
    "{{ items|map(attribute='name')|join(', ') }}",
    "{% set items = 'a' %}{{ items }}",
)

FORBIDDEN = {
    "{{ ''.__class__.__mro__ }}": ["__mro__", "__class__"],
    "{{ x['__globals__'] }}": ["__globals__"],
    "{{ x|attr('name') }}": ["|attr"],
    "{{ items|map(attribute='__class__')|list }}": ["__class__"],
    "{{ items|selectattr('_secret')|list }}": ["_secret"],
    "{{ cycler }}": ["cycler"],
    # a name of the engine's that the template sets itself first would hide a later use
    "{% macro m(cycler) %}{% endmacro %}{{ cycler }}": ["cycler"],
    "{% with range=1 %}{% endwith %}{{ range(2)|list }}": ["range"],
    "{{ lipsum }}{% set lipsum=1 %}": ["lipsum"],
}


@pytest.mark.parametrize("source", ORDINARY)
def test_ordinary_templates_read_nothing_forbidden(source):
    assert forbidden_reads(source) == []


@pytest.mark.parametrize(("source", "names"), FORBIDDEN.items())
def test_reads_past_the_values_are_named(source, names):
    assert forbidden_reads(source) == names


@pytest.mark.parametrize("source", ["{{ 'x' * 10**9 }}", "{{ [1] * 200000 }}", "{{ 1000000 * 'ab' }}",
                                    "{{ ((9**99)**99)**99 }}", "{{ 10**200 }}", "{{ 2 ** 101 }}"])
def test_huge_results_are_refused_not_computed(source):
    with pytest.raises(TemplateFailed, match="not allowed in a mail template"):
        render_mail_template(source, {})


def test_ordinary_arithmetic_still_works():
    assert render_mail_template("{{ '-' * 20 }} {{ 2 ** 10 }} {{ 1.5 ** 2 }} {{ 3 * 4 }} {{ 9**9**9 > 0 }}", {}) == \
        "-------------------- 1024 2.25 12 True"
