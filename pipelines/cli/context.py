"""What every command shares: the selected settings, the AWS client factory and error reporting."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from rich.console import Console

from pipelines import settings as settings_module
from pipelines.cli.exit_codes import ExitCode
from pipelines.cli.regions import REGION_VARIABLES, sagemaker_regions, selected_region
from processing_scripts.aws_clients import AwsClients, AwsTarget

# soft_wrap: never break an ARN or a path across lines; they get copied into other commands.
# highlight off: rich's automatic highlighting coloured numbers and words in the middle of ARNs and
# paths; colour is only where a command asks for it (a status, a verdict).
console = Console(soft_wrap=True, highlight=False)
console_err = Console(stderr=True, soft_wrap=True, highlight=False)


class CliError(Exception):
    """A failure the user can fix; printed as one line plus a hint, never a traceback."""

    # The codes, by name (meanings in exit_codes.MEANINGS, the table in docs/cli.md).
    USAGE = ExitCode.USAGE
    INVALID = ExitCode.INVALID
    AWS = ExitCode.AWS
    FAILED = ExitCode.FAILED
    NOT_FOUND = ExitCode.NOT_FOUND
    DECLINED = ExitCode.DECLINED
    INTERRUPTED = ExitCode.INTERRUPTED

    def __init__(self, message: str, hint: str = "", exit_code: int = ExitCode.USAGE) -> None:
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
    # Set by the commands that run only in the local cloud (demo), before they read the settings:
    # there a stage may be named without its account (settings.EMULATED_STAGE_ACCOUNTS).
    emulated_stage_accounts: bool = False

    @cached_property
    def settings(self) -> settings_module.Settings:
        region, source = selected_region(self.region, self.profile)
        if region is not None and region not in sagemaker_regions():
            raise CliError(
                f"unknown AWS region {region!r} (from {source})",
                "use a SageMaker region such as us-east-1 or eu-west-1; "
                f"the region comes from --region, else {', '.join(REGION_VARIABLES)}, else the AWS profile",
            )
        try:
            return settings_module.load(
                self.env, region=region, emulated_stage_accounts=self.emulated_stage_accounts
            )
        except settings_module.SettingsError as err:
            raise CliError(
                str(err),
                "see pipelines/settings.py for the accepted values (examples: docs/your-own-data.md)",
            ) from err

    def stage(self, name: str) -> settings_module.Stage:
        """The configured deployment stage ``name`` (``--stage`` of every command that takes one);
        one line naming the configured stages otherwise."""
        try:
            return self.settings.stage(name)
        except settings_module.SettingsError as err:
            raise CliError(str(err), "e.g. MLOPS_STAGES=staging:111111111111,prod:222222222222") from err

    @cached_property
    def clients(self) -> AwsClients:
        return AwsClients(
            AwsTarget.from_env(
                region=self.settings.region, profile=self.profile, endpoint_url=self.endpoint_url
            )
        )


def describe_aws_error(err: Exception, endpoint_url: str | None = None) -> tuple[str, str] | None:
    """One line and a hint for the AWS failures users meet; None for anything else (a bug).

    ``endpoint_url`` is where the calls went (None: real AWS), so the hint fits the setup: an
    emulator needs dummy keys, not another ``--endpoint-url``.
    """
    from botocore import exceptions as bx

    if isinstance(err, bx.NoCredentialsError | bx.PartialCredentialsError):
        if endpoint_url:
            return (
                f"no AWS credentials for {endpoint_url}",
                "an emulator accepts any keys: export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x",
            )
        return ("no AWS credentials found", "set AWS_PROFILE or --profile (or run `aws configure sso`)")
    if isinstance(err, bx.ProfileNotFound):
        return (str(err), "list profiles with `aws configure list-profiles`")
    if isinstance(err, bx.EndpointConnectionError):
        return (f"cannot reach {err.kwargs.get('endpoint_url')}", "check --endpoint-url / network access")
    if isinstance(err, bx.ClientError):
        code = err.response.get("Error", {}).get("Code", "Error")
        msg = _one_line(err.response.get("Error", {}).get("Message", str(err)))
        op = getattr(err, "operation_name", "call")
        if "AccessDenied" in code or "Unauthorized" in code:
            hint = "check the role/permissions of your credentials"
        elif msg.lstrip().startswith("<"):  # an emulator's HTML error page for an action it lacks
            msg = "the endpoint answered with an error page, not an AWS error"
            hint = f"{endpoint_url or 'the endpoint'} may not implement {op}; check the arguments"
        else:
            hint = "check the name and region, or run `upsert` first"
        return (f"{op} failed: {code}: {msg}", hint)
    if isinstance(err, bx.BotoCoreError):
        return (_one_line(str(err)), "check your AWS configuration")
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())
