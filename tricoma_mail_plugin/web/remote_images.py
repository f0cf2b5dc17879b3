""""Always show remote images from this sender": the senders a user trusts, kept in a signed
cookie of that user's browser (no table, no migration). The cookie names the user it belongs
to, so another user of the same browser does not inherit the list; it is signed with the app's
secret, so it cannot be forged to name senders the user never allowed."""
from __future__ import annotations

from flask import current_app, request
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "tricoma_mail_remote_images"
MAX_SENDERS = 60
MAX_AGE = 365 * 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="tricoma-mail-remote-images")


def allowed_senders() -> list[str]:
    """The senders (lower-case addresses) the current user always shows remote images of."""
    value = request.cookies.get(COOKIE)
    if not value:
        return []
    try:
        data = _serializer().loads(value)
    except BadSignature:
        return []
    if not isinstance(data, dict) or data.get("u") != str(current_user.get_id()):
        return []
    return [sender for sender in data.get("s", []) if isinstance(sender, str)]


def sender_allowed(sender: str | None) -> bool:
    return bool(sender) and sender.lower() in allowed_senders()


def store(response, sender: str, allow: bool) -> None:
    """Add ``sender`` to (or remove it from) the list, on ``response``."""
    senders = [s for s in allowed_senders() if s != sender.lower()]
    if allow:
        senders.append(sender.lower())
    value = _serializer().dumps({"u": str(current_user.get_id()), "s": senders[-MAX_SENDERS:]})
    response.set_cookie(COOKIE, value, max_age=MAX_AGE, httponly=True, samesite="Lax",
                        secure=request.is_secure, path="/mail/")
