"""The `python -m pipelines` command line: one Typer app, commands registered by topic module.

Each topic module (``pipeline_commands``, ``monitor_commands``, ``local_commands``,
``loop_commands``, ``data_commands``: :data:`COMMAND_MODULES`) exposes ``register(app)``. Errors a user can act on are raised as :class:`CliError` (or are AWS errors) and
printed as one line with a hint; the exit code says what kind of failure it was.
"""

from __future__ import annotations

import importlib
import sys

import typer

from pipelines.cli.context import CliContext, CliError, console_err, describe_aws_error

COMMAND_MODULES = (
    "pipelines.cli.pipeline_commands",
    "pipelines.cli.monitor_commands",
    "pipelines.cli.local_commands",
    "pipelines.cli.loop_commands",
    "pipelines.cli.data_commands",
)

app = typer.Typer(
    name="pipelines",
    help="Synthesize, validate, deploy, start and run the project's SageMaker pipelines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", envvar="MLOPS_ENV", help="Environment: dev or prod."),
    profile: str = typer.Option(None, "--profile", envvar="AWS_PROFILE", help="AWS profile."),
    region: str = typer.Option(None, "--region", help="AWS region (default: the environment's)."),
    endpoint_url: str = typer.Option(
        None, "--endpoint-url", envvar="MLOPS_AWS_ENDPOINT_URL", help="AWS API endpoint, e.g. a moto server."
    ),
) -> None:
    ctx.obj = CliContext(env=env, profile=profile, region=region, endpoint_url=endpoint_url)


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning known failures into one clear line and an exit code."""
    try:
        app(args=argv, prog_name="python -m pipelines")
    except CliError as err:
        console_err.print(f"[bold red]error:[/] {err.message}")
        if err.hint:
            console_err.print(f"[dim]hint:[/] {err.hint}")
        sys.exit(err.exit_code)
    except Exception as err:  # AWS errors are expected operational failures, not bugs
        described = describe_aws_error(err)
        if described is None:
            raise
        message, hint = described
        console_err.print(f"[bold red]error:[/] {message}")
        console_err.print(f"[dim]hint:[/] {hint}")
        sys.exit(CliError.AWS)
