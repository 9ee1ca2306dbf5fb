"""Why a ``@step`` function's training job is refused before anything runs, not attempted.

The SageMaker SDK turns a ``@step``-decorated function into a training job: it pickles the function
and its arguments with cloudpickle into S3, and the job runs the SDK's own driver
(``/opt/ml/input/data/sagemaker_remote_function_bootstrap/job_driver.sh``, staged through that
channel) in the job's image. The driver's ``bootstrap_runtime_environment.py`` runs
``python -m pip install -r <requirements> -U`` (or a conda install) into the job's Python, and then
refuses to unpickle unless that Python's version and the installed SDK's version match the client
that built the pipeline (``--client_python_version``, ``--client_sagemaker_pysdk_version``; see
``sagemaker/remote_function/runtime_environment/runtime_environment_manager.py`` in the SDK).

Locally a job's Python is this project's environment: the driver would upgrade packages in it (a
job must never install into the project's venv), and this SDK (3.x) is not the 2.x that most
``@step`` pipelines are built with. So the pre-flight names the step and ``--stub`` instead of the
job failing (or worse, succeeding at an install) mid-run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The SDK's channel for its job driver (sagemaker.remote_function.job.RUNTIME_SCRIPTS_CHANNEL_NAME,
# the same name in SDK 2.x and 3.x).
REMOTE_FUNCTION_CHANNEL = "sagemaker_remote_function_bootstrap"


def function_step_problem(arguments: Mapping[str, Any]) -> str | None:
    """The one line that refuses a ``@step`` function's job (a CreateTrainingJob request), else None."""
    channels = [
        c.get("ChannelName") for c in arguments.get("InputDataConfig") or [] if isinstance(c, Mapping)
    ]
    if REMOTE_FUNCTION_CHANNEL not in channels:
        return None
    return (
        "a @step function: the SDK's job driver pip-installs the function's dependencies into the "
        "job's Python and unpickles it only with the Python and SDK versions that built it; locally "
        "that Python is this environment, which a job must not install into"
    )
