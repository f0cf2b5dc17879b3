"""Who may use a page: every page needs a signed-in user of one of the given roles; customer
pages work on the user's own tenant only (``tenancy.tenant_row``)."""
from __future__ import annotations

from functools import wraps

from flask import redirect, request, url_for
from flask_login import current_user

from ..errors import NotFound
from ..models import ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER, ROLE_OPERATOR

CUSTOMERS = (ROLE_CUSTOMER_ADMIN, ROLE_CUSTOMER_USER)
CUSTOMER_ADMIN = (ROLE_CUSTOMER_ADMIN,)
OPERATOR = (ROLE_OPERATOR,)


def roles(*allowed: str):
    """Only signed-in users with one of ``allowed`` roles; strangers get the login, other roles
    a 404 (a page not meant for them looks like no page, as another customer's ids do)."""
    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login", next=request.full_path))
            if current_user.role not in allowed:
                raise NotFound()
            return view(*args, **kwargs)
        guarded.allowed_roles = allowed  # read by the isolation test
        return guarded
    return decorate


def tenant_id() -> int | None:
    return current_user.tenant_id
