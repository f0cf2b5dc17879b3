"""The host the tests run the plugin in: here the demo ERP host of tricoma mail."""
from hostapp import create_app
from hostapp.extensions import db
from hostapp.models import User


def pytest_tricoma_mail_create_app(config):
    return create_app(config)


def pytest_tricoma_mail_create_user(username, admin):
    user = User(username=username, display_name=username.title(), is_admin=admin)
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.commit()
    return user
