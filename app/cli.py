"""The `kneetrack` command line."""

from __future__ import annotations

from typing import Annotated

import typer

cli = typer.Typer(
    help="KneeTrack: knee osteoarthritis tracking API.", no_args_is_help=True, add_completion=False
)


@cli.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    reload: Annotated[bool, typer.Option(help="Reload on code changes")] = False,
) -> None:
    """Start the API (with SQLite, the schema is created or upgraded first)."""
    import uvicorn

    from app.config import ensure_secret_key, get_settings
    from app.metrics import prepare_multiprocess_dir

    key_file = ensure_secret_key()
    if key_file is not None:
        typer.echo(
            f"KNEETRACK_SECRET_KEY is not set: signing tokens with the secret kept in {key_file}",
            err=True,
        )
    s = get_settings()
    prepare_multiprocess_dir()
    if s.is_sqlite:
        from app.migrate import upgrade_to_head

        upgrade_to_head()
    uvicorn.run(
        "app.main:app",
        host=host or s.host,
        port=port or s.port,
        workers=workers,
        reload=reload,
        # X-Forwarded-For is read by the app, and only from KNEETRACK_TRUSTED_PROXIES
        # (app/client_address.py): uvicorn would trust it from loopback by default.
        proxy_headers=False,
        server_header=False,
        log_config=None,
        # uvicorn's access log prints raw paths (patient ids, dates) and costs a log record per
        # request even when its logger is disabled: the app writes its own (route templates).
        access_log=False,
    )


@cli.command()
def migrate() -> None:
    """Upgrade the database schema to the latest migration."""
    from app.migrate import upgrade_to_head

    upgrade_to_head()
    typer.echo("database at head")


@cli.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's email")],
    password: Annotated[
        str, typer.Option(help="At least 10 characters", prompt=True, hide_input=True)
    ],
    display_name: Annotated[str, typer.Option(help="Name shown in the audit log")] = "Admin",
) -> None:
    """Create an administrator account (the first admin comes from here)."""
    from pydantic import ValidationError
    from sqlmodel import Session

    from app.auth.schemas import ClinicianIn
    from app.auth.service import create_user
    from app.db import get_engine
    from app.errors import AppError

    try:
        body = ClinicianIn(email=email, password=password, display_name=display_name)
    except ValidationError as exc:
        for e in exc.errors():
            typer.echo(f"{'.'.join(map(str, e['loc']))}: {e['msg']}", err=True)
        raise typer.Exit(2) from None
    with Session(get_engine()) as session:
        try:
            user = create_user(
                session,
                email=body.email,
                password=body.password,
                role="admin",
                display_name=body.display_name,
            )
        except AppError as exc:
            typer.echo(exc.detail, err=True)
            raise typer.Exit(1) from None
        session.commit()
        typer.echo(f"admin created: {user.id}")


@cli.command()
def demo(
    password: Annotated[
        str, typer.Option(help="Password for every demo account")
    ] = "kneetrack-demo",
) -> None:
    """Load a demo data set: a clinician and a few patients with 12 weeks of data (with
    SQLite, the schema is created or upgraded first, as `serve` does)."""
    from app.config import get_settings
    from app.demo import load_demo

    if get_settings().is_sqlite:
        from app.migrate import upgrade_to_head

        upgrade_to_head()

    for line in load_demo(password=password):
        typer.echo(line)


@cli.command("rebuild-state")
def rebuild_state(
    patient: Annotated[
        str | None, typer.Option(help="Only this patient (id); default every patient")
    ] = None,
) -> None:
    """Recompute the stored flag episodes and panel numbers from the rows (SPEC §5)."""
    import time
    import uuid

    from app.db import get_engine
    from app.trends.state_worker import rebuild

    try:
        ids = [uuid.UUID(patient)] if patient else None
    except ValueError:
        raise typer.BadParameter("not a patient id (a UUID)", param_hint="--patient") from None
    started = time.perf_counter()
    count = rebuild(get_engine(), patient_ids=ids)
    if ids and not count:
        typer.echo(f"no patient {patient} (or their data could not be read: see the log)", err=True)
        raise typer.Exit(1)
    typer.echo(f"patients recomputed: {count} in {time.perf_counter() - started:.1f} s")


@cli.command("purge-idempotency-keys")
def purge_idempotency_keys() -> None:
    """Delete expired Idempotency-Keys and their stored answers."""
    from sqlmodel import Session

    from app.db import get_engine, utcnow
    from app.idempotency.service import purge_expired

    with Session(get_engine()) as session:
        count = purge_expired(session, utcnow())
        session.commit()
    typer.echo(f"expired idempotency keys deleted: {count}")


@cli.command()
def openapi() -> None:
    """Write the OpenAPI document to openapi.json at the repository root (`make openapi`)."""
    from app.main import create_app
    from app.openapi import DOCUMENT, render

    DOCUMENT.write_text(render(create_app()), encoding="utf-8")
    typer.echo(f"wrote {DOCUMENT.name}")


@cli.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def bench(ctx: typer.Context) -> None:
    """Run the benchmark (`python -m bench`, a developer tool of the source checkout that the
    wheel does not ship): every option is passed on, e.g. `kneetrack bench --replicas 2`."""
    import importlib.util
    import os
    import sys

    if importlib.util.find_spec("bench.runner") is None:
        typer.echo("the benchmark lives in the source checkout: run this from its root", err=True)
        raise typer.Exit(2)
    # The same interpreter, a fixed module, the options as arguments: no shell involved.
    os.execv(sys.executable, [sys.executable, "-m", "bench", *ctx.args])  # noqa: S606


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
