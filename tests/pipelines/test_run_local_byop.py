"""Bring your own pipeline: `run-local` on pipelines this project did not write, as a newcomer calls it.

The definitions are the SDK-built fixtures (``fixtures/sdk2``, ``fixtures/sdk3``); the code-built
pipelines are ``fixtures/byop/sdk3/pipeline.py`` (SDK 3.x, built with this venv's interpreter as
"the user's") and ``fixtures/byop/seed/pipeline.py`` (the SageMaker Projects seed's shape, SDK 2.x,
built when an SDK-2 interpreter is at hand: ``$MLOPS_SDK2_PYTHON`` or /work/sdk2venv).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from localcloud import LocalCloud
from localcloud.user_pipeline import PipelineTarget, build
from pipelines import settings as settings_module
from processing_scripts import s3_uri
from tests.pipelines.cli_runner import run

SETTINGS = settings_module.load("dev")
REPO = Path(__file__).parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
BYOP = FIXTURES / "byop"
ABALONE = BYOP / "abalone"  # what the sdk2 abalone example needs besides its definition
DEFAULT_BUCKET = f"sagemaker-{SETTINGS.region}-{SETTINGS.account}"  # the SDK's default bucket name
SDK2_PYTHON = os.environ.get("MLOPS_SDK2_PYTHON", "/work/sdk2venv/bin/python")


def _record(runs: Path) -> dict:
    (record,) = runs.glob("*/record.json")
    return json.loads(record.read_text())


@pytest.mark.slow  # trains the built-in XGBoost emulation and serves it (~20-35 s on a shared 2-core machine)
def test_the_sdk2_abalone_example_runs_to_the_end_with_its_data_seeded_and_its_image_steps_stubbed(
    capsys, tmp_path
):
    """AWS's abalone example as SDK 2.x builds it. Its two processing steps run code baked into the
    user's image (nothing here can run it): those two are stubbed; the training data and the
    evaluation report they would have written are seeded, and so is the batch the Transform step
    scores with the model the pipeline trained and created."""
    code, out, err = run(
        capsys,
        "run-local",
        str(FIXTURES / "sdk2" / "abalone.json"),
        "--runs-dir",
        str(tmp_path),
        "--seed",
        f"{ABALONE / 'train.csv'}=s3://sdk-fixtures-bucket/abalone/train/",
        "--seed",
        f"{ABALONE / 'evaluation.json'}=s3://sdk-fixtures-bucket/evaluation/evaluation.json",
        "--seed",
        f"{ABALONE / 'batch.csv'}=s3://sdk-fixtures-bucket/batch/input.csv",
        "--stub",
        f"PreprocessAbaloneData={ABALONE / 'preprocess-outputs.json'}",
        "--stub",
        f"EvaluateAbaloneModel={ABALONE / 'evaluate-outputs.json'}",
    )

    assert code == 0, err
    assert "seeded 3 object(s)" in out
    assert "stubbed (not run, outputs from --stub): PreprocessAbaloneData, EvaluateAbaloneModel" in out
    record = _record(tmp_path)
    steps = {step["name"]: step for step in record["steps"]}
    assert {name for name, step in steps.items() if step["stubbed"]} == {
        "PreprocessAbaloneData",
        "EvaluateAbaloneModel",
    }
    for ran in ("TrainAbaloneModel", "AbaloneTransform"):
        assert steps[ran]["status"] == "Succeeded" and not steps[ran]["stubbed"]
    assert steps["AbaloneTransform"]["properties"]["TransformJobStatus"] == "Completed"
    registered = [s for s in steps.values() if s["type"] == "RegisterModel"]
    assert [s["status"] for s in registered] == ["Succeeded", "Succeeded"]  # into a group nobody created
    assert steps["AbaloneMSEFail"]["status"] == "Skipped"
    # Nothing about this project's image or settings; only what the emulation itself cannot match.
    assert not [w for w in record["warnings"] if "checkout" in w or "settings" in w], record["warnings"]


def test_everything_that_cannot_run_is_one_line_each_before_anything_starts(capsys, tmp_path):
    services = str(FIXTURES / "sdk2" / "services.json")
    code, _, err = run(capsys, "run-local", services, "--runs-dir", str(tmp_path))

    assert code == 3
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == "error: the definition cannot run locally (nothing ran):"
    problems = [line.strip() for line in lines[1:] if line.startswith("  ")]
    named = [problem.split(":")[0] for problem in problems]
    # a foreign Lambda and EMR (the Callback step runs: it waits for an answer)
    assert named[0] == "PrepareData" and named[-1] == "SparkOnCluster"
    assert problems[0].endswith(
        "pass --lambda fixture-function=path/to/handler.py:function (or --stub PrepareData=outputs.json)"
    )
    assert problems[-1].endswith("pass --stub SparkOnCluster=outputs.json")
    assert not any(tmp_path.iterdir())  # no emulator, no record

    # The same outcome with a parameter that would have been fine, and with one that is not.
    for param in ("Dataset=s3://bucket/other", "Nope=1"):
        code, _, again = run(capsys, "run-local", services, "-p", param, "--runs-dir", str(tmp_path))
        assert code == 3 and again.splitlines()[1 : 1 + len(problems)] == lines[1 : 1 + len(problems)]


def test_code_baked_into_the_users_image_is_named_before_anything_starts(capsys, tmp_path):
    """The evaluation step's command runs a script no input provides: only the image has it."""
    code, _, err = run(
        capsys, "run-local", str(FIXTURES / "sdk2" / "abalone.json"), "--runs-dir", str(tmp_path)
    )

    assert code == 3
    assert (
        "EvaluateAbaloneModel: its command runs /opt/ml/processing/input/code/preprocess.py, which no "
        "input provides: it is inside the image 111122223333.dkr.ecr.us-west-2.amazonaws.com/fixture-image:1, "
        "and images do not run locally; pass --stub EvaluateAbaloneModel=outputs.json"
    ) in err
    # the preprocessing step's input folder could hold the script: not refused
    assert "PreprocessAbaloneData:" not in err


