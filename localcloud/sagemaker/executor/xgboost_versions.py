"""What each version of SageMaker's built-in XGBoost image accepts and writes.

Read from AWS's container source, github.com/aws/sagemaker-xgboost-container, at each version's
branch or tag (``0.90-1``, ``1.0-1``, ``1.2-1``, ``1.3-1``, ``1.5-1``, ``v1.7-1``, ``v3.0-5``):

- hyperparameters: ``src/sagemaker_xgboost_container/algorithm_mode/hyperparameter_validation.py``
  declares every name the version accepts (anything else fails the job with "Extraneous
  hyperparameter found"), ``num_round`` required, and from 1.0 on the aliases ``learning_rate``,
  ``min_split_loss``, ``reg_lambda`` and ``reg_alpha``;
- the model file: ``algorithm_mode/train.py`` pickles the Booster into ``xgboost-model`` up to
  1.2 (``pkl.dump``) and calls ``Booster.save_model`` from 1.3 on, which writes XGBoost's legacy
  binary format before xgboost 2.0 and UBJSON after;
- content types: ``data_utils.py`` reads csv, libsvm (the default when a channel has none),
  parquet and recordio-protobuf in every version.

No xgboost import here: the executor checks a job with these before it starts (and a CLI's
pre-flight with it), without paying for loading xgboost.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from localcloud.sagemaker.executor.hyperparameters import decoded


class ModelFormat(enum.Enum):
    PICKLE = "a pickled Booster"
    LEGACY_BINARY = "XGBoost's legacy binary format"
    UBJSON = "UBJSON"


# 0.90-1's hyperparameter_validation.py.
_V0_90 = frozenset(
    {
        "_tuning_objective_metric", "alpha", "base_score", "booster", "colsample_bylevel",
        "colsample_bynode", "colsample_bytree", "csv_weights", "dsplit", "early_stopping_rounds",
        "eta", "eval_metric", "gamma", "grow_policy", "lambda", "lambda_bias", "max_bin",
        "max_delta_step", "max_depth", "max_leaves", "min_child_weight", "normalize_type",
        "nthread", "num_class", "num_round", "objective", "one_drop", "predictor", "process_type",
        "rate_drop", "refresh_leaf", "sample_type", "scale_pos_weight", "seed", "silent",
        "sketch_eps", "skip_drop", "subsample", "tree_method", "tweedie_variance_power", "updater",
        "verbosity",
    }
)  # fmt: skip
_V1_0 = _V0_90 | {
    "interaction_constraints",
    "monotone_constraints",
    "num_parallel_tree",
    "save_model_on_termination",
}
_V1_2 = (_V1_0 - {"silent"}) | {
    "_nfold", "aft_loss_distribution", "aft_loss_distribution_scale", "deterministic_histogram",
    "single_precision_histogram",
}  # fmt: skip
_V1_3 = (_V1_2 - {"_nfold"}) | {"_kfold", "_num_cv_round", "prob_buffer_row", "sampling_method"}
_V1_5 = _V1_3 | {"use_dask_gpu_training"}
_V1_7 = _V1_5 - {"single_precision_histogram"}
ALIASES = {"learning_rate": "eta", "min_split_loss": "gamma", "reg_lambda": "lambda", "reg_alpha": "alpha"}


@dataclass(frozen=True)
class XGBoostVersion:
    since: tuple[int, int]  # the first image version (major, minor) that behaves like this
    hyperparameters: frozenset[str]
    aliases: bool
    model_format: ModelFormat
    pickle_protocol: int | None = None


# Oldest first; an image version behaves like the last entry at or below it.
VERSIONS = (
    XGBoostVersion((0, 90), _V0_90, aliases=False, model_format=ModelFormat.PICKLE, pickle_protocol=3),
    XGBoostVersion((1, 0), _V1_0, aliases=True, model_format=ModelFormat.PICKLE, pickle_protocol=3),
    XGBoostVersion((1, 2), _V1_2, aliases=True, model_format=ModelFormat.PICKLE, pickle_protocol=4),
    XGBoostVersion((1, 3), _V1_3, aliases=True, model_format=ModelFormat.LEGACY_BINARY),
    XGBoostVersion((1, 5), _V1_5, aliases=True, model_format=ModelFormat.LEGACY_BINARY),
    XGBoostVersion((1, 7), _V1_7, aliases=True, model_format=ModelFormat.LEGACY_BINARY),
    XGBoostVersion((3, 0), _V1_7, aliases=True, model_format=ModelFormat.UBJSON),
)
_TAG = re.compile(r"^(?P<major>\d+)\.(?P<minor>\d+)-\d+(?:-[a-z0-9.-]+)?$")


class UnknownVersionError(ValueError):
    """The image tag is not a built-in XGBoost version this emulation knows."""


def version_of(tag: str) -> XGBoostVersion:
    """How the image tagged ``tag`` (``1.7-1``, ``1.5-1-cpu-py3``) behaves."""
    match = _TAG.match(tag)
    if match is None:
        raise UnknownVersionError(
            f"sagemaker-xgboost:{tag} is not a built-in XGBoost version tag (e.g. 1.7-1)"
        )
    number = (int(match["major"]), int(match["minor"]))
    known = [version for version in VERSIONS if version.since <= number]
    if not known:
        raise UnknownVersionError(
            f"sagemaker-xgboost:{tag} is older than any version the emulation knows (0.90-1 and later)"
        )
    return known[-1]


# Hyperparameters the algorithm handles itself rather than passing to xgboost's booster params.
ALGORITHM_HYPERPARAMETERS = frozenset(
    {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination",
     "_tuning_objective_metric", "use_dask_gpu_training"}
)  # fmt: skip
# Accepted by older images for xgboost versions that had them; xgboost 2+ no longer does.
OBSOLETE_HYPERPARAMETERS = frozenset(
    {"predictor", "deterministic_histogram", "single_precision_histogram", "dsplit", "lambda_bias",
     "prob_buffer_row", "silent"}
)  # fmt: skip
# The images' cross-validation mode (one model per fold) is not emulated.
CROSS_VALIDATION_HYPERPARAMETERS = frozenset({"_kfold", "_nfold", "_num_cv_round"})
_INTEGER_HYPERPARAMETERS = ("num_round", "early_stopping_rounds", "max_depth", "csv_weights")
# data_utils.get_content_type: the names each content type goes by (parameters after ';' aside).
CONTENT_TYPES = {
    "csv": "csv", "text/csv": "csv",
    "libsvm": "libsvm", "text/libsvm": "libsvm", "text/x-libsvm": "libsvm",
    "parquet": "parquet", "application/x-parquet": "parquet",
    "recordio-protobuf": "recordio-protobuf", "application/x-recordio-protobuf": "recordio-protobuf",
}  # fmt: skip
DEFAULT_CONTENT_TYPE = "libsvm"  # what the image assumes of a channel without a ContentType


class ClientError(ValueError):
    """The job's input or hyperparameters are invalid (SageMaker's ``ClientError`` failures)."""


@dataclass(frozen=True)
class TrainingParameters:
    booster: dict[str, Any]
    num_round: int
    early_stopping_rounds: int | None
    csv_weights: bool


def booster_parameters(
    hyperparameters: dict[str, str], version: XGBoostVersion = VERSIONS[-1]
) -> TrainingParameters:
    """Check the job's hyperparameters as ``version`` of the image does; split out the booster's.

    Values are decoded first, as the image's training toolkit does: a json-dumped ``"\"binary:logistic\""``
    is ``binary:logistic``."""
    named: dict[str, Any] = {}
    for name, raw in decoded(hyperparameters).items():
        if name.startswith("sagemaker_"):
            continue  # the training toolkit hands the algorithm everything but these
        canonical = ALIASES.get(name, name) if version.aliases else name
        if canonical not in version.hyperparameters:
            raise ClientError(
                f"Extraneous hyperparameter found: {name} (sagemaker-xgboost {_label(version)} does not accept it)"
            )
        if canonical in CROSS_VALIDATION_HYPERPARAMETERS:
            raise ClientError(
                f"hyperparameter {name}: the image's cross-validation mode is not emulated locally"
            )
        named[canonical] = raw
    if "num_round" not in named:
        raise ClientError("Missing required hyperparameter: num_round")
    params: dict[str, Any] = {}
    for name, raw in named.items():
        if name == "silent" and _parse(name, raw) == 1:
            params["verbosity"] = 0  # what xgboost 1.0 replaced ``silent`` with
        elif name not in ALGORITHM_HYPERPARAMETERS and name not in OBSOLETE_HYPERPARAMETERS:
            params[name] = _parse(name, raw)
    if "eval_metric" in params and isinstance(params["eval_metric"], str):
        params["eval_metric"] = [m for m in params["eval_metric"].split(",") if m]
    num_round = _parse("num_round", named["num_round"])
    if not isinstance(num_round, int) or num_round < 1:
        raise ClientError(f"num_round must be a positive integer, got {named['num_round']!r}")
    early = named.get("early_stopping_rounds")
    weights = _parse("csv_weights", named.get("csv_weights", "0"))
    if weights not in (0, 1):
        raise ClientError(f"csv_weights must be 0 or 1, got {named['csv_weights']!r}")
    return TrainingParameters(
        params,
        num_round,
        None if early is None else int(_parse("early_stopping_rounds", early)),
        weights == 1,
    )


def _label(version: XGBoostVersion) -> str:
    return f"{version.since[0]}.{version.since[1]}"


def _parse(name: str, raw: Any) -> Any:
    text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw).strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    if name in _INTEGER_HYPERPARAMETERS:
        raise ClientError(f"Hyperparameter {name}: could not parse value {raw!r}")
    return text


def content_type_of(name: str, configured: str | None) -> str:
    """The channel's format as the image reads it: ``csv``, ``libsvm``, ``parquet``..."""
    if configured is None:
        return DEFAULT_CONTENT_TYPE
    media, _, parameters = configured.lower().partition(";")
    kind = CONTENT_TYPES.get(media.strip())
    if kind is None:
        raise ClientError(
            f"channel {name}: {configured} is not an accepted ContentType: csv, libsvm, parquet, recordio-protobuf"
        )
    if kind == "csv" and "label_size" in parameters and "label_size=1" not in parameters.replace(" ", ""):
        raise ClientError(f"channel {name}: {configured}: the optional label_size must be 1")
    if kind == "recordio-protobuf":
        raise ClientError(
            f"channel {name}: recordio-protobuf data is not emulated locally (use csv, libsvm or parquet)"
        )
    return kind
