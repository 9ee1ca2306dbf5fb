"""Jobs written for AWS's images run unchanged: their own /opt/ml, framework scripts, script mode.

The pipeline is the SDK-built ``sdk2/byop_jobs.json`` (see its builder) and its scripts are in
``byop_code/``, written as AWS's examples write them; nothing in either knows about this project.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from localcloud import ExecutionStatus, LocalAws
from localcloud.sagemaker.executor import private_opt_ml
from localcloud.sagemaker.executor.steps import processing, training
from processing_scripts import s3_uri
from tests.localcloud.conftest import SETTINGS

FIXTURE = Path(__file__).parents[1] / "pipelines" / "fixtures" / "sdk2" / "byop_jobs.json"
CODE = Path(__file__).with_name("byop_code")
DATA = Path(__file__).parents[2] / "data" / "abalone.csv"
BUCKET = "sdk-fixtures-bucket"
SKLEARN_IMAGE = "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
needs_namespace = pytest.mark.skipif(
    private_opt_ml.unavailable_reason() is not None,
    reason=f"no private mount namespace here: {private_opt_ml.unavailable_reason()}",
)


@pytest.fixture(scope="module")
def seeded(local_aws: LocalAws) -> LocalAws:
    """The fixture's bucket with the data and code where the definition expects them."""
    s3 = local_aws.clients.s3
    where = {} if SETTINGS.region == "us-east-1" else {"LocationConstraint": SETTINGS.region}
    s3.create_bucket(Bucket=BUCKET, **({"CreateBucketConfiguration": where} if where else {}))
    s3.upload_file(str(DATA), BUCKET, "data/abalone.csv")
    for script in ("preprocess.py", "evaluate.py"):
        s3.upload_file(str(CODE / script), BUCKET, f"byop/code/{script}")
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        for path in sorted((CODE / "sourcedir").iterdir()):
            tar.add(path, arcname=path.name)
    s3.put_object(Bucket=BUCKET, Key="byop/sourcedir.tar.gz", Body=archive.getvalue())
    return local_aws


def _members(aws: LocalAws, uri: str) -> dict[str, bytes]:
    bucket, key = s3_uri.split(uri, key_required=True)
    body = aws.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]


def _foreign(step: dict[str, Any], script: str) -> None:
    """Make a builder step a framework-image job running ``script`` written against literal /opt/ml."""
    step["Arguments"]["AppSpecification"].update(
        ImageUri=SKLEARN_IMAGE, ContainerEntrypoint=["python3", "-c", script]
    )


# -- item 1: /opt/ml -----------------------------------------------------------------------------
COLLIDING_SCRIPT = """
import json, os, time
host = json.load(open("/opt/ml/config/resourceconfig.json"))["current_host"]
os.makedirs("/opt/ml/processing/output/out", exist_ok=True)
with open("/opt/ml/processing/output/out/x.csv", "w") as f:
    f.write(host)
time.sleep(0.3)  # the other instance writes its x.csv meanwhile: it must not be this one
assert open("/opt/ml/processing/output/out/x.csv").read() == host, "another instance's file"
assert os.listdir("/opt/ml/processing/output/out") == ["x.csv"]
print("wrote", host)
"""


@needs_namespace
def test_two_instances_each_write_the_literal_opt_ml_path_without_colliding(runner, pipeline, local_aws):
    step = pipeline.processing("Write", "", outputs=("out",), instances=2)
    _foreign(step, COLLIDING_SCRIPT)
    record = runner.run(pipeline.definition(), pipeline_name="byop")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    log = (record.run_dir / record.steps["Write"].log_file).read_text()
    assert "[algo-1] wrote algo-1" in log and "[algo-2] wrote algo-2" in log
    assert record.warnings == []  # a known framework image: no "not the project's image" noise
    assert not list(Path("/opt/ml").iterdir())  # nothing was written on the host's /opt/ml


def test_without_a_namespace_only_the_projects_code_can_run(monkeypatch, pipeline):
    reason = "util-linux `unshare` is not installed (Linux only), so jobs cannot get their own /opt/ml"
    monkeypatch.setattr(private_opt_ml, "unavailable_reason", lambda: reason)
    project = pipeline.processing("Project", "print('hi')")
    assert processing.preflight_problems(project["Arguments"], SETTINGS) == []
    _foreign(project, "print('hi')")
    (problem,) = processing.preflight_problems(project["Arguments"], SETTINGS)
    assert problem.startswith(
        "image sagemaker-scikit-learn:1.2-1-cpu-py3: util-linux `unshare` is not installed"
    )
    assert "OPT_ML_DIR" in problem and "\n" not in problem


def test_a_machine_without_unshare_is_told_what_is_missing(monkeypatch):
    monkeypatch.setattr(private_opt_ml.shutil, "which", lambda _: None)
    with pytest.raises(private_opt_ml.NamespaceUnavailableError) as raised:
        private_opt_ml._working_prefix()
    assert str(raised.value) == (
        "util-linux `unshare` is not installed (Linux only), so jobs cannot get their own /opt/ml"
    )


@needs_namespace
def test_a_training_job_runs_its_own_container_entrypoint(runner, pipeline, local_aws):
    step = pipeline.training("Train", {"train": pipeline.settings.raw_data_uri}, {"epochs": "2"})
    step["Arguments"]["AlgorithmSpecification"].update(
        TrainingImage=SKLEARN_IMAGE,
        ContainerEntrypoint=["python3", "-c", TRAINING_SCRIPT],
    )
    record = runner.run(pipeline.definition(), pipeline_name="byop")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    job = record.steps["Train"].properties
    assert _members(local_aws, job["ModelArtifacts"]["S3ModelArtifacts"]) == {
        "model.txt": b"epochs=2 rows=4178"
    }