@pytest.mark.slow  # the emulator, plus a Python subprocess importing boto3 (~5-10 s on a shared machine)
def test_a_foreign_lambda_runs_from_the_users_handler_and_the_rest_is_stubbed(capsys, tmp_path):
    """The services fixture (Lambda, Callback, EMR): the Lambda from its handler file, in "the
    user's" interpreter, against the seeded emulator; its "200" read as the Integer it declares."""
    services = BYOP / "services"
    code, out, err = run(
        capsys,
        "run-local",
        str(FIXTURES / "sdk2" / "services.json"),
        "--runs-dir",
        str(tmp_path),
        "--python",
        sys.executable,
        "--lambda",
        f"fixture-function={services / 'prepare_data.py'}:lambda_handler",
        "--stub",
        f"WaitForApproval={services / 'approval-outputs.json'}",
        "--stub",
        f"SparkOnCluster={services / 'spark-outputs.json'}",
        "--seed",
        f"{ABALONE / 'train.csv'}=s3://sdk-fixtures-bucket/abalone/train.csv",
    )

    assert code == 0, err
    assert "stubbed (not run, outputs from --stub): WaitForApproval, SparkOnCluster" in out
    steps = {step["name"]: step for step in _record(tmp_path)["steps"]}
    assert steps["PrepareData"]["properties"]["OutputParameters"] == {
        "statusCode": 200,
        "prefix": "s3://sdk-fixtures-bucket/abalone/",
    }
    assert steps["WaitForApproval"]["properties"]["prefix"] == "s3://sdk-fixtures-bucket/abalone/"  # resolved
    log = (tmp_path / _record(tmp_path)["execution_id"] / steps["PrepareData"]["log_file"]).read_text()
    assert "fixture-function: 1 object(s) under s3://sdk-fixtures-bucket/abalone/" in log


def test_bad_options_are_all_reported_at_once_before_anything_starts(capsys, tmp_path):
    not_an_object = tmp_path / "list.json"
    not_an_object.write_text("[1, 2]")
    code, _, err = run(
        capsys,
        "run-local",
        str(FIXTURES / "sdk2" / "abalone.json"),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--seed",
        f"{tmp_path / 'missing.csv'}=s3://bucket/data.csv",
        "--seed",
        f"{not_an_object}=s3://Bad_Bucket/x",
        "--stub",
        f"AbaloneTransform={not_an_object}",
        "--stub",
        "AbaloneTransform",
        "--lambda",
        "fn=handler.py",
    )

    assert code == 2 and "Traceback" not in err
    problems = [line.strip() for line in err.splitlines() if line.startswith("  ")]
    assert problems == [
        f"--seed '{tmp_path / 'missing.csv'}=s3://bucket/data.csv': {tmp_path / 'missing.csv'} does not exist",
        f"--seed '{not_an_object}=s3://Bad_Bucket/x': bucket 'Bad_Bucket' is not a valid bucket name (3-63 of a-z 0-9 . -)",
        f"--stub 'AbaloneTransform={not_an_object}': {not_an_object} must hold a JSON object (the step's properties)",
        "--stub 'AbaloneTransform': expected STEP=outputs.json",
        "--lambda 'fn=handler.py': expected ARN_OR_NAME=path/to/handler.py:function",
    ]
    assert not (tmp_path / "runs").exists()


