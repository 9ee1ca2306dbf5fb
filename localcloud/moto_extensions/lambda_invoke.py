"""Lambda's Invoke answered by the local cloud's own functions (moto needs Docker to run one).

The project's functions are plain Python modules run in-process (:mod:`localcloud.awslambda`);
the pipelines' Lambda steps and the rules' targets reach them directly. A client of the emulator
(a CLI command such as ``pipelines promote``) calls ``lambda:Invoke`` instead, and moto 5.2.5
would answer it only by starting a container. While a route is installed, :func:`install` makes
moto's Invoke ask it first: a function the route knows is run in-process and its result is the
response payload; a function error is answered as Lambda answers one, with ``X-Amz-Function-Error:
Unhandled`` and ``{"errorMessage", "errorType"}`` as the payload
(https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaBackend

# function name or ARN, event -> (result, error type or None); None when the route knows no such function
Route = Callable[[str, Any], tuple[Any, str | None] | None]


class _Route:
    active: Route | None = None
    installed = False


def install(route: Route | None) -> None:
    """Answer Invoke with ``route`` from now on (None: moto's own Invoke)."""
    _Route.active = route
    if _Route.installed or route is None:
        return
    original = LambdaBackend.invoke

    def invoke(  # noqa: PLR0917 - moto calls it with its own positional signature
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> str | bytes | None:
        route = _Route.active
        event = json.loads(body) if body else {}
        answered = route(function_name, event) if route is not None else None
        if answered is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        result, error_type = answered
        if error_type is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(result), "errorType": error_type}).encode()
        return json.dumps(result).encode()

    LambdaBackend.invoke = invoke  # type: ignore[method-assign]
    _Route.installed = True
