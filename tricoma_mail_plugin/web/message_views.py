"""Reading one message (SPEC M8, X3): headers, attachments, the body; the sanitized HTML in a
sandboxed frame under a strict CSP; inline images; downloads; remote images only once allowed
(for this message, or always for its sender); print view and source.

The body is a document of its own (``body_document``): the sanitized markup with a ``<meta>`` CSP
that allows no script at all and images only from the app (and, once allowed, from the hosts the
message names). The reading page shows it in ``<iframe sandbox>`` without ``allow-scripts`` and
``allow-same-origin``, so it runs in an opaque origin, never the app's. Up to
``TRICOMA_MAIL_INLINE_BODY_MAX_BYTES`` the page carries that document itself in the frame's
``srcdoc`` (opening a message is one request); the markup is then an escaped attribute value, never
part of the page's own DOM. A ``srcdoc`` frame inherits the page's CSP, so such a page answers its
own: the host's usual directives plus inline styles (mail is styled inline; scripts stay forbidden)
and the body's image sources. A larger body is loaded by the frame from the body route, which
answers the same document with the CSP as a header, plus a CSP ``sandbox``, so even opened on its
own it runs in an opaque origin; the v2 client and links to a body use that route too.

The page's article (everything but the host's frame) is kept per web process under every value it
shows (``reading_page_cache``, ``_article_key``): opening a message again builds only the frame.
"""
from __future__ import annotations

import re
from email.utils import getaddresses
from functools import lru_cache
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..cache import bodies, intents
from ..cache.listing import Neighbours, neighbours
from ..cache_versions import versioned_cache, versions
from ..errors import MessageNotFound
from ..mail import trusted_senders
from ..mail.message_view import INLINE_ATTACHMENT_TYPES, RenderedMessage, render_message
from ..mail.sender_warnings import sender_warnings
from ..mailboxes.service import backend_for
from ..mime.html_text import html_to_plain_text
from ..mime.parse import get_part, safe_filename
from ..mime.sanitize import INLINE_IMAGE_TYPES, defuse_markup
from ..records.mail_links import links_for_message
from ..records.references import RecordDescription, describe_reference
from ..rights import access
from ..rights.directory import directory
from . import render_cache
from .mail_common import BANNER_KEY, install, rights_on
from .mail_views import folder_tree_without_counts, list_order, list_tag, list_view_arguments
from .message_rows import locale_and_zone
from .plain_text import mail_text
from .reading_page_cache import article_cache
from .redirects import safe_next

blueprint = Blueprint("tricoma_mail_message", __name__, url_prefix="/mail/m/<int:mailbox_id>/messages",
                      template_folder="../templates")
# Inline images are asked for by the sandboxed frame, whose origin is opaque: the browser sends no
# session cookie with them (SameSite), so their URLs carry a signed token naming the user.
install(blueprint, own_sign_in=("tricoma_mail_message.part",))
PART_TOKEN_SECONDS = 12 * 3600

# Types a browser may show inline when the user asks (never scripts, never markup).
INLINE_TYPES = INLINE_ATTACHMENT_TYPES
# Types that a browser would run or render as a document: always served as a plain download.
_ACTIVE_TYPE = re.compile(r"html|xml|svg|javascript|ecmascript|x-sh|x-msdownload|wasm|text/css|multipart/",
                          re.IGNORECASE)
_VALID_TYPE = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
_PART_ID = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,4}){0,50}$")
_REMOTE_ORIGIN = re.compile(r'<img[^>]*?\ssrc="(https?://[A-Za-z0-9.\-]+(?::[0-9]{1,5})?)[/"?#]', re.IGNORECASE)
MAX_CSP_HOSTS = 40

BODY_STYLE = ("body{margin:0;padding:12px;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
              "color:#1d232b;background:#fff;overflow-wrap:anywhere}img{max-width:100%;height:auto}"
              "table{max-width:100%}pre{white-space:pre-wrap}blockquote{margin:0 0 0 .5rem;padding-left:.75rem;"
              "border-left:3px solid #c5d9ef}pre .quote-1{color:#2b5d9b}pre .quote-2{color:#2f7d4f}"
              "pre .quote-3{color:#8a4b9e}")  # the quote colours of mail.css's pre.mail-text


# -- rendering, shared by the reading page and the frame's route -----------------------------------

