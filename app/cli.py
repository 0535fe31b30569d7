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
    """Load a demo data set: a clinician and a few patients with 12 weeks of data."""
    from app.demo import load_demo

    for line in load_demo(password=password):
        typer.echo(line)


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


BENCH_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/kneetrack_bench"


@cli.command()
def bench(
    quick: Annotated[
        bool, typer.Option(help="Smoke run for CI: tiny seed, 1 worker, 1 run of 1 s")
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL database to (re)create and seed; its name must contain 'bench'. "
            "Default: DATABASE_URL when it is PostgreSQL, else " + BENCH_DATABASE_URL
        ),
    ] = None,
    patients: Annotated[int, typer.Option(help="Seeded patients (2 years each)")] = 10_000,
    duration: Annotated[float, typer.Option(help="Seconds per measured run")] = 3.0,
    runs: Annotated[int, typer.Option(help="Runs per scenario (the median is reported)")] = 3,
    workers: Annotated[str, typer.Option(help="uvicorn worker counts to measure")] = "1,2",
    only: Annotated[str, typer.Option(help="Comma-separated scenario keys (default all)")] = "",
    reuse: Annotated[
        bool, typer.Option(help="Reuse a database seeded by an earlier run with the same sizes")
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(help="Folder for py-spy profiles of each scenario's first timed run"),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            help="Markdown file for the table (default docs/BENCHMARKS.md; none with --quick)"
        ),
    ] = None,
) -> None:
    """Measure KneeTrack against its own ceilings (needs PostgreSQL and wrk)."""
    import os
    import sys
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from bench import report, runner

    url = database_url
    if url is None:
        env_url = os.environ.get("DATABASE_URL", "")
        url = env_url if env_url.startswith("postgres") else BENCH_DATABASE_URL
    if quick:  # a database of its own, so that smoke runs never meet a full run's data
        name = f"kneetrack_bench_quick_{os.getpid()}"
        url = make_url(url).set(database=name).render_as_string(hide_password=False)
    opts = runner.Options(
        database_url=url,
        patients=40 if quick else patients,
        small=20 if quick else 200,
        writers=64 if quick else 2048,
        duration=1 if quick else duration,
        runs=1 if quick else runs,
        warmup=0 if quick else 1,
        workers=(1,) if quick else tuple(int(w) for w in workers.split(",") if w.strip()),
        only=frozenset(k.strip() for k in only.split(",") if k.strip()),
        reuse=reuse and not quick,
        quick=quick,
        keep=not quick,
        profile=Path(profile) if profile else None,
        command="kneetrack " + " ".join(sys.argv[1:]),
    )
    outcome = runner.run(opts)
    typer.echo("\n" + report.render(outcome))
    target = output if output is not None else (None if quick else "docs/BENCHMARKS.md")
    if target:
        report.write_doc(Path(target), outcome)
        typer.echo(f"\nwritten to {target}")
    broken = [
        f"{m.scenario.key}: {m.status}" for m in outcome.results if m.status.startswith("error")
    ]
    if broken:  # a scenario that cannot run has rotted; slow figures never fail the run
        typer.echo("broken scenarios:\n  " + "\n  ".join(broken), err=True)
        raise typer.Exit(1)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
