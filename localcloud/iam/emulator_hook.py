"""moto's side of IAM enforcement: its per-request authorization hook, reading a request, answering
with AWS's error.

moto calls ``ActionAuthenticatorMixin._authenticate_and_authorize_action`` on every request before it
acts (its own IAM simulation, off by default). While an :class:`~localcloud.iam.enforcement.AccessControl`
is active, that method asks it instead; otherwise moto's default runs. moto keeps one server state
per process, so there is one active control per process.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.parse
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.iam.enforcement import AccessControl

# Where a SigV4 signing name differs from the IAM prefix.
SIGNING_TO_IAM = {"monitoring": "cloudwatch", "email": "ses"}


def credential(headers: Mapping[str, str]) -> tuple[str | None, str]:
    """(access key id, signing service) from ``Authorization: AWS4-HMAC-SHA256 Credential=KEY/date/region/service/...``."""
    header = headers.get("Authorization") or headers.get("authorization") or ""
    start = header.find("Credential=")
    if start < 0:
        return None, ""
    scope = header[start + len("Credential=") :].split(",", 1)[0].split("/")
    return scope[0], scope[3] if len(scope) > 3 else ""


def params(response: Any, service: str = "", operation: str = "") -> dict[str, Any]:
    """The request's top-level parameters: a JSON body, or the query string / form. For a REST-JSON
    API (Lambda), also those in its path, and no body when the body is the call's payload (Invoke's
    event: its fields are the caller's data, never what the call is authorized against)."""
    rest = _rest_path_params(response, service, operation) if service and operation else None
    if rest is not None:
        path_params, body_is_payload = rest
        return {**({} if body_is_payload else _body(response)), **query(response), **path_params}
    return _body(response) or query(response)


def _body(response: Any) -> dict[str, Any]:
    body = getattr(response, "body", None)
    if isinstance(body, bytes | str) and body:
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    return {}


@functools.cache
def _rest_operation(service: str, operation: str) -> tuple[re.Pattern[str], bool] | None:
    """(a pattern of the operation's request path with a group per path parameter, whether its body
    is a payload) from botocore's model; None unless the service speaks REST-JSON."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError
    from botocore.model import OperationNotFoundError

    try:
        model = botocore.session.get_session().get_service_model(service).operation_model(operation)
    except (UnknownServiceError, OperationNotFoundError):
        return None
    if model.metadata.get("protocol") != "rest-json":
        return None
    path = str(model.http["requestUri"]).split("?", 1)[0]
    # re.escape turns {FunctionName} into \{FunctionName\} (and a greedy {Key+} into \{Key\+\}).
    pattern = re.sub(r"\\\{(\w+)(?:\\\+)?\\\}", r"(?P<\1>[^/]+)", re.escape(path))
    payload = model.input_shape is not None and "payload" in model.input_shape.serialization
    return re.compile(f"^{pattern}$"), payload


def _rest_path_params(response: Any, service: str, operation: str) -> tuple[dict[str, str], bool] | None:
    found = _rest_operation(service, operation)
    if found is None:
        return None
    pattern, body_is_payload = found
    match = pattern.match(str(getattr(response, "path", "")))
    named = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()} if match else {}
    return named, body_is_payload


def query(response: Any) -> dict[str, Any]:
    """The request's query string (or form) parameters, single values unwrapped."""
    querystring = getattr(response, "querystring", None) or {}
    return {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in querystring.items()}


def error(response: Any, code: str, message: str, *, service: str = "") -> Exception:
    """AWS's error in the protocol of the service that was called."""
    from moto.core.responses import ActionResult
    from werkzeug.exceptions import HTTPException

    if service == "s3":
        from moto.s3.exceptions import S3ClientError

        return S3ClientError(code, message)
    json_code = "AccessDeniedException" if code == "AccessDenied" else code
    with (
        warnings.catch_warnings()
    ):  # moto warns that the code is not in the service's model; AWS's is not either
        warnings.simplefilter("ignore", UserWarning)
        status, headers, body = response.serialized(ActionResult(_reply_class()(json_code, message)))
    response.response_headers.update({k: v for k, v in headers.items() if k.lower() != "status"})
    answer = HTTPException(description=body)
    answer.code = 403 if code in ("AccessDenied", "InvalidClientTokenId") else int(status)
    return answer


@functools.cache
def _reply_class() -> type:
    """A moto service error defined outside moto, so moto serializes it with the called service's
    model instead of looking for a service named after the defining module."""
    from moto.core.exceptions import ServiceException

    return type("AccessControlReply", (ServiceException,), {"__module__": __name__})


class _Hook:
    """The process's one patch of moto's authorization method, and the control it asks."""

    active: AccessControl | None = None
    installed = False


def install(control: AccessControl | None) -> None:
    """Route moto's per-request authorization to ``control`` (None: back to moto's default, off)."""
    _Hook.active = control
    if _Hook.installed or control is None:
        return
    from moto.core.authorization import ActionAuthenticatorMixin

    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        active = _Hook.active
        if active is None or not active.enforcing:
            return original(self, iam_request_cls, resource)
        active.check_request(self, resource)
        return None

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize  # type: ignore[method-assign]
    _Hook.installed = True