def test_an_error_in_the_users_module_is_one_line_with_the_exception_and_where(capsys, tmp_path):
    module = tmp_path / "pipeline.py"
    module.write_text(
        "def get_pipeline(region, role=None):\n    raise ValueError(f'no bucket for {region}')\n"
    )
    code, _, err = run(
        capsys, "run-local", f"{module}:get_pipeline", "--python", sys.executable, "--runs-dir", str(tmp_path)
    )

    assert code == 3 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line == (
        f"error: {module}:get_pipeline: ValueError: no bucket for {SETTINGS.region} at {module}:2 "
        f"(output: {tmp_path / 'build-pipeline.log'})"
    )


def test_a_missing_interpreter_is_one_line_naming_the_option(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "run-local",
        f"{BYOP / 'sdk3' / 'pipeline.py'}:get_pipeline",
        "--python",
        str(tmp_path / "no-python"),
    )
    assert code == 2
    assert (
        f"error: no Python interpreter '{tmp_path / 'no-python'}' (from --python); pass --python PATH" in err
    )


def _headerless_abalone(tmp_path: Path) -> Path:
    """AWS's abalone-dataset.csv, which the seed's code reads, is the UCI file without a header row."""
    dataset = tmp_path / "abalone-dataset.csv"
    dataset.write_text("".join((REPO / "data" / "abalone.csv").read_text().splitlines(keepends=True)[1:]))
    return dataset


