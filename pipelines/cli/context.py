"""What every command shares: the selected settings, the AWS client factory and error reporting."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from rich.console import Console

from pipelines import settings as settings_module
from processing_scripts.aws_clients import AwsClients, AwsTarget

# soft_wrap: never break an ARN or a path across lines; they get copied into other commands.
console = Console(soft_wrap=True)
console_err = Console(stderr=True, soft_wrap=True)


class CliError(Exception):
    """A failure the user can fix; printed as one line plus a hint, never a traceback."""

    USAGE = 2  # bad arguments or parameters
    INVALID = 3  # a definition or file failed validation
    AWS = 4  # AWS (or the emulator) refused or could not be reached
    FAILED = 5  # the thing ran and failed (a pipeline execution, a drift gate)

    def __init__(self, message: str, hint: str = "", exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


@dataclass
class CliContext:
    env: str | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    _overrides: dict[str, object] = field(default_factory=dict)

    @cached_property
    def settings(self) -> settings_module.Settings:
        try:
            return settings_module.load(self.env, region=self.region)
        except settings_module.SettingsError as err:
            raise CliError(str(err), "see pipelines/settings.py for the accepted values") from err

    @cached_property
    def clients(self) -> AwsClients:
        return AwsClients(
            AwsTarget.from_env(
                region=self.settings.region, profile=self.profile, endpoint_url=self.endpoint_url
            )
        )


def describe_aws_error(err: Exception) -> tuple[str, str] | None:
    """One line and a hint for the AWS failures users meet; None for anything else (a bug)."""
    from botocore import exceptions as bx

    if isinstance(err, bx.NoCredentialsError | bx.PartialCredentialsError):
        return (
            "no AWS credentials found",
            "set AWS_PROFILE or --profile, or --endpoint-url for a local emulator",
        )
    if isinstance(err, bx.ProfileNotFound):
        return (str(err), "list profiles with `aws configure list-profiles`")
    if isinstance(err, bx.EndpointConnectionError):
        return (f"cannot reach {err.kwargs.get('endpoint_url')}", "check --endpoint-url / network access")
    if isinstance(err, bx.ClientError):
        code = err.response.get("Error", {}).get("Code", "Error")
        msg = err.response.get("Error", {}).get("Message", str(err))
        op = getattr(err, "operation_name", "call")
        hint = (
            "check the role/permissions of your credentials"
            if "AccessDenied" in code or "Unauthorized" in code
            else "check the name and region, or run `upsert` first"
        )
        return (f"{op} failed: {code}: {msg}", hint)
    if isinstance(err, bx.BotoCoreError):
        return (str(err), "check your AWS configuration")
    return None
