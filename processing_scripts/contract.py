"""The SageMaker container contract: where a job finds its inputs and leaves its outputs.

SageMaker mounts channels under ``/opt/ml``. Step definitions declare those container paths (the
constants below) and the scripts read them through :func:`host_path`, which maps ``/opt/ml`` to the
directory named by ``OPT_ML_DIR`` when it is set. That one variable is how the local executor and
the tests run the very same scripts outside a container.

Every ``/opt/ml`` path the project uses is spelled here and nowhere else: the pipeline definitions
declare them, the scripts read them, the local executor lays jobs out with them and the optional
Model Monitor schedule (``infra/model_monitor.py``) names them.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

OPT_ML = PurePosixPath("/opt/ml")
BASE_DIR_ENV = "OPT_ML_DIR"

# The project's image puts the package here and on PYTHONPATH (see the Dockerfile).
IMAGE_CODE_DIR = "/opt/program"


def host_path(container_path: str | PurePosixPath) -> Path:
    """Map a container path under /opt/ml to where it lives on this host."""
    path = PurePosixPath(container_path)
    try:
        relative = path.relative_to(OPT_ML)
    except ValueError as err:
        raise ValueError(f"{container_path} is not under {OPT_ML}") from err
    return Path(os.environ.get(BASE_DIR_ENV, str(OPT_ML))) / relative


# A processing job's inputs and outputs: ProcessingS3Input.LocalPath "must begin with
# /opt/ml/processing/" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProcessingS3Input.html).
PROCESSING_DIR = OPT_ML / "processing"


def _processing(kind: str, name: str) -> str:
    return str(PROCESSING_DIR / kind / name)


class ProcessingJob:
    """What SageMaker Processing gives, and reads back from, every processing container.

    https://docs.aws.amazon.com/sagemaker/latest/dg/build-your-own-processing-container.html#byoc-config
    (the cluster description) and https://docs.aws.amazon.com/sagemaker/latest/dg/byoc-metadata.html
    (the exit message: the first 1 KB becomes DescribeProcessingJob's ``ExitMessage``).
    """

    RESOURCE_CONFIG = str(OPT_ML / "config" / "resourceconfig.json")
    EXIT_MESSAGE = str(OPT_ML / "output" / "message")


class Preprocess:
    """Raw CSV in; XGBoost-ready splits (headerless, label first) and the feature schema out."""

    RAW = _processing("input", "raw")
    TRAIN = _processing("output", "train")
    VALIDATION = _processing("output", "validation")
    TEST = _processing("output", "test")
    SCHEMA = _processing("output", "schema")
    SCHEMA_FILE = "schema.json"
    # Next to schema.json, one per instance (each reads its own shard): see processing_scripts.data_version.
    DATA_VERSION_FILE = "data-version-{host}.json"


class Evaluate:
    """A model artifact and the test split in; evaluation.json (the condition's input) out."""

    MODEL = _processing("input", "model")
    TEST = _processing("input", "test")
    SCHEMA = _processing("input", "schema")
    CODE = _processing("input", "code")  # a script-mode model's sourcedir.tar.gz
    EVALUATION = _processing("output", "evaluation")
    EVALUATION_FILE = "evaluation.json"


class Baseline:
    """The training split in; Model-Monitor-format statistics.json and constraints.json out."""

    TRAIN = _processing("input", "train")
    SCHEMA = _processing("input", "schema")
    BASELINE = _processing("output", "baseline")


class Monitor:
    """Captured endpoint traffic and a baseline in; violations, summary and report out."""

    CAPTURE = _processing("input", "capture")
    BASELINE = _processing("input", "baseline")
    REPORT = _processing("output", "report")


class Training:
    """Paths of a SageMaker training container (the built-in XGBoost algorithm uses these).

    Inputs: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
    (hyperparameters, channel configuration, cluster description, one directory per channel).
    Outputs: https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html
    (``/opt/ml/model``, packed as ``model.tar.gz`` under ``<S3OutputPath>/<job>/output/``; the failure
    file, whose first 1024 characters become DescribeTrainingJob's ``FailureReason``).
    """

    CONFIG = str(OPT_ML / "input" / "config")
    HYPERPARAMETERS = f"{CONFIG}/hyperparameters.json"
    INPUT_DATA_CONFIG = f"{CONFIG}/inputdataconfig.json"
    RESOURCE_CONFIG = f"{CONFIG}/resourceconfig.json"
    CHANNELS = str(OPT_ML / "input" / "data")
    MODEL = str(OPT_ML / "model")
    FAILURE = str(OPT_ML / "output" / "failure")
    MODEL_ARCHIVE = "model.tar.gz"
    MODEL_FILE = "xgboost-model"  # the file name the built-in XGBoost algorithm writes

    @staticmethod
    def channel(name: str) -> str:
        """The directory a channel's files are copied to."""
        return f"{Training.CHANNELS}/{name}"


class ModelMonitor:
    """AWS's Model Monitor analyzer container, as the optional schedule declares it.

    The job definition chooses these local paths (``EndpointInput.LocalPath``,
    ``MonitoringOutput.LocalPath``); they are the ones the SageMaker SDK's ``DefaultModelMonitor``
    uses. https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-byoc-contract-inputs.html
    """

    ENDPOINT_INPUT = _processing("input", "endpoint")
    OUTPUT = str(PROCESSING_DIR / "output")


# Model-Monitor file names, shared by the baseline step, the monitoring job and the registry.
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"
DRIFT_SUMMARY_FILE = "drift_summary.json"
REPORT_FILE = "report.html"
# What reading the baseline's dataset found: rows used, and every row left out with its reason.
BASELINE_READING_FILE = "baseline_reading.json"
