"""`flask --app wsgi create-admin EMAIL --name NAME`: the first administrator of a new portal.

Production starts from an empty database (no demo accounts), so somebody has to be first: this
makes that admin on a database with no active administrator and prints their invitation link
once, valid for a day. It is not mailed: whoever runs the command hands it over. Later staff are
added by an administrator on the Staff accounts page.
"""
import click
from flask import current_app
from flask.cli import with_appcontext

from portal.auth import staff
from portal.auth.service import EmailTaken


@click.command("create-admin")
@with_appcontext  # the `flask` executable pushes one itself; the test CLI runner does not
@click.argument("email")
@click.option("--name", required=True, help="The administrator's full name, as the portal shows it.")
def create_admin_command(email: str, name: str):
    """Make the first administrator and print their invitation link (once; it works for 24 hours)."""
    try:
        user, path = staff.create_first_admin(name=name, email=email)
    except staff.StaffChangeRefused as refused:
        raise click.ClickException(refused.message) from None
    except EmailTaken:
        raise click.ClickException(f"{email.strip().lower()} already has an account. Nothing was written.") from None
    click.echo(f"{user.name} <{user.email}> is an administrator. Open this link within 24 hours to choose a "
               "password, then log in and set up the authenticator app. It is shown only this once:")
    click.echo(current_app.config["PUBLIC_URL"] + path)
