"""The admin CLI: `create-user` (how the first admin comes to exist), `import-users`, and
`lti-register` / `lti-key` (LTI 1.3 platforms and the tool's key)."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import click
from flask import Flask

from shared.errors import DomainError
from shared.models import Role, utcnow
from web.extensions import db_session, send_emails, settings


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

    @app.cli.command("import-users")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--dry-run", is_flag=True, help="Check the file; change nothing.")
    def import_users(file: Path, dry_run: bool) -> None:
        """Create or update students from an .xlsx or .csv roster (all rows or none)."""
        from shared.people.imports import import_students

        session = db_session()
        with click.progressbar(length=1, label="Writing accounts") as bar:

            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            try:
                outcome = import_students(
                    session, settings(), file.name, file.read_bytes(),
                    dry_run=dry_run, now=utcnow(), progress=progress,
                )  # fmt: skip
            except DomainError as exc:
                raise click.ClickException(exc.message) from None
        for error in outcome.errors:
            where = f"row {error.row}" if error.row else "file"
            click.echo(f"{where}, {error.column or '-'}: {error.message}", err=True)
        if not outcome.ok:
            raise click.ClickException(f"{len(outcome.errors)} errors: nothing was imported")
        session.commit()
        send_emails(outcome.notification_ids)
        verb = "would create" if dry_run else "created"
        click.echo(
            f"{verb} {outcome.created}, updated {outcome.updated}, "
            f"groups created {outcome.groups_created}; "
            f"{len(outcome.notification_ids)} set-password emails queued"
        )

    @app.cli.command("verify-receipt")
    @click.argument("file", type=click.File("rb"))
    @click.option(
        "--public-key",
        default=None,
        help="base64 Ed25519 public key to check with; default: the configured "
        "RECEIPT_SIGNING_KEY's and RECEIPT_PREVIOUS_PUBLIC_KEYS, by the receipt's key_id.",
    )
    def verify_receipt(file: BinaryIO, public_key: str | None) -> None:
        """Check a submission receipt (JSON; - for stdin) against the stored answers."""
        import json

        from shared.trust import receipts

        try:
            data = json.loads(file.read())
            config = settings()
            key = (
                receipts.keyring(config.receipt_signing_key(), config.RECEIPT_PREVIOUS_PUBLIC_KEYS)
                if public_key is None
                else receipts.verifying_key(config.receipt_signing_key(), public_key)
            )
        except ValueError as exc:
            raise click.ClickException(f"not checked: {exc}") from None
        verdict = receipts.verify(db_session(), data, key)
        if not verdict.valid:
            raise click.ClickException(f"NOT VALID ({verdict.reason}): {verdict.detail}")
        click.echo(f"VALID: {verdict.detail} (attempt {data['attempt_id']})")

    register_lti_cli(app)


def register_lti_cli(app: Flask) -> None:
    @app.cli.command("lti-register")
    @click.option("--name", required=True, help="What admins call the platform.")
    @click.option("--issuer", required=True, help="The platform's issuer (iss).")
    @click.option("--client-id", required=True, help="Our client id on the platform.")
    @click.option("--auth-login-url", required=True, help="OIDC authorization endpoint.")
    @click.option("--auth-token-url", required=True, help="OAuth2 token endpoint.")
    @click.option("--key-set-url", required=True, help="The platform's JWKS URL.")
    @click.option("--deployment-id", "deployment_ids", multiple=True, required=True)
    @click.option(
        "--auth-audience", default=None, help="Client assertion aud, if not the token URL."
    )
    @click.option("--instructors-are-admins", is_flag=True, help="Instructors sign in as admins.")
    def lti_register(deployment_ids: tuple[str, ...], **fields: object) -> None:
        """Register an LTI 1.3 platform (Canvas, Moodle, ...) and print our URLs for it."""
        from shared.interop.lti import platforms
        from shared.interop.lti.flow import launch_url

        session = db_session()
        try:
            platform = platforms.register(
                session, {**fields, "deployment_ids": list(deployment_ids)}
            )
            session.commit()
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        base = settings().public_url + "/api/v1/lti"
        click.echo(f"registered {platform.name} ({platform.id})")
        click.echo(f"  login URL:    {base}/login")
        click.echo(f"  launch URL:   {launch_url(settings())}")
        click.echo(f"  JWKS URL:     {base}/jwks")

    @app.cli.command("lti-key")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def lti_key(path: Path) -> None:
        """Write a new RSA private key for LTI_PRIVATE_KEY_FILE (refuses to overwrite)."""
        from shared.interop.lti.keys import new_private_key_pem

        if path.exists():
            raise click.ClickException(f"{path} exists: not overwritten")
        path.write_bytes(new_private_key_pem())
        path.chmod(0o600)
        click.echo(f"wrote {path}; set LTI_PRIVATE_KEY_FILE={path}")
