"""The host's CLI: init-db, create-user, seed-demo."""
from sqlalchemy import select

from hostapp.extensions import db
from hostapp.models import User


def test_create_user_and_refuse_a_duplicate(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "carla", "--password", "longenough", "--admin"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(args=["create-user", "Carla", "--password", "longenough"])
    assert again.exit_code != 0 and "exists already" in again.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "carla"))
        assert user.is_admin and user.check_password("longenough")


def test_seed_demo_is_idempotent_and_prints_logins(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "admin" in first.output and "demo-password" in first.output
    with app.app_context():
        assert db.session.query(User).count() == 3
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        assert admin.is_admin and {g.name for g in admin.groups} == {"Buchhaltung", "Vertrieb"}


def test_init_db_on_an_up_to_date_database(app):
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0 and "up to date" in result.output
