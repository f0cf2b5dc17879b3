"""The WSGI entry point for a production server: ``gunicorn -c python:hostapp.gunicorn_conf
hostapp.wsgi:app`` (see docs/deployment.md). The configuration comes from the environment
(``HOSTAPP_…``, see :func:`hostapp.create_app`)."""
from __future__ import annotations

from . import create_app

app = create_app()
