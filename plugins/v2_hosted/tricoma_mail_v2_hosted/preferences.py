"""Each user's layout choices in the v2 interface, kept on the server so they follow the user
from browser to browser: the widths of the panes and whether mail is shown as conversations."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select

from tricoma_mail_plugin import db_session

from .tables import preferences

MIN_PANE, MAX_PANE = 120, 1200


@dataclass(frozen=True)
class Layout:
    folders_width: int = 220
    list_width: int = 420
    conversations: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def layout_of(user_id: str) -> Layout:
    stored = db_session().scalar(select(preferences.c["values"]).where(preferences.c.user_id == str(user_id)))
    return _checked(stored or {}, Layout())


def save_layout(user_id: str, values: dict) -> Layout:
    """Store what ``values`` changes of the user's layout (unknown keys and bad values are
    ignored) and return the whole layout."""
    layout = _checked(values, layout_of(user_id))
    session = db_session()
    table = preferences
    if session.scalar(select(table.c.user_id).where(table.c.user_id == str(user_id))) is None:
        session.execute(table.insert().values(user_id=str(user_id), values=layout.as_dict()))
    else:
        session.execute(table.update().where(table.c.user_id == str(user_id)).values(values=layout.as_dict()))
    session.commit()
    return layout


def _checked(values: dict, base: Layout) -> Layout:
    current = base.as_dict()
    for name in ("folders_width", "list_width"):
        value = values.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            current[name] = int(min(max(value, MIN_PANE), MAX_PANE))
    if isinstance(values.get("conversations"), bool):
        current["conversations"] = values["conversations"]
    return Layout(**current)