def _rendered(mailbox, message_pk: int, allow_remote: bool, backend=None,
              message_and_folder: tuple | None = None) -> tuple[RenderedMessage, bool]:
    """The parsed, sanitized message and whether markup nested too deep was left out. The page
    and its frame ask for the same message moments apart: a short per-process memory saves the
    second parse (``render_cache``: shared by the web processes with a broker). Rights are
    checked by the caller before, who may pass the ``message_and_folder`` it found already."""
    cached, folder = message_and_folder or bodies.cached_message(mailbox, message_pk)
    user_id = str(current_user.get_id())
    key = _render_key(mailbox, cached, folder, allow_remote)
    found = render_cache.get(key)
    if found is not None:
        return found
    rendered = render_message(
        mailbox, message_pk,
        part_url=lambda part_id: url_for("tricoma_mail_message.part", mailbox_id=mailbox.id,
                                         message_pk=message_pk, part_id=part_id,
                                         t=_part_token(user_id, mailbox.id, message_pk, part_id)),
        allow_remote=allow_remote, backend=backend)
    html = rendered.message.html
    nesting_cut = bool(html) and defuse_markup(html) != html
    render_cache.put(key, (rendered, nesting_cut))
    return rendered, nesting_cut


def _render_key(mailbox, cached, folder, allow_remote: bool) -> tuple:
    # Ids of deleted rows can be given out again: the key names the message itself as well.
    return (str(current_user.get_id()), mailbox.id, cached.id, folder.id, folder.uidvalidity, cached.uid,
            cached.message_id, allow_remote)


def _image_sources(rendered: RenderedMessage, allow_remote: bool) -> str:
    """The CSP ``img-src`` of a body: the app and ``data:``, plus, once remote images are
    allowed, the origins the message's images name (all of ``https:`` past MAX_CSP_HOSTS)."""
    sources = "'self' data:"
    if allow_remote:
        origins = sorted(set(_REMOTE_ORIGIN.findall(rendered.html or "")))
        sources += " " + (" ".join(origins) if len(origins) <= MAX_CSP_HOSTS else "https:")
    return sources


def _body_policy(image_sources: str) -> str:
    """The body document's own CSP: no script, images only from ``image_sources``."""
    return (f"default-src 'none'; img-src {image_sources}; style-src 'unsafe-inline'; "
            "base-uri 'none'; form-action 'none'")


def body_document(rendered: RenderedMessage, image_sources: str) -> str:
    """The body as a document of its own, for the sandboxed frame: the sanitized markup (or the
    text in ``<pre>``), its style, no referrer, and a CSP that allows no script and images only
    from ``image_sources``. The same for the reading page's ``srcdoc`` and the body route."""
    markup = rendered.html if rendered.html is not None else f"<pre>{mail_text(rendered.message.text or '')}</pre>"
    return ('<!doctype html><html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
            f'<meta http-equiv="Content-Security-Policy" content="{_body_policy(image_sources)}">'
            f'<style>{BODY_STYLE}</style></head><body>{markup}</body></html>')


def _inline_body(rendered: RenderedMessage, image_sources: str) -> str | None:
    """The body document for the reading page's ``srcdoc``, or ``None`` when it is larger than
    TRICOMA_MAIL_INLINE_BODY_MAX_BYTES (the frame then loads it from the body route)."""
    limit = current_app.config["TRICOMA_MAIL_INLINE_BODY_MAX_BYTES"]
    if len(rendered.html or "") > limit:  # a character is at least a byte: too large already
        return None
    document = body_document(rendered, image_sources)
    return document if len(document.encode("utf-8")) <= limit else None


def _reading_page_policy(image_sources: str) -> str:
    """The CSP of a reading page that carries its body in ``srcdoc``. Such a frame inherits the
    page's policy (its own ``<meta>`` policy applies as well), so the page must allow what the
    body needs: inline styles, since mail is styled inline (scripts stay forbidden, on the page
    and in the frame), and the body's image sources. The rest are the host's directives
    (``TRICOMA_MAIL_CONTENT_SECURITY_POLICY``)."""
    return policy_for_inline_body(current_app.config["TRICOMA_MAIL_CONTENT_SECURITY_POLICY"], image_sources)


@lru_cache(maxsize=256)
def policy_for_inline_body(host_policy: str, image_sources: str) -> str:
    """``host_policy`` with ``'unsafe-inline'`` added to its style-src (``'self'`` when it has
    none) and img-src replaced by ``image_sources``; its other directives, in order, as written."""
    directives: dict[str, str] = {}
    for directive in host_policy.split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name:
            directives[name.lower()] = sources.strip()
    style = directives.get("style-src", "'self'").split()
    if "'unsafe-inline'" not in style:
        style.append("'unsafe-inline'")
    directives["style-src"] = " ".join(style)
    directives["img-src"] = image_sources
    return "; ".join(f"{name} {sources}".strip() for name, sources in directives.items())


