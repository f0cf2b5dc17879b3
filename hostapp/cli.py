"""Command-line commands of the host: ``flask --app hostapp init-db | create-user | seed-demo``."""
from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, select

from tricoma_mail_plugin import migration_directories

from .extensions import db, migrate
from .models import Group, User

HOST_VERSIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations", "versions")

DEMO_PASSWORD = "demo-password"
DEMO_USERS = (
    # username, display name, e-mail, admin, language, groups
    ("admin", "Ada Admin", "admin@example.test", True, "de", ("Buchhaltung", "Vertrieb")),
    ("alice", "Alice Albers", "alice@example.test", False, "de", ("Buchhaltung",)),
    ("bob", "Bob Berger", "bob@example.test", False, "en", ("Vertrieb",)),
)


@migrate.configure
def _version_locations(config):
    config.set_main_option(
        "version_locations", os.pathsep.join([HOST_VERSIONS, *migration_directories()])
    )
    return config


def register(app: Flask) -> None:
    app.cli.add_command(init_db)
    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)


def upgrade_database() -> None:
    """Apply every migration of the host, of core and of the plugins."""
    upgrade(revision="heads")


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema (all migration branches)."""
    upgrade_database()
    click.echo("database is up to date")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--email", default=None)
@click.option("--name", "display_name", default="")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
@click.option("--language", type=click.Choice(["de", "en"]), default=None)
def create_user(username, password, email, display_name, admin, language) -> None:
    """Create a user of the host."""
    if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise click.ClickException(f"a user named {username} exists already")
    if len(password) < 8:
        raise click.ClickException("the password needs at least 8 characters")
    user = User(username=username, email=email, display_name=display_name, is_admin=admin,
                language=language)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created user {username} (id {user.id})")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo users and groups (idempotent). Prints the logins."""
    upgrade_database()
    groups = {}
    for name in sorted({group for *_, names in DEMO_USERS for group in names}):
        groups[name] = db.session.scalar(select(Group).where(Group.name == name)) or Group(name=name)
        db.session.add(groups[name])
    for username, display_name, email, admin, language, group_names in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(username=username, display_name=display_name, email=email,
                        is_admin=admin, language=language)
            user.set_password(DEMO_PASSWORD)
            db.session.add(user)
        user.groups = [groups[name] for name in group_names]
    db.session.commit()
    for username, _display, _email, admin, *_rest in DEMO_USERS:
        role = "admin" if admin else "user"
        click.echo(f"  {username:<6} / {DEMO_PASSWORD}  ({role})")
