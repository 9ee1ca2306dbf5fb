"""`run-local`: run a pipeline definition on this machine (moto on 127.0.0.1, no Docker, no AWS)."""

from __future__ import annotations

import json
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
        ..., help="training | monitoring | a full pipeline name | a definition JSON file."
    ),
    param: list[str] = typer.Option([], "--param", "-p", help="Parameter override K=V (repeatable)."),
    runs_dir: Path = typer.Option(
        Path("build/runs"), "--runs-dir", help="Where records, logs and the cache go."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Run every step even if a cached result exists."),
) -> None:
    """Run a pipeline definition locally against an AWS emulator; exit 5 if the execution fails."""
    from localcloud import DefinitionError, EmulatorError, LocalCloud, ParameterError, prepare
    from localcloud.sagemaker.executor.progress import RichProgress

    obj: CliContext = ctx.obj
    settings = obj.settings
    name, definition = _definition(obj, pipeline)
    try:
        overrides = parse_assignments(param)
        prepare(definition, overrides)  # refuse before the emulator starts
        with (
            RichProgress(console) as progress,
            LocalCloud(
                settings, {name: definition}, runs_dir=runs_dir, use_cache=not no_cache, progress=progress
            ) as cloud,
        ):
            record = cloud.run(name, overrides)
    except ParameterError as err:
        raise parameter_error(err) from err
    except DefinitionError as err:
        raise CliError(
            "the definition cannot run: " + "; ".join(err.problems),
            "fix the step or field named above (`python -m pipelines validate` lists every finding)",
            CliError.INVALID,
        ) from err
    except EmulatorError as err:
        raise CliError(str(err), "see docs/local-execution.md", CliError.AWS) from err
    except KeyboardInterrupt:
        raise CliError(
            "stopped (Ctrl-C); the emulator is down, the record says where it stopped", exit_code=130
        ) from None
    _summary(record)
    report_links.show_runs(settings, runs_dir, [record])
    if not record.succeeded:
        failed = next((s for s in record.steps.values() if s.failure_reason), None)
        log = f"{record.run_dir / failed.log_file}" if failed and failed.log_file else str(record.record_file)
        raise CliError(f"execution {record.status}: {record.failure_reason}", f"see {log}", CliError.FAILED)


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
    hits = [name for name, step in record.steps.items() if step.cache_hit]
    if hits:
        console.print(f"[dim]from the cache: {', '.join(hits)} (--no-cache to run them again)[/]")
    console.print(f"record: {record.record_file}")
    console.print(f"[dim]parameters: {json.dumps(record.parameters, sort_keys=True)}[/]")


def register(app: typer.Typer) -> None:
    app.command("run-local")(run_local)
