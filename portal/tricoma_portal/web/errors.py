"""The one place where the portal's exceptions become pages or JSON.

A refused form value on a page (``InvalidInput``, ``Conflict``) goes back to the page the form
came from (its hidden ``back`` field) with the message shown; everything else renders the error
page with its status. The API answers JSON."""
from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from ..errors import Conflict, InvalidInput, PortalError


def init_app(app: Flask) -> None:
    app.register_error_handler(PortalError, _portal_error)
    app.register_error_handler(HTTPException, _http_error)


def _is_api() -> bool:
    return request.blueprint == "api"


def _safe_back() -> str | None:
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//") and "\\" not in back:
        return back
    return None


def _portal_error(error: PortalError):
    if _is_api():
        return jsonify(error=error.message), error.status
    back = _safe_back()
    if request.method == "POST" and isinstance(error, (InvalidInput, Conflict)) and back:
        flash(error.message, "error")
        return redirect(back)
    return render_template("portal/error.html", message=error.message), error.status


def _http_error(error: HTTPException):
    messages = {404: _("Not found."), 405: _("This address does not take that kind of request.")}
    message = messages.get(error.code, error.description)
    if _is_api():
        return jsonify(error=message), error.code
    return render_template("portal/error.html", message=message), error.code