def _sender_warnings(mailbox, cached, folder, backend=None) -> tuple:
    """The sender check's warnings of one message, remembered like its render: the same for
    every reader of the mailbox, and a second open need not parse the message again."""
    key = ("sender-warnings", mailbox.id, cached.id, folder.id, folder.uidvalidity, cached.uid, cached.message_id)
    warnings = render_cache.get(key)
    if warnings is None:
        warnings = sender_warnings(mailbox, cached.id, backend)
        render_cache.put(key, warnings)
    return warnings


@lru_cache(maxsize=4096)  # every open parses the same few From headers again
def _sender_address(from_header: str) -> str:
    for _name, address in getaddresses([from_header or ""]):
        if "@" in address:
            return address.strip().lower()
    return ""


def _remote_allowed(sender: str) -> tuple[bool, str | None]:
    """Whether remote images are shown and why: ``"once"`` (this message, asked now) or
    ``"sender"`` (always for this sender)."""
    if trusted_senders.is_trusted(str(current_user.get_id()), sender):
        return True, "sender"
    if request.args.get("remote") == "1":
        return True, "once"
    return False, None


# -- the reading page -----------------------------------------------------------------------------


def linked_records(mailbox_id: int, message_id: str) -> list[RecordDescription]:
    """The records this mail is linked to ("linked to invoice 2026-0042"), each with its title
    and URL; a record that is gone is still named."""
    # asked on every open, changed rarely: remembered until a link is made or removed (cache_versions)
    references = versioned_cache().get_or_load("links", (mailbox_id, message_id),
                                               lambda: tuple(links_for_message(mailbox_id, message_id)))
    records = []
    for reference in references:
        records.append(describe_reference(reference) or RecordDescription(str(reference), None))
    return records


def _readable(mailbox_id: int, message_pk: int):
    """The mailbox, the cached message and its folder, the user's *read* checked first (one
    query for the three: the page and its frame each ask)."""
    found = bodies.message_and_mailbox(mailbox_id, message_pk)  # held: the check below finds the row
    mailbox = access.require(current_user, mailbox_id, "read")
    if found is None:
        raise MessageNotFound()
    return mailbox, found[0], found[1]


@blueprint.get("/<int:message_pk>")
def read(mailbox_id: int, message_pk: int):
    mailbox, cached, folder = _readable(mailbox_id, message_pk)
    rights = rights_on(mailbox.id)
    sender = _sender_address(cached.from_)
    allow_remote, remote_reason = _remote_allowed(sender)
    mark_read = not cached.seen and "write" in rights
    # A message rendered a moment ago (its frame, a second look) needs neither its body nor the
    # question whether the body is cached.
    render_key = _render_key(mailbox, cached, folder, allow_remote)
    known = render_cache.get(render_key)
    needs_server = mark_read or (known is None and not bodies.is_cached(cached.id))
    if needs_server:
        with backend_for(mailbox) as backend:
            rendered, nesting_cut = _rendered(mailbox, message_pk, allow_remote, backend, (cached, folder))
            warnings = _sender_warnings(mailbox, cached, folder, backend)
            if mark_read:
                intents.set_flags(mailbox, backend, folder.name, [cached.uid], add=["\\Seen"])
    else:
        rendered, nesting_cut = known or _rendered(mailbox, message_pk, allow_remote,
                                                   message_and_folder=(cached, folder))
        warnings = _sender_warnings(mailbox, cached, folder)
    parsed = rendered.message
    show_html = rendered.html is not None and request.args.get("view") != "text"
    image_sources = _image_sources(rendered, allow_remote) if show_html else ""
    tree = folder_tree_without_counts(mailbox)
    records = tuple(linked_records(mailbox.id, cached.message_id))
    sort, descending = list_order()
    tag = list_tag()
    around = neighbours(cached, sort, descending, tag)
    view = list_view_arguments(sort, descending, tag)

    def render_article() -> tuple[str, bool]:
        inline_body = _inline_body(rendered, image_sources) if show_html else None
        node = next((n for n in tree if n.name == folder.name), None)
        article = render_template(
            "tricoma_mail/mail/_message_article.html",
            mailbox=mailbox, message=cached, folder=folder.name, folder_label=node.label if node else folder.name,
            folder_role=node.role if node else None, parsed=parsed, rendered=rendered, rights=rights,
            show_html=show_html, has_text=parsed.text is not None, sender=sender,
            allow_remote=allow_remote, remote_reason=remote_reason,
            truncated=rendered.html_truncated or parsed.truncated or nesting_cut,
            body_url=url_for(".body", mailbox_id=mailbox.id, message_pk=cached.id,
                             remote="1" if remote_reason == "once" else None),
            inline_body=inline_body,
            move_targets=[n for n in tree if n.selectable and n.name != folder.name],
            inline_types=INLINE_TYPES,
            linked_records=records,
            sender_warnings=warnings,
            mail_text=mail_text,
            compose_to=_compose_to(mailbox.id) if "send" in rights else None,
            back=url_for("tricoma_mail_client.folder", mailbox_id=mailbox.id, folder=folder.name, **view),
            list_view=view,
            previous_url=_neighbour_url(mailbox.id, around.previous, view),
            next_url=_neighbour_url(mailbox.id, around.next, view),
        )
        return article, inline_body is not None

    key = _article_key(render_key, mailbox, cached, folder, rights, remote_reason, tree, records, warnings, around)
    article, body_inline = article_cache().get_or_render(key, render_article)
    page = render_template("tricoma_mail/mail/message.html", mailbox=mailbox, parsed=parsed, article=article)
    if show_html and current_app.testing and current_app.config.get("TRICOMA_MAIL_UNSAFE_RENDERING_FOR_TESTS"):
        # TEST ONLY (config.py): the raw HTML in the app's page instead of the sandboxed frame, no CSP.
        start = page.index('<iframe class="mail-body"')
        end = page.index("</iframe>", start) + len("</iframe>")
        unsafe = Response(page[:start] + (parsed.html or "") + page[end:], mimetype="text/html")
        unsafe.headers["Content-Security-Policy"] = "default-src * data: blob: 'unsafe-inline' 'unsafe-eval'"
        return unsafe
    response = make_response(page)
    if body_inline:
        response.headers["Content-Security-Policy"] = _reading_page_policy(image_sources)
    return response


