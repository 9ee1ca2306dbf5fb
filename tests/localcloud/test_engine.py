"""The local executor's semantics on small definitions: parameters, references, conditions, caching,
retries, failures and the run record. Every step really runs (subprocesses against moto's server)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from localcloud import (
    DefinitionError,
    ExecutionStatus,
    LocalPipelineRunner,
    ParameterError,
    StepStatus,
    prepare,
)
from localcloud.sagemaker.executor.steps.base import Blocker, StepContext, StepResult, declares_blockers
from pipelines import settings as settings_module
from pipelines.definition import Step, read_definition
from pipelines.settings import Settings
from processing_scripts import s3_uri

RAW = "raw"
SETTINGS = settings_module.load("dev")
EMR_ARGUMENTS = {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "s3://bucket/job.jar"}}}


def _read(aws, uri: str) -> str:
    bucket, key = s3_uri.split(uri)
    return aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


def test_processing_stages_inputs_runs_the_entrypoint_and_uploads_outputs(runner, pipeline, local_aws):
    data = pipeline.parameter("InputDataUrl", "String", pipeline.settings.raw_data_uri)
    pipeline.processing(
        "Count",
        """
        rows = (inp("raw") / "abalone.csv").read_text().splitlines()
        config = json.loads(contract.host_path("/opt/ml/config/resourceconfig.json").read_text())
        (out("summary") / "summary.json").write_text(json.dumps({
            "rows": len(rows) - 1, "argv": sys.argv[1:], "host": config["current_host"],
            "stage": os.environ["STAGE"], "endpoint": os.environ["MLOPS_AWS_ENDPOINT_URL"],
            "inherited": "AWS_PROFILE" in os.environ,
        }))
        print("counted", len(rows) - 1)
        """,
        inputs={RAW: data},
        outputs=("summary",),
        arguments=["--window", pipeline.join("a", pipeline.get("Execution.PipelineName"), on="-")],
        environment={"STAGE": "test"},
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    step = record.steps["Count"]
    uri = step.properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert record.execution_id in uri  # Execution.PipelineExecutionId resolved into the path
    summary = json.loads(_read(local_aws, f"{uri}/summary.json"))
    assert summary == {
        "rows": 4177,
        "argv": ["--window", "a-demo"],
        "host": "algo-1",
        "stage": "test",
        "endpoint": local_aws.endpoint_url,
        "inherited": False,
    }
    log = (record.run_dir / step.log_file).read_text()
    assert "counted 4177" in log
    assert step.properties["ProcessingJobName"].startswith(f"pipelines-{record.execution_id}-Count-")


def test_a_relative_runs_dir_works_as_the_cli_default_does(pipeline, local_aws, tmp_path, monkeypatch):
    """`run-local` and `demo` default to relative folders (build/...); steps run elsewhere."""
    monkeypatch.chdir(tmp_path)
    data = pipeline.parameter("InputDataUrl", "String", pipeline.settings.raw_data_uri)
    pipeline.processing(
        "Count",
        'rows = (inp("raw") / "abalone.csv").read_text().splitlines()\nprint("counted", len(rows) - 1)',
        inputs={RAW: data},
        outputs=("summary",),
    )
    runner = LocalPipelineRunner(pipeline.settings, local_aws, Path("build/runs"))
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    assert record.run_dir.is_absolute() and record.run_dir.is_relative_to(tmp_path / "build" / "runs")
    assert "counted 4177" in (record.run_dir / record.steps["Count"].log_file).read_text()


def test_sharded_input_gives_each_instance_its_own_keys(runner, pipeline, local_aws):
    bucket = pipeline.settings.bucket_name("data")
    for index in range(4):
        local_aws.clients.s3.put_object(Bucket=bucket, Key=f"shards/part-{index}.csv", Body=b"1\n")
    pipeline.processing(
        "Shard",
        """
        host = json.loads(contract.host_path("/opt/ml/config/resourceconfig.json").read_text())["current_host"]
        seen = sorted(p.name for p in inp("parts").iterdir())
        (out("seen") / f"{host}.json").write_text(json.dumps(seen))
        """,
        inputs={"parts": f"s3://{bucket}/shards/"},
        outputs=("seen",),
        instances=2,
        sharded=True,
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    uri = record.steps["Shard"].properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    seen = {host: json.loads(_read(local_aws, f"{uri}/{host}.json")) for host in ("algo-1", "algo-2")}
    assert seen == {"algo-1": ["part-0.csv", "part-2.csv"], "algo-2": ["part-1.csv", "part-3.csv"]}


def test_more_processing_instances_than_sagemaker_allows_fail_the_step(runner, pipeline):
    pipeline.processing("TooMany", "pass", instances=101)
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.FAILED
    assert "InstanceCount must be 1 to 100, got 101" in (record.failure_reason or "")


def _echo_pipeline(pipeline):
    count = pipeline.parameter("Rounds", "Integer", 3)
    rate = pipeline.parameter("Rate", "Float", 0.5)
    flag = pipeline.parameter("Enabled", "Boolean", False)
    status = pipeline.parameter("Status", "String", "Approved", EnumValues=["Approved", "Rejected"])
    pipeline.processing(
        "Echo",
        """(out("echo") / "args.json").write_text(json.dumps(sys.argv[1:]))""",
        outputs=("echo",),
        arguments=[pipeline.join(count, rate, flag, status, on=",")],
    )
    return pipeline.definition()


def test_parameters_use_defaults_and_typed_overrides(runner, pipeline, local_aws):
    definition = _echo_pipeline(pipeline)
    default = runner.run(definition, pipeline_name="demo")
    override = runner.run(
        definition,
        {"Rounds": "7", "Rate": "2", "Enabled": "TRUE", "Status": "Rejected"},
        pipeline_name="demo",
    )

    def echoed(record):
        uri = record.steps["Echo"].properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        return json.loads(_read(local_aws, f"{uri}/args.json"))

    assert echoed(default) == ["3,0.5,false,Approved"]
    assert echoed(override) == ["7,2.0,true,Rejected"]
    assert override.parameters == {"Rounds": 7, "Rate": 2.0, "Enabled": True, "Status": "Rejected"}


def test_bad_parameters_are_rejected_before_anything_runs(runner, pipeline):
    """The rules themselves are tested with the model (tests/pipelines/test_definition_parameters.py)."""
    with pytest.raises(ParameterError) as raised:
        runner.run(_echo_pipeline(pipeline), {"Round": "3", "Rounds": "3.0"}, pipeline_name="demo")
    assert raised.value.problems == [
        "unknown parameter 'Round' (declared: Enabled, Rate, Rounds, Status)",
        "parameter Rounds: Integer expects a whole number such as 3, got '3.0'",
    ]
    assert not runner.runs_dir.exists()  # no execution directory, no record: nothing ran


def test_a_definition_with_errors_is_refused_with_the_findings_validate_prints(runner, pipeline):
    pipeline.processing("A", "pass", arguments=[pipeline.get("Parameters.Missing")], DependsOn=["Ghost"])
    pipeline.processing("B", "pass", arguments=[pipeline.get("Steps.Nowhere.ProcessingJobName")])
    definition = pipeline.definition()
    with pytest.raises(DefinitionError) as raised:
        runner.run(definition, pipeline_name="demo")
    assert raised.value.problems == [str(f) for f in read_definition(definition).errors]
    assert raised.value.problems == [
        "A: Steps[0].Arguments.AppSpecification.ContainerArguments[0]: "
        "parameter 'Missing' is not declared in Parameters",
        "A: Steps[0].DependsOn[0]: DependsOn names step 'Ghost', which does not exist",
        "B: Steps[1].Arguments.AppSpecification.ContainerArguments[0]: "
        "'Steps.Nowhere.ProcessingJobName' refers to a step that does not exist",
    ]
    assert not runner.runs_dir.exists()


def test_a_valid_step_type_without_a_local_runner_is_refused_before_anything_runs(runner, pipeline):
    pipeline.processing("A", "pass")
    pipeline.add({"Name": "Cluster", "Type": "EMR", "Arguments": EMR_ARGUMENTS})
    with pytest.raises(DefinitionError) as raised:
        runner.run(pipeline.definition(), pipeline_name="demo")
    (problem,) = raised.value.problems
    assert problem.startswith("Cluster: Steps[1].Type: this EMR step cannot run locally (runs: Processing, ")
    assert problem.endswith("; pass --stub Cluster=outputs.json")
    assert not runner.runs_dir.exists()


def test_every_blocker_and_every_bad_parameter_come_out_together(runner, pipeline):
    """One attempt shows everything, so the outcome is the same with or without ``-p``."""
    pipeline.parameter("Rows", "Integer")  # no default
    pipeline.processing("A", "pass")
    pipeline.add({"Name": "Cluster", "Type": "EMR", "Arguments": EMR_ARGUMENTS})
    pipeline.add({"Name": "Cleanup", "Type": "EMR", "Arguments": EMR_ARGUMENTS})
    for overrides in ({}, {"Rows": "many"}):
        with pytest.raises(DefinitionError) as raised:
            runner.run(pipeline.definition(), overrides, pipeline_name="demo")
        cluster, cleanup, rows = raised.value.problems
        assert cluster.startswith("Cluster: ") and cleanup.startswith("Cleanup: ")
        assert "Rows" in rows
    assert not runner.runs_dir.exists()


def test_a_stubbed_step_does_not_run_and_later_steps_read_its_properties(runner, pipeline, local_aws):
    pipeline.add(
        {"Name": "Cluster", "Type": "EMR", "Arguments": {**EMR_ARGUMENTS, "ClusterId": "from-arguments"}}
    )
    pipeline.processing(
        "Use",
        'print("cluster", sys.argv[1], sys.argv[2])',
        arguments=[pipeline.get("Steps.Cluster.Id"), pipeline.get("Steps.Cluster.Status.State")],
    )
    stub = {"Id": "s-123", "Status": {"State": "COMPLETED"}}  # EMR's DescribeStep shape
    record = runner.run(pipeline.definition(), pipeline_name="demo", stubs={"Cluster": stub})

    assert record.succeeded, record.failure_reason
    cluster = record.steps["Cluster"]
    assert cluster.stubbed and cluster.status == StepStatus.SUCCEEDED
    # the step's arguments (as SageMaker's Describe* echoes them), then the stub's keys
    assert cluster.properties == {**EMR_ARGUMENTS, "ClusterId": "from-arguments", **stub}
    assert "cluster s-123 COMPLETED" in (record.run_dir / record.steps["Use"].log_file).read_text()
    assert record.stubbed_steps == ["Cluster"]
    assert json.loads(record.record_file.read_text())["steps"][0]["stubbed"] is True


def test_a_stub_for_a_step_that_does_not_exist_is_refused(runner, pipeline):
    pipeline.processing("A", "pass")
    with pytest.raises(
        DefinitionError, match=r"--stub Typo: the definition has no step 'Typo' \(its steps: A\)"
    ):
        runner.run(pipeline.definition(), pipeline_name="demo", stubs={"Typo": {}})


def test_a_runner_declares_what_it_cannot_do_and_the_pre_flight_reports_it(pipeline):
    """The hook new runners use: the problem comes out before anything runs, with its option."""

    def no_gpus(step: Step, _settings: Settings) -> list[Blocker]:
        resources = step.arguments.get("ProcessingResources", {}).get("ClusterConfig", {})
        return [Blocker("GPU instances", "--param InstanceType=ml.m5.xlarge")] * ("p3" in str(resources))

    @declares_blockers(no_gpus)
    def run_gpu_processing(ctx: StepContext) -> StepResult:
        raise AssertionError("never runs")

    pipeline.processing("Train", "pass")
    pipeline.steps[0]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"] = "ml.p3.2xlarge"
    with pytest.raises(DefinitionError) as raised:
        prepare(pipeline.definition(), runners={"Processing": run_gpu_processing}, settings=SETTINGS)
    assert raised.value.problems == ["Train: GPU instances; pass --param InstanceType=ml.m5.xlarge"]
    prepare(
        pipeline.definition(), runners={"Processing": run_gpu_processing}, stubs={"Train"}, settings=SETTINGS
    )  # stubbed: fine


def test_dependency_cycles_are_rejected(runner, pipeline):
    pipeline.processing("A", "pass", DependsOn=["B"])
    pipeline.processing("B", "pass", arguments=[pipeline.get("Steps.A.ProcessingJobName")])
    with pytest.raises(DefinitionError, match="A: Steps\\[0\\]: dependency cycle: A -> B -> A"):
        runner.run(pipeline.definition(), pipeline_name="demo")


def _gated_pipeline(pipeline):
    """Write a metric, compare it (JsonGet on a property file) with a threshold, branch."""
    threshold = pipeline.parameter("Threshold", "Float", 3.0)
    pipeline.processing(
        "Evaluate",
        """(out("evaluation") / "evaluation.json").write_text(json.dumps({"metrics": {"rmse": {"value": 2.5}}}))""",
        outputs=("evaluation",),
        PropertyFiles=[
            {"PropertyFileName": "Report", "OutputName": "evaluation", "FilePath": "evaluation.json"}
        ],
    )
    rmse = {
        "Std:JsonGet": {
            "PropertyFile": pipeline.get("Steps.Evaluate.PropertyFiles.Report"),
            "Path": "metrics.rmse.value",
        }
    }
    passed = pipeline.branch_step(
        pipeline.processing(
            "Publish",
            """(out("copy") / "seen.txt").write_text(sys.argv[1])""",
            inputs={"evaluation": pipeline.output_uri("Evaluate", "evaluation")},
            outputs=("copy",),
            arguments=[pipeline.join("rmse", rmse, on="=")],
        )
    )
    failed = pipeline.branch_step(
        pipeline.fail("TooHigh", pipeline.join("rmse", rmse, "above", threshold, on=" "))
    )
    pipeline.condition(
        "Gate",
        [{"Type": "LessThanOrEqualTo", "LeftValue": rmse, "RightValue": threshold}],
        [passed],
        [failed],
    )
    pipeline.processing("AfterPublish", "pass", DependsOn=["Publish"])
    return pipeline.definition()


def test_condition_true_runs_the_if_branch_only(runner, pipeline, local_aws):
    record = runner.run(_gated_pipeline(pipeline), pipeline_name="demo")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    statuses = {name: step.status for name, step in record.steps.items()}
    assert statuses == {
        "Evaluate": StepStatus.SUCCEEDED,
        "Gate": StepStatus.SUCCEEDED,
        "Publish": StepStatus.SUCCEEDED,
        "TooHigh": StepStatus.SKIPPED,
        "AfterPublish": StepStatus.SUCCEEDED,
    }
    assert record.steps["Gate"].properties == {"Outcome": True}
    uri = record.steps["Publish"].properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    assert _read(local_aws, f"{uri}/seen.txt") == "rmse=2.5"


def test_condition_false_runs_the_else_branch_and_fails_with_its_message(runner, pipeline):
    record = runner.run(_gated_pipeline(pipeline), {"Threshold": "2"}, pipeline_name="demo")

    assert record.status == ExecutionStatus.FAILED
    assert record.failure_reason == "rmse 2.5 above 2.0"
    assert record.steps["Publish"].status == StepStatus.SKIPPED
    assert record.steps["AfterPublish"].status == StepStatus.NOT_STARTED  # the Fail step ended the run
    assert record.steps["Publish"].attempts == 0
    saved = json.loads(record.record_file.read_text())
    assert saved["status"] == "Failed" and saved["failure_reason"] == "rmse 2.5 above 2.0"
    assert [s["status"] for s in saved["steps"]] == [
        "Succeeded",
        "Succeeded",
        "Skipped",
        "Failed",
        "NotStarted",
    ]


def _cached_pipeline(pipeline, counter: Path):
    """A cached step that counts its real runs in a file outside the emulator, and a reader of its output."""
    data = pipeline.parameter("InputDataUrl", "String", pipeline.settings.raw_data_uri)
    pipeline.processing(
        "Prepare",
        """
        counter = Path(os.environ["COUNTER"])
        counter.write_text(str(int(counter.read_text() or 0) + 1) if counter.exists() else "1")
        (out("rows") / "rows.txt").write_text(str(len((inp("raw") / "abalone.csv").read_text().splitlines())))
        """,
        inputs={RAW: data},
        outputs=("rows",),
        environment={"COUNTER": str(counter)},
        CacheConfig={"Enabled": True, "ExpireAfter": "PT1H"},
    )
    pipeline.processing(
        "Read",
        """print("rows", (inp("rows") / "rows.txt").read_text())""",
        inputs={"rows": pipeline.output_uri("Prepare", "rows")},
    )
    return pipeline.definition()


def test_a_second_run_hits_the_cache_even_in_an_emptied_emulator(runner, pipeline, local_aws, tmp_path):
    counter = tmp_path / "runs-of-prepare"
    definition = _cached_pipeline(pipeline, counter)
    first = runner.run(definition, pipeline_name="demo")
    assert first.status == ExecutionStatus.SUCCEEDED, first.failure_reason
    first_uri = first.steps["Prepare"].properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, key = s3_uri.split(first_uri)
    local_aws.clients.s3.delete_object(Bucket=bucket, Key=f"{key}/rows.txt")  # as if the emulator restarted

    second = runner.run(definition, pipeline_name="demo")

    assert second.status == ExecutionStatus.SUCCEEDED, second.failure_reason
    hit = second.steps["Prepare"].cache_hit
    assert hit is not None and hit.source_execution_arn == first.execution_arn
    assert counter.read_text() == "1"  # the script did not run again
    assert (
        second.steps["Prepare"].properties == first.steps["Prepare"].properties
    )  # old paths, like SageMaker
    assert "rows 4178" in (second.run_dir / second.steps["Read"].log_file).read_text()
    assert second.steps["Read"].cache_hit is None  # no CacheConfig: always runs


def test_a_cache_entry_with_missing_objects_is_a_miss_not_a_hit(runner, pipeline, local_aws, tmp_path):
    """A torn entry (a run killed mid-write, files removed) gave "Succeeded" with the step's outputs
    missing (issue 11, defect 11): entries are verified against their manifest first."""
    counter = tmp_path / "runs-of-prepare"
    definition = _cached_pipeline(pipeline, counter)
    first = runner.run(definition, pipeline_name="demo")
    assert first.status == ExecutionStatus.SUCCEEDED, first.failure_reason
    (stored,) = [p for p in runner.cache.root.rglob("objects/**/rows.txt")]
    stored.unlink()

    second = runner.run(definition, pipeline_name="demo")

    assert second.status == ExecutionStatus.SUCCEEDED, second.failure_reason
    assert second.steps["Prepare"].cache_hit is None
    assert counter.read_text() == "2"  # the script ran again and the entry was written anew
    third = runner.run(definition, pipeline_name="demo")
    assert third.steps["Prepare"].cache_hit is not None


def test_changed_arguments_or_no_cache_run_the_step_again(runner, pipeline, local_aws, tmp_path):
    counter = tmp_path / "runs-of-prepare"
    definition = _cached_pipeline(pipeline, counter)
    runner.run(definition, pipeline_name="demo")
    bucket = pipeline.settings.bucket_name("data")
    local_aws.clients.s3.copy_object(
        Bucket=bucket, Key="raw/copy.csv", CopySource={"Bucket": bucket, "Key": "raw/abalone.csv"}
    )
    other_input = runner.run(
        definition, {"InputDataUrl": f"s3://{bucket}/raw/copy.csv"}, pipeline_name="demo"
    )
    no_cache = LocalPipelineRunner(runner.settings, local_aws, runner.runs_dir, use_cache=False)
    fresh = no_cache.run(definition, pipeline_name="demo")

    assert other_input.steps["Prepare"].cache_hit is None
    assert fresh.steps["Prepare"].cache_hit is None
    assert counter.read_text() == "3"


def test_retry_policy_retries_a_killed_job_and_never_an_algorithm_error(runner, pipeline, tmp_path, sleeps):
    marker = tmp_path / "attempts"
    policy = {
        "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
        "IntervalSeconds": 3,
        "BackoffRate": 2.0,
        "MaxAttempts": 2,
    }
    pipeline.processing(
        "Flaky",
        """
        import signal
        marker = Path(os.environ["MARKER"])
        attempts = int(marker.read_text()) + 1 if marker.exists() else 1
        marker.write_text(str(attempts))
        if attempts < 3:
            os.kill(os.getpid(), signal.SIGKILL)  # the platform losing the host
        """,
        environment={"MARKER": str(marker)},
        RetryPolicies=[policy],
    )
    pipeline.processing(
        "Broken", "raise SystemExit('bad input row 7')", DependsOn=["Flaky"], RetryPolicies=[policy]
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.steps["Flaky"].status == StepStatus.SUCCEEDED
    assert record.steps["Flaky"].attempts == 3
    assert sleeps == [3.0, 6.0]  # IntervalSeconds, then times BackoffRate
    broken = record.steps["Broken"]
    assert broken.status == StepStatus.FAILED and broken.attempts == 1
    assert broken.failure_reason == "AlgorithmError: bad input row 7 (host algo-1, exit code 1)"


def test_retries_stop_after_max_attempts(runner, pipeline, sleeps):
    policy = {
        "ExceptionType": ["SageMaker.JOB_INTERNAL_ERROR"],
        "IntervalSeconds": 1,
        "BackoffRate": 1.0,
        "MaxAttempts": 1,
    }
    pipeline.processing(
        "Doomed", "import signal; os.kill(os.getpid(), signal.SIGKILL)", RetryPolicies=[policy]
    )
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    step = record.steps["Doomed"]
    assert (step.status, step.attempts, sleeps) == (StepStatus.FAILED, 2, [1.0])
    assert step.failure_reason.startswith("InternalServerError: algo-1 was killed by SIGKILL")


def test_a_failing_step_fails_the_execution_and_nothing_after_it_runs(runner, pipeline, local_aws, tmp_path):
    witness = tmp_path / "downstream-ran"
    pipeline.processing("Good", """(out("data") / "x.txt").write_text("x")""", outputs=("data",))
    pipeline.processing(
        "Bad",
        """
        print("reading the data")
        raise ValueError("column 'rings' has 3 non-integer values")
        """,
        inputs={"data": pipeline.output_uri("Good", "data")},
        outputs=("result",),
    )
    touch = f"Path({str(witness)!r}).write_text('ran')"
    pipeline.processing("Downstream", touch, inputs={"result": pipeline.output_uri("Bad", "result")})
    pipeline.processing("Independent", touch)
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.status == ExecutionStatus.FAILED
    assert record.failure_reason == (
        "step Bad failed: AlgorithmError: Traceback (most recent call last): | "
        '  File "<string>", line 12, in <module> | '
        "ValueError: column 'rings' has 3 non-integer values (host algo-1, exit code 1)"
    )
    assert [s.status for s in record.steps.values()] == [
        StepStatus.SUCCEEDED,
        StepStatus.FAILED,
        StepStatus.NOT_STARTED,
        StepStatus.NOT_STARTED,
    ]
    assert not witness.exists()
    bad = record.steps["Bad"]
    assert "reading the data" in (record.run_dir / bad.log_file).read_text()
    prefix = bad.arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
    bucket, key = s3_uri.split(prefix)
    assert (
        local_aws.clients.s3.list_objects_v2(Bucket=bucket, Prefix=key)["KeyCount"] == 0
    )  # no partial output
    saved = json.loads(record.record_file.read_text())
    assert saved["steps"][1]["failure_reason"] == bad.failure_reason
    assert saved["steps"][1]["arguments"]["AppSpecification"]["ContainerEntrypoint"][0] == "python3"


def test_a_job_past_its_max_runtime_is_stopped_and_fails_the_step(runner, pipeline):
    step = pipeline.processing("Slow", 'print("started", flush=True)\nimport time; time.sleep(60)')
    step["Arguments"]["StoppingCondition"] = {"MaxRuntimeInSeconds": 1}
    started = time.monotonic()
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert time.monotonic() - started < 15  # stopped at its deadline, not after its minute
    slow = record.steps["Slow"]
    assert slow.status == StepStatus.FAILED
    assert slow.failure_reason == "the job ran longer than its StoppingCondition.MaxRuntimeInSeconds"
    assert "started" in (record.run_dir / slow.log_file).read_text()


def test_register_model_creates_its_model_package_group_as_sagemaker_does(runner, pipeline, local_aws):
    bucket = pipeline.settings.bucket_name("artifacts")
    local_aws.clients.s3.put_object(Bucket=bucket, Key="models/model.tar.gz", Body=b"model")
    pipeline.add(
        {
            "Name": "Register",
            "Type": "RegisterModel",
            "Arguments": {
                "ModelPackageGroupName": "AbaloneModelPackageGroup",  # not the project's; nobody made it
                "ModelApprovalStatus": "PendingManualApproval",
                "InferenceSpecification": {
                    "Containers": [
                        {
                            "Image": "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1",
                            "ModelDataUrl": f"s3://{bucket}/models/model.tar.gz",
                        }
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv"],
                },
            },
        }
    )
    first = runner.run(pipeline.definition(), pipeline_name="foreign")
    second = runner.run(pipeline.definition(), pipeline_name="foreign")  # the group exists now

    assert first.succeeded and second.succeeded, first.failure_reason or second.failure_reason
    assert (
        "created model package group AbaloneModelPackageGroup"
        in (first.run_dir / first.steps["Register"].log_file).read_text()
    )
    packages = local_aws.clients.sagemaker.list_model_packages(
        ModelPackageGroupName="AbaloneModelPackageGroup"
    )
    assert len(packages["ModelPackageSummaryList"]) == 2


@pytest.mark.parametrize(
    ("image", "warned"),
    [
        (SETTINGS.processing_image_uri.rsplit(":", 1)[0] + ":stale", True),  # the project's, out of date
        ("111122223333.dkr.ecr.us-west-2.amazonaws.com/their-image:1", False),  # a foreign definition
    ],
)
def test_warnings_about_this_checkout_are_for_the_projects_own_definitions_only(
    runner, pipeline, image, warned
):
    pipeline.processing("A", "pass")
    app = pipeline.steps[0]["Arguments"]["AppSpecification"]
    app["ImageUri"] = image
    app["ContainerEntrypoint"] = ["python3", "-c", "pass"]  # a foreign image has none of our code
    record = runner.run(pipeline.definition(), pipeline_name="demo")

    assert record.succeeded, record.failure_reason
    checkout_warnings = [w for w in record.warnings if "differs from this checkout's" in w]
    assert bool(checkout_warnings) == warned
