"""The `pipelines` command line (also `python -m pipelines`): one Typer app, commands by topic module.

Each topic module (``pipeline_commands``, ``monitor_commands``, ``local_commands``,
``loop_commands``, ...: :data:`COMMAND_MODULES`) exposes ``register(app)``. Errors a user can act on are
raised as :class:`CliError` (or are AWS errors, or Click's usage errors) and printed as one line with
a hint; the exit code (:mod:`pipelines.cli.exit_codes`) says what kind of failure it was.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from pathlib import Path

import typer
from rich.markup import escape
from typer._click.exceptions import NoArgsIsHelpError  # Typer's vendored Click: no public name

from pipelines.cli import global_options
from pipelines.cli.context import CliContext, CliError, console, console_err, describe_aws_error
from pipelines.cli.exit_codes import ExitCode
from pipelines.settings import REPO_ROOT
from processing_scripts import example

COMMAND_MODULES = (
    "pipelines.cli.pipeline_commands",
    "pipelines.cli.execution_commands",
    "pipelines.cli.approval_commands",
    "pipelines.cli.promotion_commands",
    "pipelines.cli.lineage_commands",
    "pipelines.cli.monitor_commands",
    "pipelines.cli.local_commands",
    "pipelines.cli.loop_commands",
    "pipelines.cli.callback_commands",
    "pipelines.cli.iam_commands",
    "pipelines.cli.data_commands",
    "pipelines.cli.label_commands",
    "pipelines.cli.variant_commands",
)

app = typer.Typer(
    name="pipelines",
    help="Synthesize, validate, deploy, start and run the project's SageMaker pipelines. "
    "Global options may also follow the command.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help, like the AWS CLI's: flags show no `<bool>`, and the text greps and pastes cleanly.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version() -> str:
    """The project's version (pyproject.toml, the one place it is written) and the SDK it runs."""
    import tomllib
    from importlib.metadata import version

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return f"{project['name']} {project['version']} (sagemaker SDK {version('sagemaker')}, Python {sys.version.split()[0]})"


def _print_version(requested: bool) -> None:
    if requested:
        console.print(_version(), highlight=False)
        raise typer.Exit()


@app.callback()
def _global_options(  # noqa: PLR0917 (typer maps each parameter to an option)
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", envvar="MLOPS_ENV", help="Environment: dev or prod."),
    profile: str = typer.Option(None, "--profile", envvar="AWS_PROFILE", help="AWS profile."),
    region: str = typer.Option(
        None,
        "--region",
        help="AWS region (default: MLOPS_REGION, AWS_REGION, AWS_DEFAULT_REGION, CDK_DEFAULT_REGION, "
        "then us-east-1).",
    ),
    endpoint_url: str = typer.Option(
        None, "--endpoint-url", envvar="MLOPS_AWS_ENDPOINT_URL", help="AWS API endpoint, e.g. a moto server."
    ),
    example_name: str = typer.Option(
        None,
        "--example",
        envvar=example.EXAMPLE_ENV,
        help=f"The example (a folder of examples/) whose data and model to use (default: {example.DEFAULT_EXAMPLE}).",
    ),
    _version_flag: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    obj: CliContext = ctx.ensure_object(CliContext)  # main's, so its error handling sees the endpoint
    obj.env, obj.profile, obj.region, obj.endpoint_url = env, profile, region, endpoint_url
    if example_name:
        # The whole process works on one example: settings, the local endpoint's inference code, the
        # traffic generator and the local jobs all read MLOPS_EXAMPLE (processing_scripts/example.py).
        os.environ[example.EXAMPLE_ENV] = example_name


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)

# The global options that take a value (all of them but --version), for hoisting.
GLOBAL_VALUE_OPTIONS = frozenset(
    name
    for parameter in inspect.signature(_global_options).parameters.values()
    if isinstance(parameter.default, typer.models.OptionInfo) and parameter.annotation == "str"
    for name in parameter.default.param_decls or ()
)


def _prog_name() -> str:
    """What the user typed: the console script `pipelines`, or `python -m pipelines`."""
    return "pipelines" if Path(sys.argv[0]).name == "pipelines" else "python -m pipelines"


def main(argv: list[str] | None = None) -> None:
    """Entry point (the `pipelines` console script and `python -m pipelines`): run the app, turning
    known failures into one line, a hint and the documented exit code."""
    args = global_options.hoist(sys.argv[1:] if argv is None else argv, GLOBAL_VALUE_OPTIONS)
    obj = CliContext()
    try:
        code = app(args=args, prog_name=_prog_name(), standalone_mode=False, obj=obj)
    except CliError as err:
        _fail(err.message, err.hint, err.exit_code)
    except NoArgsIsHelpError as err:
        console.print(err.format_message(), markup=False, highlight=False)
        sys.exit(ExitCode.USAGE)
    except typer.TyperException as err:  # Click's usage errors: bad option, missing argument
        failed_in = getattr(err, "ctx", None)
        command = failed_in.command_path if failed_in else _prog_name()
        _fail(err.format_message(), f"`{command} -h` lists the arguments", err.exit_code)
    except typer.Abort:  # end of input at a confirmation prompt
        _fail("no answer to the confirmation; nothing changed", "pass --yes to confirm", ExitCode.DECLINED)
    except KeyboardInterrupt:
        _fail("stopped (Ctrl-C)", "", ExitCode.INTERRUPTED)
    except Exception as err:  # AWS errors are expected operational failures, not bugs
        described = describe_aws_error(err, obj.endpoint_url)
        if described is None:
            raise
        _fail(*described, ExitCode.AWS)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _fail(message: str, hint: str, code: int) -> None:
    """Messages quote user input and file content: printed as text, never as rich markup."""
    console_err.print(f"[bold red]error:[/] {escape(message)}")
    if hint:
        console_err.print(f"[dim]hint:[/] {escape(hint)}")
    sys.exit(code)
