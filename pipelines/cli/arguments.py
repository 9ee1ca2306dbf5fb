"""Arguments several commands take, declared once so they are spelled and explained the same way."""

from __future__ import annotations

import typer

from pipelines.settings import PIPELINES

PipelineArg = typer.Argument(..., help=f"Pipeline: {' | '.join(PIPELINES)} or its full name.")
ExecutionOpt = typer.Option(
    None, "--execution", help="Execution id or ARN (default: the latest); `list` shows them."
)
DefinitionFileOpt = typer.Option(
    None, "--definition-file", help="Use this JSON instead of synthesizing the definition in-process."
)
