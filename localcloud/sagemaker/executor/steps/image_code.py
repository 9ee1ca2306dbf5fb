"""A job that runs code baked into its image cannot run locally: say so before anything runs.

The local executor runs a job's command on this machine, where no image exists: a path under
``/opt/ml`` in the command works only when one of the job's inputs puts a file there (the SDK's
``code=`` upload, a ``ProcessingInput``). A command naming ``/opt/ml/processing/input/code/x.py``
with no input at that place runs a script that lives only inside the user's image (AWS's abalone
example does this), and would fail mid-run with "No such file"; the pre-flight reports it instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from localcloud.sagemaker.executor.steps.base import Blocker
from pipelines.definition import Step
from pipelines.settings import Settings
from processing_scripts import contract


def processing_blockers(step: Step, _settings: Settings) -> Iterator[Blocker]:
    """The command's ``/opt/ml`` files that no input of the job provides."""
    arguments = step.arguments if isinstance(step.arguments, dict) else {}
    app = arguments.get("AppSpecification") or {}
    provided = [
        PurePosixPath(item["S3Input"]["LocalPath"])
        for item in arguments.get("ProcessingInputs") or []
        if isinstance(item.get("S3Input"), dict) and isinstance(item["S3Input"].get("LocalPath"), str)
    ]
    for word in app.get("ContainerEntrypoint") or []:
        if not isinstance(word, str) or not word.startswith(f"{contract.OPT_ML}/"):
            continue
        path = PurePosixPath(word)
        if not any(path.is_relative_to(local) for local in provided):
            yield Blocker(
                f"its command runs {word}, which no input provides: it is inside the image "
                f"{app.get('ImageUri', '?')}, and images do not run locally"
            )