TRAINING_SCRIPT = """
import json
epochs = json.load(open("/opt/ml/input/config/hyperparameters.json"))["epochs"]
rows = sum(1 for _ in open("/opt/ml/input/data/train/abalone.csv"))
open("/opt/ml/model/model.txt", "w").write(f"epochs={epochs} rows={rows}")
"""


def test_processing_paths_follow_awss_rules(pipeline):
    step = pipeline.processing("Paths", "", inputs={"raw": "s3://b/raw"}, outputs=("out",))
    step["Arguments"]["ProcessingInputs"][0]["S3Input"]["LocalPath"] = "/data/raw"
    step["Arguments"]["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["LocalPath"] = "/tmp/out"
    assert processing.preflight_problems(step["Arguments"], SETTINGS) == [
        "ProcessingInputs[0].S3Input.LocalPath '/data/raw' must begin with /opt/ml/processing/ "
        "(AWS's rule for processing inputs)",
        "Outputs[0].S3Output.LocalPath '/tmp/out': the local executor gives each instance only its own "
        "/opt/ml; write outputs under /opt/ml/processing/",
    ]


# -- item 2: framework images and their packages ---------------------------------------------------
def test_a_framework_package_missing_here_is_named_before_running(pipeline):
    step = pipeline.processing("Torch", "")
    step["Arguments"]["AppSpecification"]["ImageUri"] = (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311"
    )
    problems = processing.preflight_problems(step["Arguments"], SETTINGS)
    assert problems[0] == (
        "image pytorch-training:2.3.0-cpu-py311 provides PyTorch; this environment lacks the Python "
        "module torch: install torch into the venv the executor runs in"
    )


@needs_namespace
def test_a_module_the_script_imports_and_this_venv_lacks_is_named(runner, pipeline):
    _foreign(pipeline.processing("Import", ""), "import sagemaker_inference_toolkit_nowhere\n")
    record = runner.run(pipeline.definition(), pipeline_name="byop")

    assert record.status == ExecutionStatus.FAILED
    assert record.steps["Import"].failure_reason == (
        "AlgorithmError: the job's code imports 'sagemaker_inference_toolkit_nowhere', which is not "
        "installed in the environment the local executor runs jobs with; image "
        "sagemaker-scikit-learn:1.2-1-cpu-py3 may have it: install it into that venv (host algo-1, exit code 1)"
    )


def test_a_builtin_algorithm_other_than_xgboost_is_refused_before_running(pipeline):
    job = pipeline.training_job({"train": "s3://b/train"}, {"feature_dim": "7"})
    job["AlgorithmSpecification"]["TrainingImage"] = (
        "174872318107.dkr.ecr.us-west-2.amazonaws.com/linear-learner:1"
    )
    assert training.preflight_problems(job, SETTINGS) == [
        "image linear-learner:1 is a built-in algorithm whose code only exists in its image; "
        "only the built-in XGBoost (sagemaker-xgboost) is emulated locally"
    ]


# -- the SDK-built pipeline, end to end ------------------------------------------------------------
@needs_namespace
@pytest.mark.slow  # five jobs, each a fresh interpreter loading pandas, scikit-learn or xgboost
def test_a_pipeline_written_for_awss_images_runs_unchanged(runner, seeded):
    record = runner.run(json.loads(FIXTURE.read_text()), pipeline_name="byop-jobs")

    assert record.status == ExecutionStatus.SUCCEEDED, record.failure_reason
    steps = record.steps
    preprocess_log = (record.run_dir / steps["Preprocess"].log_file).read_text()
    assert "[algo-1] algo-1: 2089 rows of 4177" in preprocess_log
    assert "[algo-2] algo-2: 2088 rows of 4177" in preprocess_log

    sklearn_job = steps["TrainSKLearn"].properties
    assert set(_members(seeded, sklearn_job["ModelArtifacts"]["S3ModelArtifacts"])) == {"model.joblib"}
    output = s3_uri.join(
        sklearn_job["OutputDataConfig"]["S3OutputPath"],
        sklearn_job["TrainingJobName"],
        "output",
        "output.tar.gz",
    )
    seen = json.loads(_members(seeded, output)["training.json"])
    assert seen["args"]["n_estimators"] == 20 and seen["args"]["max_depth"] == 4
    assert seen["cwd"] == "/opt/ml/code"
    env = seen["environment"]
    assert env["SM_MODEL_DIR"] == "/opt/ml/model"
    assert env["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train"
    assert env["SM_CHANNELS"] == '["train","validation"]'
    assert env["SM_HPS"] == '{"max_depth":4,"n-estimators":20}'
    assert env["SM_USER_ARGS"] == '["--max_depth","4","--n-estimators","20"]'
    assert env["SM_HOSTS"] == '["algo-1"]' and env["SM_CURRENT_HOST"] == "algo-1"
    assert env["SM_OUTPUT_DATA_DIR"] == "/opt/ml/output/data"
    assert json.loads(env["SM_TRAINING_ENV"])["user_entry_point"] == "train_sklearn.py"
    assert env["TRAINING_JOB_NAME"] == sklearn_job["TrainingJobName"]

    xgboost_job = steps["TrainXGBoostScript"].properties
    assert set(_members(seeded, xgboost_job["ModelArtifacts"]["S3ModelArtifacts"])) == {"xgboost-model.json"}

    evaluation = json.loads(
        seeded.clients.s3.get_object(
            Bucket=BUCKET,
            Key=s3_uri.split(
                steps["Evaluate"].properties["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
                + "/evaluation.json",
                key_required=True,
            )[1],
        )["Body"].read()
    )
    assert 2.0 < evaluation["regression_metrics"]["mse"]["value"] < 8.0  # abalone: a real fit
    assert record.warnings == []
