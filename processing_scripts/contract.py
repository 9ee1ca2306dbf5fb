"""The SageMaker container contract: where a job finds its inputs and leaves its outputs.

SageMaker mounts channels under ``/opt/ml``. Step definitions declare those container paths (the
constants below) and the scripts read them through :func:`host_path`, which maps ``/opt/ml`` to the
directory named by ``OPT_ML_DIR`` when it is set. That one variable is how the local executor and
the tests run the very same scripts outside a container.
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


def _processing(kind: str, name: str) -> str:
    return str(OPT_ML / "processing" / kind / name)


class Preprocess:
    """Raw CSV in; XGBoost-ready splits (headerless, label first) and the feature schema out."""

    RAW = _processing("input", "raw")
    TRAIN = _processing("output", "train")
    VALIDATION = _processing("output", "validation")
    TEST = _processing("output", "test")
    SCHEMA = _processing("output", "schema")
    SCHEMA_FILE = "schema.json"


class Evaluate:
    """A model artifact and the test split in; evaluation.json (the condition's input) out."""

    MODEL = _processing("input", "model")
    TEST = _processing("input", "test")
    SCHEMA = _processing("input", "schema")
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
    """Paths of a SageMaker training container (the built-in XGBoost algorithm uses these)."""

    CHANNELS = str(OPT_ML / "input" / "data")
    MODEL = str(OPT_ML / "model")
    OUTPUT = str(OPT_ML / "output")
    MODEL_FILE = "xgboost-model"  # the file name the built-in XGBoost algorithm writes


# Model-Monitor file names, shared by the baseline step, the monitoring job and the registry.
STATISTICS_FILE = "statistics.json"
CONSTRAINTS_FILE = "constraints.json"
VIOLATIONS_FILE = "constraint_violations.json"
DRIFT_SUMMARY_FILE = "drift_summary.json"
REPORT_FILE = "report.html"
