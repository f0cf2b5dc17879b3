"""The host's Flask extension objects, created unbound and initialised by ``create_app``."""
from __future__ import annotations

from flask_login import LoginManager
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

from tricoma_mail_plugin import TricomaMail

from .template_i18n import HostBabel

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

def _host_directory():
    from .directory import HostDirectory  # it imports the models, which import this module

    return HostDirectory()


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
login_manager = LoginManager()
babel = HostBabel()  # translations looked up once per request (template_i18n.py)
migrate = Migrate()
csrf = CSRFProtect()
mail = TricomaMail(db, directory=_host_directory())
# Flask-Mail, as Flask hosts use it for their own mail (the password reset); tricoma mail
# queues what it sends in its outbox.
mailer = Mail()
