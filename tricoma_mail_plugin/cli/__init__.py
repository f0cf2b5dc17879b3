"""``flask mail …``: the operators' commands. Each module adds its commands to the one group."""
from . import archive, mail, rights  # noqa: F401  (each adds its commands to mail_cli)
from ._group import mail_cli

__all__ = ["mail_cli"]
