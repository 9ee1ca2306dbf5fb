"""Invoke a user's Lambda handler as the Lambda Python runtime would, in the user's interpreter.

Run as a script (``python invoke_handler.py HANDLER_FILE FUNCTION RESULT_FILE`` with the event as
JSON on stdin), never imported: it is standard library only and imports nothing of the project, so
any interpreter runs it, with the user's own packages. The handler's prints go to stdout (the step's
log). ``RESULT_FILE`` gets ``{"result": ...}`` or, as Lambda reports an unhandled error,
``{"errorType": ..., "errorMessage": ..., "where": "file:line"}`` and the exit status is 1.
"""

import importlib.util
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any, NoReturn

# Lambda's longest timeout (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html):
# what get_remaining_time_in_millis counts down from, as nothing else configures one locally.
TIMEOUT_SECONDS = 900
INVOKED_ARN_ENV = "LOCALCLOUD_INVOKED_FUNCTION_ARN"  # how the caller passes context.invoked_function_arn


class Context:
    """The attributes of Lambda's context object that handlers read."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = os.environ.get(INVOKED_ARN_ENV, function_name)
        self.memory_limit_in_mb = "128"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + TIMEOUT_SECONDS

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def main(handler_file: str, function: str, result_file: str) -> None:
    def finish(document: dict[str, Any], status: int) -> NoReturn:
        with open(result_file, "w") as stream:
            json.dump(document, stream, default=str)
        sys.exit(status)

    sys.path.insert(0, os.path.dirname(os.path.abspath(handler_file)))  # its sibling modules import
    try:
        spec = importlib.util.spec_from_file_location("lambda_function", handler_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"{handler_file} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    except Exception as error:
        finish(
            {
                "errorType": "Runtime.ImportModuleError",
                "errorMessage": f"{type(error).__name__}: {error}",
                "where": _where(error),
            },
            1,
        )
    handler = getattr(module, function, None)
    if not callable(handler):
        finish(
            {
                "errorType": "Runtime.HandlerNotFound",
                "errorMessage": f"{handler_file} has no function {function}",
                "where": handler_file,
            },
            1,
        )
    event = json.load(sys.stdin)
    try:
        result = handler(event, Context(os.environ.get("AWS_LAMBDA_FUNCTION_NAME", function)))
    except Exception as error:
        finish({"errorType": type(error).__name__, "errorMessage": str(error), "where": _where(error)}, 1)
    finish({"result": result}, 0)


if __name__ == "__main__":
    main(*sys.argv[1:4])