def _neighbour_url(mailbox_id: int, message_pk: int | None, view: dict[str, str]) -> str | None:
    """The reading view of a message above or below in the folder's list, in the same order."""
    if message_pk is None:
        return None
    return url_for(".read", mailbox_id=mailbox_id, message_pk=message_pk, **view)


def _compose_to(mailbox_id: int):
    """For an e-mail address in a plain-text body: the URL of a new mail to it from this mailbox."""
    return lambda address: url_for("tricoma_mail_compose.compose", mailbox_id=mailbox_id, to=address)


def _article_key(render_key: tuple, mailbox, cached, folder, rights: frozenset[str], remote_reason: str | None,
                 tree: tuple, records: tuple, warnings: tuple, around: Neighbours) -> tuple | None:
    """Every value the reading page's article shows (``_message_article.html``), as read for
    this request: the key it is remembered under (``reading_page_cache``). ``None`` (render,
    do not remember) while banners wait for the page or the tags' version is unknown."""
    tags_version = versions().get("tags")
    if tags_version is None or BANNER_KEY in session:
        return None
    locale, zone = locale_and_zone()
    return (render_key, str(locale), str(zone), request.script_root, request.full_path, mailbox.title,
            folder.name, cached.from_, cached.flags, cached.flagged, cached.date, rights, remote_reason, tree,
            records, warnings, around, tags_version)


@blueprint.get("/<int:message_pk>/body")
def body(mailbox_id: int, message_pk: int):
    """Only the body document, for a sandboxed frame: the reading page's when the body is too
    large to carry inline, the v2 client's, a link to the body."""
    mailbox, cached, folder = _readable(mailbox_id, message_pk)
    allow_remote, _reason = _remote_allowed(_sender_address(cached.from_))
    rendered, _cut = _rendered(mailbox, message_pk, allow_remote, message_and_folder=(cached, folder))
    image_sources = _image_sources(rendered, allow_remote)
    response = Response(body_document(rendered, image_sources), mimetype="text/html")
    # as a header the policy can say more than the <meta> in the document: who may frame it,
    # and a sandbox even when it is opened on its own
    response.headers["Content-Security-Policy"] = (
        f"{_body_policy(image_sources)}; frame-ancestors 'self'; "
        "sandbox allow-popups allow-popups-to-escape-sandbox")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store"
    # for a client that frames the body alone (v2): how many remote images it left out, so
    # that it can offer them as the reading page does
    response.headers["X-Remote-Images-Blocked"] = "0" if allow_remote else str(rendered.remote_blocked)
    return response


# -- parts ----------------------------------------------------------------------------------------


def _part_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="tricoma-mail-inline-part")


