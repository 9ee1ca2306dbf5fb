"""Script ("framework") mode training, as AWS's SageMaker training toolkit runs it inside the
scikit-learn, XGBoost, PyTorch, ... framework images.

The toolkit (github.com/aws/sagemaker-training-toolkit, ``src/sagemaker_training``) reads the job's
hyperparameters, JSON-decoding each value (:mod:`..hyperparameters`); takes ``sagemaker_program`` and
``sagemaker_submit_directory`` (a ``sourcedir.tar.gz`` in S3) out of them (``params.py``,
``mapping.split_by_criteria``); extracts the archive into ``/opt/ml/code``
(``files.download_and_extract``); pip-installs its ``requirements.txt``; and runs
``python <program> --name value ...`` from ``/opt/ml/code`` (``process.ProcessRunner``,
``mapping.to_cmd_args``: names sorted, a one-letter name gets ``-``) with the training
environment as ``SM_*`` variables (``environment.Environment.to_env_vars``, ``mapping.to_env_vars``:
strings as they are, everything else compact sorted JSON).

Here the same happens with this interpreter, except the pip install: a requirement this
environment does not satisfy is named before the job starts.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from localcloud.sagemaker.executor.hyperparameters import decoded
from localcloud.sagemaker.executor.steps.archives import download_and_extract, pack_and_upload
from localcloud.sagemaker.executor.steps.base import StepError
from processing_scripts import contract

PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
# params.SAGEMAKER_HYPERPARAMETERS: the toolkit's own, never passed to the script.
TOOLKIT_HYPERPARAMETERS = (
    PROGRAM,
    SUBMIT_DIRECTORY,
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "default_user_module_name",
    "_tuning_objective_metric",
    "sagemaker_s3_output",
)
CODE_DIR = str(contract.OPT_ML / "code")
OUTPUT_DIR = str(contract.OPT_ML / "output")
OUTPUT_DATA_DIR = f"{OUTPUT_DIR}/data"
OUTPUT_ARCHIVE = "output.tar.gz"
INPUT_DIR = str(contract.OPT_ML / "input")
_LOG_LEVEL_INFO = 20


def is_script_mode(hyperparameters: dict[str, Any]) -> bool:
    return PROGRAM in hyperparameters


@dataclass(frozen=True)
class ScriptJob:
    """One script-mode training job: what the toolkit would run, and with which environment."""

    program: str
    submit_directory: str | None
    user_hyperparameters: dict[str, Any]
    toolkit_hyperparameters: dict[str, Any]

    @classmethod
    def of(cls, hyperparameters: dict[str, str]) -> ScriptJob:
        values = decoded(hyperparameters)
        toolkit = {
            k: v for k, v in values.items() if k in TOOLKIT_HYPERPARAMETERS or k.startswith("sagemaker_")
        }
        user = {k: v for k, v in values.items() if k not in toolkit}
        program = toolkit.get(PROGRAM)
        if not isinstance(program, str) or not program:
            raise StepError(f"hyperparameter {PROGRAM} must name the training script, got {program!r}")
        submit = toolkit.get(SUBMIT_DIRECTORY)
        return cls(program, None if submit is None else str(submit), user, toolkit)

    def source_problem(self) -> str | None:
        """Why the script cannot be fetched locally (one line), or None."""
        if self.submit_directory is None:
            return (
                f"hyperparameter {SUBMIT_DIRECTORY} is missing: the script {self.program} would have to be "
                "inside the image, which the local executor does not have"
            )
        if not self.submit_directory.startswith("s3://"):
            return (
                f"hyperparameter {SUBMIT_DIRECTORY} {self.submit_directory!r}: only an s3:// "
                "sourcedir.tar.gz can run locally"
            )
        return None

    def arguments(self) -> list[str]:
        """``mapping.to_cmd_args``: ``--name value`` per user hyperparameter, names sorted."""
        argv: list[str] = []
        for name in sorted(self.user_hyperparameters):
            value = self.user_hyperparameters[name]
            argv.append(f"--{name}" if len(name) > 1 else f"-{name}")
            argv.append(
                ",".join(f"{k}={v}" for k, v in sorted(value.items()))
                if isinstance(value, dict)
                else str(value)
            )
        return argv

    def command(self, code_dir: Path, python: str) -> list[str]:
        """``process.ProcessRunner._create_command``: a package, a Python script, or a command."""
        if self.program.endswith(".sh") or not (
            self.program.endswith(".py") or (code_dir / "setup.py").is_file()
        ):
            return ["/bin/sh", "-c", " ".join([f"./{self.program}", *map(shlex.quote, self.arguments())])]
        if (code_dir / "setup.py").is_file():
            return [python, "-m", self.program.removesuffix(".py"), *self.arguments()]
        return [python, self.program, *self.arguments()]

    def environment(
        self, job_name: str, channels: dict[str, Any], hosts: list[str], host: str
    ) -> dict[str, str]:
        """The ``SM_*`` variables of ``Environment.to_env_vars`` (and the platform's job name)."""
        channel_dirs = {name: contract.Training.channel(name) for name in channels}
        resource_config = {"current_host": host, "hosts": hosts, "network_interface_name": "eth0"}
        module = self.program.removesuffix(".py")
        env: dict[str, Any] = {
            "hosts": hosts,
            "network_interface_name": "eth0",
            "hps": self.user_hyperparameters,
            "user_entry_point": self.program,
            "framework_params": {},
            "resource_config": resource_config,
            "input_data_config": channels,
            "output_data_dir": OUTPUT_DATA_DIR,
            "channels": sorted(channel_dirs),
            "current_host": host,
            "current_instance_type": "local",
            "current_instance_group": "homogeneousCluster",
            "current_instance_group_hosts": hosts,
            "instance_groups": ["homogeneousCluster"],
            "instance_groups_dict": {},
            "distribution_instance_groups": [],
            "is_hetero": False,
            "module_name": module,
            "log_level": self.toolkit_hyperparameters.get("sagemaker_container_log_level", _LOG_LEVEL_INFO),
            "framework_module": None,
            "input_dir": INPUT_DIR,
            "input_config_dir": contract.Training.CONFIG,
            "output_dir": OUTPUT_DIR,
            "num_cpus": os.cpu_count() or 1,
            "num_gpus": 0,
            "num_neurons": 0,
            "model_dir": contract.Training.MODEL,
            "module_dir": self.submit_directory or CODE_DIR,
            "user_args": self.arguments(),
            "output_intermediate_dir": f"{OUTPUT_DIR}/intermediate",
            "job_name": job_name,
        }
        env["training_env"] = dict(env)
        env.update({f"channel_{name}": path for name, path in channel_dirs.items()})
        env.update({f"hp_{name}": value for name, value in self.user_hyperparameters.items()})
        variables = {f"SM_{key.upper()}": _env_value(value) for key, value in env.items()}
        return {**variables, "TRAINING_JOB_NAME": job_name, "CURRENT_HOST": host}


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def stage_code(s3: Any, job: ScriptJob, code_dir: Path) -> None:
    """Extract ``sagemaker_submit_directory`` from the emulator's S3 into ``/opt/ml/code`` (``s3``:
    the job role's client, as SageMaker reads it)."""
    problem = job.source_problem()
    if problem is not None:
        raise StepError(problem)
    uri = str(job.submit_directory)  # an s3:// URI: source_problem says so
    download_and_extract(s3, uri, code_dir, f"the training code ({SUBMIT_DIRECTORY})")
    if not (code_dir / job.program).is_file() and not (code_dir / "setup.py").is_file():
        raise StepError(f"{uri} has no {job.program} (the {PROGRAM} hyperparameter)")
    unmet = unmet_requirements(code_dir / "requirements.txt")
    if unmet:
        raise StepError(
            f"{uri}: requirements.txt needs {', '.join(unmet)}, which this environment does not have "
            "(the training toolkit would pip-install it): install it into the venv the executor runs in"
        )


def unmet_requirements(path: Path) -> list[str]:
    """The requirements (one per line, pip's syntax) no installed distribution satisfies."""
    if not path.is_file():
        return []
    unmet = []
    for line in path.read_text().splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or text.startswith("-"):
            continue  # pip options (-r, --index-url) say nothing about what is installed
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            unmet.append(f"{text!r} (not a requirement pip understands)")
            continue
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        installed = _installed_version(requirement.name)
        if installed is None:
            unmet.append(str(requirement))
        elif not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{requirement} (installed: {installed})")
    return unmet


def _installed_version(name: str) -> str | None:
    """The version installed under ``name``, or under another distribution that provides the same
    import package (``xgboost-cpu`` for ``xgboost``, as this project installs it)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    providers = importlib.metadata.packages_distributions().get(name.replace("-", "_").lower(), [])
    return importlib.metadata.version(providers[0]) if providers else None


def upload_output_data(s3: Any, opt_ml: Path, output_path: str, job_name: str) -> str | None:
    """``/opt/ml/output/data`` packed as ``<S3OutputPath>/<job>/output/output.tar.gz`` (when not empty)."""
    data_dir = opt_ml / Path(OUTPUT_DATA_DIR).relative_to(str(contract.OPT_ML))
    files = sorted(p for p in data_dir.rglob("*")) if data_dir.is_dir() else []
    if not files:
        return None
    return pack_and_upload(s3, data_dir, opt_ml / OUTPUT_ARCHIVE, output_path, job_name)
