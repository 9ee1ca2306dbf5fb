"""What is deployed, as the commands ask for it: a pipeline's definition, its executions and steps.

One place turns "not there" into the same one-line error and exit code (``NOT_FOUND``) for every
command (``diff``, ``start``, ``status``, ``stop``, ``retry``, ``logs``), and accepts an execution
by its id (``status training --execution 3k2j...``) as well as by its full ARN.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.cli.context import CliError
from pipelines.settings import Settings


def deployed_definition(sagemaker: Any, name: str) -> dict[str, Any] | None:
    """The deployed definition of pipeline ``name``, or None when there is no such pipeline."""
    try:
        described = sagemaker.describe_pipeline(PipelineName=name)
    except sagemaker.exceptions.ResourceNotFound:
        return None
    except Exception as err:  # moto and older endpoints answer ValidationException for a missing pipeline
        if _error_code(err) in ("ValidationException", "ResourceNotFound"):
            return None
        raise
    return json.loads(described["PipelineDefinition"])


def require_deployed(sagemaker: Any, name: str) -> dict[str, Any]:
    definition = deployed_definition(sagemaker, name)
    if definition is None:
        raise CliError(
            f"pipeline {name} is not deployed",
            "deploy it with `cdk deploy` (or `pipelines upsert` in dev), then try again",
            CliError.NOT_FOUND,
        )
    return definition


def executions(sagemaker: Any, name: str, limit: int) -> list[dict[str, Any]]:
    """The pipeline's latest ``limit`` executions, newest first."""
    response = sagemaker.list_pipeline_executions(
        PipelineName=name, SortBy="CreationTime", SortOrder="Descending", MaxResults=limit
    )
    return response.get("PipelineExecutionSummaries", [])[:limit]


def execution_arn(settings: Settings, sagemaker: Any, name: str, execution: str | None) -> str:
    """The ARN of the execution the user means: the latest when None, else an id or a full ARN of
    one of this pipeline's executions (checked, so a typo is one line rather than the service's
    error page)."""
    require_deployed(sagemaker, name)
    if execution is None:
        latest = executions(sagemaker, name, 1)
        if not latest:
            raise CliError(
                f"{name} has no executions yet",
                f"start one with `pipelines start {name}`",
                CliError.NOT_FOUND,
            )
        return str(latest[0]["PipelineExecutionArn"])
    arn = (
        execution if execution.startswith("arn:") else f"{settings.pipeline_arn(name)}/execution/{execution}"
    )
    paginator = sagemaker.get_paginator("list_pipeline_executions")
    for page in paginator.paginate(PipelineName=name):
        for summary in page.get("PipelineExecutionSummaries", []):
            if summary["PipelineExecutionArn"] == arn:
                return arn
    raise CliError(
        f"{name} has no execution {execution!r}",
        f"`pipelines list {name}` shows its executions (an id or the full ARN)",
        CliError.NOT_FOUND,
    )


def execution_steps(sagemaker: Any, arn: str) -> list[dict[str, Any]] | None:
    """The execution's steps, or None when the endpoint does not implement the call (moto)."""
    try:
        return sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=arn).get(
            "PipelineExecutionSteps", []
        )
    except Exception as err:
        if getattr(err, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") in (500, 501):
            return None
        if isinstance(err, NotImplementedError):
            return None
        raise


def _error_code(err: Exception) -> str | None:
    return getattr(err, "response", {}).get("Error", {}).get("Code")
