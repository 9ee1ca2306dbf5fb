"""Build a user's pipeline object in the user's interpreter, with their SageMaker SDK, and write its
definition: ``python build_pipeline.py MODULE_FILE FUNCTION REQUEST_FILE RESULT_FILE``.

Run as a script, never imported: standard library only, nothing of the project, so any interpreter
runs it (an SDK 2.x one included). The caller puts the emulator's endpoint, region and fake
credentials in the environment, so every AWS call the SDK makes while building (the uploads of code
and data, the default bucket's check) lands in the emulator.

``REQUEST_FILE`` holds ``{"kwargs": {...}, "defaults": {...}}``: the keyword arguments the user gave,
and values for the SageMaker Projects seed's conventional parameters (``region``, ``role``,
``default_bucket``) used only when the function takes them and the user gave none.
``RESULT_FILE`` gets ``{"name": ..., "definition": {...}}``, or ``{"error": ..., "where": "file:line"}``
with exit status 1.
"""

import importlib.util
import inspect
import json
import os
import sys
import traceback
from typing import Any, NoReturn


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def main(module_file: str, function: str, request_file: str, result_file: str) -> None:
    def finish(document: dict[str, Any], status: int) -> NoReturn:
        with open(result_file, "w") as stream:
            json.dump(document, stream)
        sys.exit(status)

    def fail(error: BaseException) -> NoReturn:
        finish(
            {"error": f"{type(error).__name__}: {' '.join(str(error).split())}", "where": _where(error)}, 1
        )

    with open(request_file) as stream:
        request = json.load(stream)
    # Its siblings import as top-level modules, and the working directory's packages too (the
    # seed's pipelines/ folder), as `python -c "from pipelines.abalone.pipeline import ..."` would.
    sys.path[:0] = [os.path.dirname(os.path.abspath(module_file)), os.getcwd()]
    try:
        spec = importlib.util.spec_from_file_location("user_pipeline", module_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"{module_file} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as error:
        fail(error)
    build = getattr(module, function, None)
    if not callable(build):
        finish({"error": f"{module_file} has no function {function}", "where": module_file}, 1)
    kwargs = dict(request["kwargs"])
    accepted = inspect.signature(build).parameters
    for name, value in request["defaults"].items():
        if name in accepted and name not in kwargs:
            kwargs[name] = value
    try:
        pipeline = build(**kwargs)
        definition = json.loads(pipeline.definition())
        name = pipeline.name
    except Exception as error:
        fail(error)
    finish({"name": name, "definition": definition}, 0)


if __name__ == "__main__":
    main(*sys.argv[1:5])
