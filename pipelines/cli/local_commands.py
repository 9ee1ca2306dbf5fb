"""`run-local`: run a pipeline definition on this machine (moto on 127.0.0.1, no Docker, no AWS).

The pipeline is the project's (``training``), a definition JSON file, or a user's own code
(``path/to/pipeline.py:get_pipeline``, the SageMaker Projects convention), built in the user's
interpreter against the running emulator (see :mod:`localcloud.user_pipeline`). A pipeline that is
not the project's brings its data (``--seed``), its Lambda handlers (``--lambda``) and, for the
steps that cannot run here, their outputs (``--stub``): see docs/local-execution.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from pipelines.cli import report_links
from pipelines.cli.context import CliContext, CliError, console
from pipelines.cli.definitions import parameter_error, read_definition_file, resolve_pipeline_name
from pipelines.definition import parse_assignments
from pipelines.synth import DEFAULT_OUT_DIR


def run_local(
    ctx: typer.Context,
    pipeline: str = typer.Argument(
        ...,
        help="training | monitoring | a full pipeline name | a definition JSON file | "
        "path/to/pipeline.py:get_pipeline (your code builds it, in your Python).",
    ),
    *,
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter override K=V (repeatable)."),
    seed: list[str] = typer.Option(
        [],
        "--seed",
        help="LOCAL_PATH=s3://bucket/key: a file or folder put into the emulator's S3 (repeatable).",
    ),
    stub: list[str] = typer.Option(
        [],
        "--stub",
        help="STEP=outputs.json: do not run STEP; its properties come from the file (repeatable).",
    ),
    lambda_: list[str] = typer.Option(
        [],
        "--lambda",
        help="ARN_OR_NAME=path/handler.py:function: run that Lambda step's function from your handler (repeatable).",
    ),
    arg: list[str] = typer.Option(
        [],
        "--arg",
        "-a",
        help="key=value for a pipeline.py:function pipeline's keyword arguments (repeatable).",
    ),
    python: str = typer.Option(
        None,
        "--python",
        help="Your interpreter, for pipeline.py:function and --lambda (default: $MLOPS_USER_PYTHON, else python3).",
    ),
    runs_dir: Path = typer.Option(
        Path("build/runs"), "--runs-dir", help="Where records, logs and the cache go."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step even if a cached result exists."),
    cdk_out: Path = typer.Option(
        None, "--cdk-out", help="A cloud assembly (cdk.out) whose IAM policies every call is checked against."
    ),
) -> None:
    """Run a pipeline locally against an AWS emulator; exit 3 if it cannot run, 5 if the execution fails."""
    from localcloud import DefinitionError, EmulatorError, LocalCloud, ParameterError
    from localcloud.sagemaker.executor.progress import RichProgress
    from localcloud.user_pipeline import (
        InterpreterNotFoundError,
        PipelineTarget,
        UserPipelineError,
        build,
        user_python,
    )
    from pipelines.cli.local_options import read_local_options

    obj: CliContext = ctx.obj
    target = PipelineTarget.parse(pipeline)
    options = read_local_options(seed, stub, lambda_, arg)
    if arg and target is None:
        raise CliError("-a/--arg is for a pipeline.py:function pipeline", "pass it as -p Name=Value instead")
    try:
        interpreter = user_python(python) if target is not None or options.handlers else sys.executable
        overrides = parse_assignments(param)
        definitions = {} if target is not None else dict([_definition(obj, pipeline)])
        progress = RichProgress(console)
        cloud = LocalCloud(
            obj.settings,
            definitions,
            cdk_out=cdk_out,
            runs_dir=runs_dir,
            use_cache=not no_cache,
            seeds=options.seeds,
            user_handlers=options.handlers,
            user_python=interpreter,
            progress=progress,
        )
        for name in definitions:
            cloud.prepare(name, overrides, stubs=options.stubs)  # refuse before the emulator starts
        with progress, cloud:
            if cloud.seeded:
                console.print(f"[dim]seeded {len(cloud.seeded)} object(s) into the emulator's S3[/]")
            if target is None:
                (name,) = definitions
            else:
                console.print(f"[dim]building {target} with {interpreter}[/]")
                built = build(
                    target, options.kwargs, python=interpreter, aws=cloud.aws, log_dir=runs_dir.resolve()
                )
                name = built.name
                cloud.add_pipeline(name, built.definition)
                cloud.prepare(name, overrides, stubs=options.stubs)  # built, but nothing has run
            record = cloud.run(name, overrides, stubs=options.stubs)
    except ParameterError as err:
        raise parameter_error(err) from err
    except DefinitionError as err:
        raise _cannot_run(err.problems) from err
    except InterpreterNotFoundError as err:
        raise CliError(str(err), "or set MLOPS_USER_PYTHON; docs/local-execution.md", CliError.USAGE) from err
    except UserPipelineError as err:
        raise CliError(
            # the user's get_pipeline raised: there is no valid definition to run
            str(err),
            "fix your module, or pass its arguments with -a key=value",
            CliError.INVALID,
        ) from err
    except EmulatorError as err:
        raise CliError(str(err), "see docs/local-execution.md", CliError.AWS) from err
    except KeyboardInterrupt:
        raise CliError(
            "stopped (Ctrl-C); the emulator is down, the record says where it stopped",
            exit_code=CliError.INTERRUPTED,
        ) from None
    _summary(record)
    report_links.show_runs(obj.settings, runs_dir, [record])
    if not record.succeeded:
        failed = next((s for s in record.steps.values() if s.failure_reason), None)
        log = f"{record.run_dir / failed.log_file}" if failed and failed.log_file else str(record.record_file)
        raise CliError(f"execution {record.status}: {record.failure_reason}", f"see {log}", CliError.FAILED)


def _cannot_run(problems: list[str]) -> CliError:
    """The pre-flight's findings: one line each, nothing has run."""
    message = "the definition cannot run locally (nothing ran)"
    if len(problems) == 1:
        message += f": {problems[0]}"
    else:
        message += ":" + "".join(f"\n  {problem}" for problem in problems)
    return CliError(
        message,
        "fix or stub the steps named above (`python -m pipelines validate` lists the definition's own findings)",
        CliError.INVALID,
    )