def _part_token(user_id: str, mailbox_id: int, message_pk: int, part_id: str) -> str:
    return _part_serializer().dumps([user_id, mailbox_id, message_pk, part_id])


def _token_user(mailbox_id: int, message_pk: int, part_id: str):
    """The user a valid token of this very part names, else ``None``."""
    try:
        user_id, *named = _part_serializer().loads(request.args.get("t", ""), max_age=PART_TOKEN_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return None
    if named != [mailbox_id, message_pk, part_id]:
        return None
    return directory().load_user(str(user_id))


def _part(mailbox_id: int, message_pk: int, part_id: str, user=None):
    if not _PART_ID.match(part_id):
        abort(404)
    mailbox = access.require(user or current_user, mailbox_id, "read")
    found = get_part(bodies.raw_message(mailbox, message_pk), part_id)
    if found is None:
        abort(404)
    return found


@blueprint.get("/<int:message_pk>/parts/<part_id>")
def part(mailbox_id: int, message_pk: int, part_id: str):
    """An inline image the HTML body shows (``cid:``); anything else only as a download. Asked
    for by the sandboxed frame without cookies: then the signed token says who asks, and that
    user's right is checked as always."""
    user = None
    if not current_user.is_authenticated:
        user = _token_user(mailbox_id, message_pk, part_id)
        if user is None:
            return current_app.login_manager.unauthorized()
    described, data = _part(mailbox_id, message_pk, part_id, user)
    content_type = described.content_type.lower()
    if content_type == "image/jpg":
        content_type = "image/jpeg"
    if content_type not in INLINE_IMAGE_TYPES:
        return _download(described, data, inline=False)
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = _disposition("inline", described.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@blueprint.get("/<int:message_pk>/attachments/<part_id>")
def attachment(mailbox_id: int, message_pk: int, part_id: str):
    described, data = _part(mailbox_id, message_pk, part_id)
    return _download(described, data, inline=request.args.get("inline") == "1")


def served_type(content_type: str) -> str:
    """The Content-Type an attachment is served with: never the sender's claim for anything a
    browser would run or render as a page."""
    content_type = (content_type or "").lower()
    if not _VALID_TYPE.match(content_type) or _ACTIVE_TYPE.search(content_type):
        return "application/octet-stream"
    return content_type


def _download(described, data: bytes, inline: bool) -> Response:
    content_type = served_type(described.content_type)
    inline = inline and content_type in INLINE_TYPES
    response = Response(data, mimetype=content_type)
    response.headers["Content-Disposition"] = _disposition("inline" if inline else "attachment", described.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if content_type != "application/pdf":
        # PDF viewers refuse to work in a sandboxed document; every other type gets the sandbox.
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self' data:; sandbox"
    return response


def _disposition(kind: str, filename: str | None) -> str:
    """``attachment; filename="…"; filename*=UTF-8''…`` with a harmless name (RFC 6266)."""
    name = safe_filename(filename)
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in name) or "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- source and print -----------------------------------------------------------------------------


@blueprint.get("/<int:message_pk>/source")
def source(mailbox_id: int, message_pk: int):
    mailbox = access.require(current_user, mailbox_id, "read")
    raw = bodies.raw_message(mailbox, message_pk)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    response = Response(text, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Content-Disposition"] = "inline"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.get("/<int:message_pk>/print")
def print_view(mailbox_id: int, message_pk: int):
    mailbox = access.require(current_user, mailbox_id, "read")
    cached, folder = bodies.cached_message(mailbox, message_pk)
    rendered, _cut = _rendered(mailbox, message_pk, False, message_and_folder=(cached, folder))
    parsed = rendered.message
    text = parsed.text if parsed.text is not None else html_to_plain_text(parsed.html or "")
    return render_template("tricoma_mail/mail/print.html", mailbox=mailbox, message=cached, parsed=parsed,
                           text=text, back=url_for(".read", mailbox_id=mailbox.id, message_pk=cached.id))


# -- remote images --------------------------------------------------------------------------------


@blueprint.post("/<int:message_pk>/remote-images")
def remote_images_for_sender(mailbox_id: int, message_pk: int):
    """Always (or no longer) show remote images of this message's sender."""
    mailbox = access.require(current_user, mailbox_id, "read")
    cached, _folder = bodies.cached_message(mailbox, message_pk)
    sender = _sender_address(cached.from_)
    target = safe_next(request.form.get("next")) or url_for(".read", mailbox_id=mailbox.id, message_pk=cached.id)
    response = redirect(target)
    if sender:
        trusted_senders.set_trusted(str(current_user.get_id()), sender, request.form.get("allow") == "1")
    return response
