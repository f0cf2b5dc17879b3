"""The coloured chips of a message's tags, as the v1 list and reading view show them (the v2
client draws its own in ``team_tags.js``). Colours are classes of the style sheet (one per
colour of :data:`mail.tags.PALETTE`): the Content-Security-Policy allows no inline style."""
from __future__ import annotations

from typing import Iterable

from flask_babel import gettext as _
from markupsafe import Markup, escape

from ..mail import tags


def chips_html(mailbox_id: int, keywords: Iterable[str]) -> Markup:
    """The chips of the tags among ``keywords`` ('' for none)."""
    shown = tags.tags_on(mailbox_id, keywords)
    if not shown:
        return Markup("")
    label = escape(_("Tags"))
    chips = "".join(f'<li class="tag-chip {tag.css_class}" data-keyword="{escape(tag.keyword)}">'
                    f'{escape(tag.name)}</li>' for tag in shown)
    return Markup(f'<ul class="tag-chips" aria-label="{label}">{chips}</ul>')
