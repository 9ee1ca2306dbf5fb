"""Each of the project's processing jobs (training and monitoring pipelines), run inside the
project's image as SageMaker starts it, writes what the Docker-free executor wrote for the same step
on the same inputs.

The Docker-free executor runs the scripts with the venv's interpreter and ``OPT_ML_DIR``; here the
same step's resolved arguments (from the executor's record: image, ``ContainerEntrypoint``,
``ContainerArguments``, ``Environment``, input and output ``LocalPath``) drive ``docker run`` with the
inputs the executor read staged under a real ``/opt/ml``. A package missing from the image, an
entry point that does not resolve inside it, or a path that only works outside a container fails
here instead of in AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from localcloud import ExecutionRecord, LocalAws, s3_objects
from localcloud.sagemaker.executor.steps.container import host_path, write_resource_config
from processing_scripts import contract
from processing_scripts.evaluate import COMPARISON_HEADING as COMPARISON
from tests.containers import engine
from tests.containers.outputs import differences, files_under, s3_files, without_section

# Every processing step of the two pipelines; all run the project's image.
JOB_STEPS = (
    ("training", "Preprocess"),
    ("training", "Baseline"),
    ("training", "Evaluate"),
    ("monitoring", "MonitorDataQuality"),
)


def _stage(aws: LocalAws, arguments: dict[str, Any], opt_ml: Path) -> None:
    """What SageMaker Processing puts into the container before the job starts."""
    s3 = aws.clients.s3
    for item in arguments.get("ProcessingInputs") or []:
        source = item["S3Input"]
        destination = host_path(opt_ml, source["LocalPath"], item["InputName"])
        destination.mkdir(parents=True, exist_ok=True)
        s3_objects.download(s3, source["S3Uri"], s3_objects.list_objects(s3, source["S3Uri"]), destination)
    for item in arguments["ProcessingOutputConfig"]["Outputs"]:
        host_path(opt_ml, item["S3Output"]["LocalPath"], item["OutputName"]).mkdir(parents=True)
    write_resource_config(opt_ml, contract.ProcessingJob.RESOURCE_CONFIG, "algo-1", ["algo-1"])


StagedRun = Callable[..., tuple[engine.JobOutcome, Path]]


@pytest.fixture
def run_in_image(
    docker_client: engine.docker.DockerClient, project_image: str, local_aws: LocalAws, tmp_path: Path
) -> StagedRun:
    """Stage a processing step's inputs under a fresh ``/opt/ml``, let ``prepare`` change them,
    then run the step's resolved arguments in the project's image; returns the outcome and the
    directory that was ``/opt/ml``."""

    def run(
        arguments: dict[str, Any], prepare: Callable[[Path], None] = lambda _: None
    ) -> tuple[engine.JobOutcome, Path]:
        app = arguments["AppSpecification"]
        assert app["ImageUri"] == project_image  # the definition names the image this checkout builds
        opt_ml = tmp_path / "opt_ml"
        _stage(local_aws, arguments, opt_ml)
        prepare(opt_ml)
        outcome = engine.run_job(
            docker_client,
            project_image,
            entrypoint=app["ContainerEntrypoint"],
            arguments=app.get("ContainerArguments") or [],
            opt_ml_dir=opt_ml,
            environment={**(arguments.get("Environment") or {}), **local_aws.process_environment()},
        )
        return outcome, opt_ml

    return run


@pytest.mark.parametrize(("pipeline", "step_name"), JOB_STEPS)
def test_job_in_the_image_writes_what_the_docker_free_executor_wrote(
    pipeline: str,
    step_name: str,
    run_in_image: StagedRun,
    local_aws: LocalAws,
    request: pytest.FixtureRequest,
) -> None:
    run: ExecutionRecord = request.getfixturevalue(f"{pipeline}_run")  # only the pipeline it needs
    arguments = run.steps[step_name].arguments

    outcome, opt_ml = run_in_image(arguments)

    assert outcome.exit_code == 0, outcome.tail()
    for item in arguments["ProcessingOutputConfig"]["Outputs"]:
        output = item["S3Output"]
        in_container = files_under(host_path(opt_ml, output["LocalPath"], item["OutputName"]))
        by_executor = s3_files(local_aws.clients.s3, output["S3Uri"])
        assert in_container, f"{step_name} wrote nothing to {output['LocalPath']}"
        if step_name == "Evaluate":
            # The comparison is with what the endpoint serves when the job runs: nothing when the
            # executor ran it (before that run's Deploy), that run's model now. The rest must agree.
            for files in (in_container, by_executor):
                files[contract.REPORT_FILE] = without_section(files[contract.REPORT_FILE], COMPARISON)
        assert differences(in_container, by_executor) == [], item["OutputName"]


def _drop_label_column_name(opt_ml: Path) -> None:
    for raw in host_path(opt_ml, contract.Preprocess.RAW, "raw").rglob("*.csv"):
        header, *rows = raw.read_text().splitlines()
        raw.write_text("\n".join([header.rsplit(",", 1)[0], *rows]) + "\n")


def test_bad_input_in_the_image_is_one_line_in_the_exit_message(
    run_in_image: StagedRun, training_run: ExecutionRecord
) -> None:
    """The JobInputError contract holds inside the container: exit 1 and the reason in
    /opt/ml/output/message (what DescribeProcessingJob shows as ExitMessage), no traceback."""
    outcome, opt_ml = run_in_image(training_run.steps["Preprocess"].arguments, _drop_label_column_name)

    assert outcome.exit_code == 1, outcome.tail()
    assert "Traceback" not in outcome.logs
    message = host_path(opt_ml, contract.ProcessingJob.EXIT_MESSAGE, "exit message").read_text()
    assert "missing column(s) 'rings'" in message
    assert "\n" not in message.strip()