@pytest.mark.slow  # the SDK 3.x import in a subprocess, then one processing job (~10-20 s)
def test_the_sdk3_module_runs_to_the_end_with_no_stub(capsys, tmp_path):
    """SDK 3.x as the user's SDK: built in the user's interpreter, its uploaded preprocess.py run at
    the /opt/ml path it hard-codes; only the input data is seeded."""
    code, out, err = run(
        capsys,
        "run-local",
        f"{BYOP / 'sdk3' / 'pipeline.py'}:get_pipeline",
        "--python",
        sys.executable,
        "-a",
        "pipeline_name=MyAbalone",
        "--seed",
        f"{REPO / 'data' / 'abalone.csv'}=s3://{DEFAULT_BUCKET}/abalone/abalone.csv",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0, err
    assert "MyAbalone execution" in out and "stubbed" not in out
    record = _record(tmp_path / "runs")
    assert record["pipeline_name"] == "MyAbalone"
    assert [(s["name"], s["status"], s["stubbed"]) for s in record["steps"]] == [
        ("PreprocessAbaloneData", "Succeeded", False)
    ]


@pytest.mark.slow  # SDK 2.x build, then preprocess, built-in XGBoost training, evaluation (~30 s)
@pytest.mark.skipif(not Path(SDK2_PYTHON).is_file(), reason="no SDK 2.x interpreter (set MLOPS_SDK2_PYTHON)")
def test_the_projects_seed_runs_to_the_end_with_no_stub(capsys, tmp_path):
    """The SageMaker Projects seed as SDK 2.x builds it, scripts unchanged: preprocess and evaluate
    run their uploaded code at /opt/ml/processing/input/code, evaluate.py pickle.loads the 1.0-1
    booster, the condition reads its report and the model is registered into a new group."""
    code, out, err = run(
        capsys,
        "run-local",
        f"{BYOP / 'seed' / 'pipeline.py'}:get_pipeline",
        "--python",
        SDK2_PYTHON,
        "-a",
        "model_package_group_name=MyAbaloneGroup",
        "--seed",
        f"{_headerless_abalone(tmp_path)}=s3://{DEFAULT_BUCKET}/abalone/abalone-dataset.csv",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0, err
    assert "stubbed" not in out
    steps = {step["name"]: step for step in _record(tmp_path / "runs")["steps"]}
    assert {name: step["status"] for name, step in steps.items()} == {
        "PreprocessAbaloneData": "Succeeded",
        "TrainAbaloneModel": "Succeeded",
        "EvaluateAbaloneModel": "Succeeded",
        "CheckMSEAbaloneEvaluation": "Succeeded",
        "RegisterAbaloneModel-RegisterModel": "Succeeded",
        "AbaloneMSEFail": "Skipped",
    }
    assert "model-package/myabalonegroup/1" in out


def _built_uploads(python: str, module: Path, tmp_path: Path) -> tuple[dict, list[str]]:
    """Build the module's pipeline against a running local cloud; return its definition and
    which of its code inputs are objects in the emulator's S3."""
    with LocalCloud(SETTINGS, {}) as cloud:
        target = PipelineTarget.parse(f"{module}:get_pipeline")
        built = build(target, {}, python=python, aws=cloud.aws, log_dir=tmp_path)
        code_uris = [
            item["S3Input"]["S3Uri"]
            for step in built.definition["Steps"]
            for item in (step.get("Arguments", {}).get("ProcessingInputs") or [])
            if item.get("InputName") == "code"
        ]
        s3 = cloud.aws.clients.s3
        landed = [
            uri
            for uri in code_uris
            if s3.list_objects_v2(Bucket=s3_uri.split(uri)[0], Prefix=s3_uri.split(uri)[1])["KeyCount"]
        ]
        return built.definition, [uri.rsplit("/", 1)[-1] for uri in landed]


@pytest.mark.slow
def test_the_sdk3_module_uploads_its_step_code_to_the_emulators_default_bucket(tmp_path):
    definition, landed = _built_uploads(sys.executable, BYOP / "sdk3" / "pipeline.py", tmp_path)
    assert landed == ["preprocess.py"]
    assert f"s3://{DEFAULT_BUCKET}/abalone/abalone.csv" in json.dumps(definition)


@pytest.mark.slow
@pytest.mark.skipif(not Path(SDK2_PYTHON).is_file(), reason="no SDK 2.x interpreter (set MLOPS_SDK2_PYTHON)")
def test_the_projects_seed_builds_with_sdk2_and_uploads_its_code_to_the_emulator(tmp_path):
    definition, landed = _built_uploads(SDK2_PYTHON, BYOP / "seed" / "pipeline.py", tmp_path)
    assert landed == ["preprocess.py", "evaluate.py"]
    names = [step["Name"] for step in definition["Steps"]]
    assert names == [
        "PreprocessAbaloneData",
        "TrainAbaloneModel",
        "EvaluateAbaloneModel",
        "CheckMSEAbaloneEvaluation",
    ]


@pytest.mark.slow  # the SDK 3.x import in a subprocess, then one processing job (~10-20 s)
def test_a_framework_processor_runs_its_runproc_with_this_interpreter_and_installs_nothing(capsys, tmp_path):
    """The SDK's runproc.sh extracts the bundle, pip-installs requirements.txt and runs `python3
    process.py`: the install is skipped (numpy is here), the script runs with this venv."""
    code, _, err = run(
        capsys,
        "run-local",
        f"{BYOP / 'framework' / 'pipeline.py'}:get_pipeline",
        "--python",
        sys.executable,
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0, err
    record = _record(tmp_path / "runs")
    log = (tmp_path / "runs" / record["execution_id"] / record["steps"][0]["log_file"]).read_text()
    assert "`pip uninstall --yes typing` skipped" in log
    assert "every requirement is already satisfied by the executor's environment; nothing installed" in log


@pytest.mark.slow  # as above
def test_a_framework_processor_requirement_this_venv_lacks_fails_the_job_in_one_line(capsys, tmp_path):
    source = tmp_path / "code"
    shutil.copytree(BYOP / "framework" / "code", source)
    with (source / "requirements.txt").open("a") as requirements:
        requirements.write("no-such-package-for-byop==1.0\n")
    code, _, err = run(
        capsys,
        "run-local",
        f"{BYOP / 'framework' / 'pipeline.py'}:get_pipeline",
        "--python",
        sys.executable,
        "-a",
        f"source_dir={source}",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 5 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line == (
        "error: execution Failed: step Summarize failed: ClientError: the job's pip install needs "
        "no-such-package-for-byop==1.0, which the executor's environment does not have, and a local job "
        "never pip-installs into it: install it into the venv run-local runs in (host algo-1, exit code 1)"
    )


@pytest.mark.slow  # the SDK 3.x import in a subprocess, then one training job (~10-20 s)
def test_an_sdk3_model_trainer_in_script_mode_runs_through_the_sdks_own_drivers(capsys, tmp_path):
    """ModelTrainer(source_code=SourceCode(...)): the SDK uploads the code and its sm_drivers into
    the emulator; the job runs sm_train.sh, which reads resourceconfig.json and TRAINING_JOB_NAME
    as the platform writes them and runs train.py with the hyperparameters as arguments."""
    code, _, err = run(
        capsys,
        "run-local",
        f"{BYOP / 'trainer' / 'pipeline.py'}:get_pipeline",
        "--python",
        sys.executable,
        "--seed",
        f"{REPO / 'data' / 'abalone.csv'}=s3://{DEFAULT_BUCKET}/abalone/abalone.csv",
        "--runs-dir",
        str(tmp_path / "runs"),
    )
    assert code == 0, err
    record = _record(tmp_path / "runs")
    (step,) = record["steps"]
    assert step["status"] == "Succeeded" and not step["stubbed"]
    log = (tmp_path / "runs" / record["execution_id"] / step["log_file"]).read_text()
    assert "train.py --n_estimators 10" in log and "trained on 4177 rows" in log
    assert step["properties"]["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