def _definition(obj: CliContext, pipeline: str) -> tuple[str, dict[str, Any]]:
    """A JSON path as given, else the synthesized build/pipelines/<name>.json (synth if missing)."""
    path = Path(pipeline)
    if path.suffix == ".json":
        return path.stem, read_definition_file(path)
    name = resolve_pipeline_name(obj.settings, pipeline)
    built = DEFAULT_OUT_DIR / f"{name}.json"
    if built.is_file():
        return name, read_definition_file(built)
    from pipelines.cli.definitions import local_definition

    console.print(f"[dim]{built} not found: synthesizing in-process[/]")
    return name, local_definition(obj.settings, name, None)


def _summary(record: Any) -> None:
    """The live table stays on screen; add what to do next with the result."""
    colour = "green" if record.succeeded else "red"
    console.print(f"[{colour}]{record.status}[/] {record.execution_arn}")
    if record.model_package_arn:
        console.print(f"registered {record.model_package_arn}")
    if record.stubbed_steps:
        console.print(f"[yellow]stubbed (not run, outputs from --stub): {', '.join(record.stubbed_steps)}[/]")
    hits = [name for name, step in record.steps.items() if step.cache_hit]
    if hits:
        console.print(f"[dim]from the cache: {', '.join(hits)} (--no-cache to run them again)[/]")
    console.print(f"record: {record.record_file}")
    console.print(f"[dim]parameters: {json.dumps(record.parameters, sort_keys=True)}[/]")


def register(app: typer.Typer) -> None:
    app.command("run-local")(run_local)
