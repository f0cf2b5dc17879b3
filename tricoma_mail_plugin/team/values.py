"""The values team mail hands to plugins: :class:`TeamConversation` (defined with the event values,
since the ``team`` event's hooks receive it)."""
from ..events.values import TeamConversation

__all__ = ["TeamConversation"]
