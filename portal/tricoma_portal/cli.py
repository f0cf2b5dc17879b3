"""``flask --app tricoma_portal …``: set up the database, users, the demo, the purge."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from . import accounts, domain_orders, domains, mailboxes, provisioning_jobs
from .extensions import db
from .hosting_access import hosting_stack
from .models import ROLE_OPERATOR, Tenant


def register(app: Flask) -> None:
    app.cli.add_command(create_operator)
    app.cli.add_command(purge_expired)
    app.cli.add_command(seed_demo)
    app.cli.add_command(restore_stack)


@click.command("create-operator")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_operator(email: str, password: str) -> None:
    """Add an operator of the hoster."""
    accounts.create_user(None, email, ROLE_OPERATOR, password=password)
    click.echo(f"operator {email} created")


@click.command("purge-expired")
def purge_expired() -> None:
    """Purge every mailbox whose grace period is over."""
    for login in mailboxes.purge_expired():
        click.echo(f"purged {login}")


@click.command("restore-stack")
def restore_stack() -> None:
    """Give the hosting stack every active domain's DKIM key and the hoster's zones again."""
    if hosting_stack() is None:
        raise click.ClickException("no hosting stack is configured (TRICOMA_PORTAL_HOSTING_STATE_DIR)")
    click.echo(f"{domains.restore_on_stack()} domains restored on the hosting stack")


@click.command("seed-demo")
@click.option("--domain", "domain_name", default="example-hosted.test")
@click.option("--contact", default="admin@demo-kunde.test", help="where the customer's mails go")
@click.option("--wait", default=15.0, help="seconds to wait for the demo mailboxes to be active")
def seed_demo(domain_name: str, contact: str, wait: float) -> None:
    """A demo operator, a demo customer with an admin and a user, an active demo domain (its zone
    served by the hosting stack's DNS) and two demo mailboxes. Prints the logins; does nothing on
    a database that has customers already."""
    if db.session.scalar(select(Tenant.id).limit(1)) is not None:
        raise click.ClickException("the portal's database has customers already; nothing seeded")
    operator, operator_password = accounts.create_user(
        None, "operator@portal.test", ROLE_OPERATOR, display_name="Olga Operator",
        password="operator-demo")
    tenant, admin, admin_password = accounts.create_tenant(
        "Demo GmbH", contact, language="de", admin_email="admin@demo-kunde.test",
        admin_password="admin-demo-1")
    user, user_password = accounts.create_user(
        tenant.id, "user@demo-kunde.test", "customer_user", display_name="Ulla User",
        password="user-demo-12", language="de")
    order = domain_orders.order_domain(tenant.id, admin.id, domain_name)
    domain_orders.complete(order, operator.id)
    if hosting_stack() is not None:
        domains.restore_on_stack()  # the demo domain's zone on the stack's DNS
    created = [mailboxes.create_mailbox(tenant.id, name, order.domain_id, display_name=title)
               for name, title in (("info", "Info"), ("anna", "Anna Albers"))]
    provisioning_jobs.wait_all(wait)
    click.echo("Portal logins (e-mail / password):")
    for who, password in ((operator, operator_password), (admin, admin_password),
                          (user, user_password)):
        click.echo(f"  {who.email} / {password}   ({who.role})")
    click.echo("Demo mailboxes (IMAP/SMTP login / password):")
    for mailbox, password in created:
        db.session.refresh(mailbox)
        click.echo(f"  {mailbox.login} / {password}   ({mailbox.state})")
