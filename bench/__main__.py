"""`python -m bench`: KneeTrack measured against its own ceilings (needs PostgreSQL and wrk).

A developer tool beside the app, never imported by it (the wheel ships `app/` only)."""

from __future__ import annotations

from typing import Annotated

import typer

cli = typer.Typer(add_completion=False)


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
    replicas: Annotated[
        int,
        typer.Option(
            help="Also run the multi-worker product scenarios on this many replicas (one "
            "worker each) behind HAProxy with deploy/haproxy.cfg (2; 0 = off; needs haproxy)"
        ),
    ] = 0,
    product_python: Annotated[
        str | None,
        typer.Option(
            help="Python of the environment the product servers run in (default: this one; "
            "`make bench-venv` makes .bench-venv, the production install without dev packages)"
        ),
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
        replicas=replicas,
        command="python -m bench " + " ".join(sys.argv[1:]),
        product_python=product_python or sys.executable,
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


if __name__ == "__main__":
    cli()
