"""`flask --app web create-user`: how the first admin comes to exist."""

from __future__ import annotations

import click
from flask import Flask

from shared.errors import DomainError
from shared.models import Role
from web.extensions import db_session, settings


def register_cli(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--password", required=True, help="At least 8 characters.")
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.STUDENT.value)
    @click.option("--full-name", default="", help="Defaults to the part of the email before @.")
    def create_user(email: str, password: str, role: str, full_name: str) -> None:
        """Create an admin or a student account."""
        from shared.people.accounts import create_user as create

        session = db_session()
        try:
            user = create(
                session,
                settings(),
                email=email,
                password=password,
                full_name=full_name or email.split("@", 1)[0],
                role=role,
            )
            session.commit()
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"created {user.role} {user.email} ({user.id})")
