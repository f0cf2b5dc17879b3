"""The menu entries a user's role sees."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..models import ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER, ROLE_OPERATOR

ENTRIES = (
    ("mailboxes.index", _l("Mailboxes"), (ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER)),
    ("domains.index", _l("Domains"), (ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER)),
    ("tokens.index", _l("API tokens"), (ROLE_CUSTOMER_ADMIN,)),
    ("users.index", _l("Users"), (ROLE_CUSTOMER_ADMIN,)),
    ("operator.orders", _l("Domain orders"), (ROLE_OPERATOR,)),
    ("operator.tenants", _l("Customers"), (ROLE_OPERATOR,)),
)


def navigation() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    return [(endpoint, str(label)) for endpoint, label, roles in ENTRIES
            if current_user.role in roles]
