"""Several AWS accounts in one moto server: a request acts in the account of its credentials.

moto 5.2.5 keeps each service's state per account (``backends[account][region]``) but picks the
account of a request from ``MOTO_ACCOUNT_ID`` first, then an ``x-moto-account-id`` header, then the
IAM access keys *moto* issued, else its default; the keys the local cloud hands out (one per
assumed role, see :mod:`localcloud.iam.enforcement`) are none of moto's, so every request landed in
one account. :func:`install` makes the account the one the caller's access key belongs to, as in
AWS, where an assumed role's temporary credentials act in the role's account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html).

One cross-account read moto does not route: ``DescribeModelPackage`` by the ARN of a package in
another account looks in the caller's own account. SageMaker reads the named account's registry
(a model package group's resource policy shares its versions with other accounts,
https://docs.aws.amazon.com/sagemaker/latest/dg/model-registry-version-deploy-cross-account.html);
whether the caller may is IAM's question, answered by :mod:`localcloud.iam` before moto acts.
S3 needs nothing: moto already finds a bucket in whichever account owns it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import BaseResponse
from moto.iam.models import iam_backends
from moto.sagemaker.models import SageMakerModelBackend, sagemaker_backends
from moto.sts.models import sts_backends


class _Resolver:
    """The process's one resolver (moto's state is process-wide, so is the emulator)."""

    account_of: Callable[[str], str | None] | None = None
    installed = False


def install(account_of: Callable[[str], str | None] | None) -> None:
    """From now on, a request's account is ``account_of(access key)``; where that answers None, the
    account of the role moto's own STS issued the key for (``AssumeRole``), else moto's default.
    ``account_of`` None: moto's own choice throughout."""
    _Resolver.account_of = account_of
    if _Resolver.installed or account_of is None:
        return
    original_account = BaseResponse.get_current_account

    def get_current_account(self: BaseResponse) -> str:
        resolve = _Resolver.account_of
        if resolve is None:
            return original_account(self)
        key = self.get_access_key()
        return resolve(key) or _issued_for(key) or original_account(self)

    original_describe = SageMakerModelBackend.describe_model_package

    def describe_model_package(self: SageMakerModelBackend, model_package_name: str) -> Any:
        owner = _arn_account(model_package_name)
        if owner is not None and owner != self.account_id:
            return sagemaker_backends[owner][self.region_name].describe_model_package(model_package_name)
        return original_describe(self, model_package_name)

    BaseResponse.get_current_account = get_current_account  # type: ignore[method-assign]
    SageMakerModelBackend.describe_model_package = describe_model_package  # type: ignore[method-assign]
    _Resolver.installed = True


def _issued_for(access_key: str) -> str | None:
    """The account whose IAM holds ``access_key`` (moto's STS files an assumed role's key there)."""
    for account, partitions in list(iam_backends.items()):
        if any(access_key in backend.access_keys for backend in partitions.values()):
            return account
    return None


def assumed_role(access_key: str) -> tuple[str, str] | None:
    """(role ARN, session name) of the credentials moto's STS issued as ``access_key``; None if it
    issued none: the caller of a role's AssumeRole then acts as that role, as in AWS."""
    for partitions in list(sts_backends.values()):
        for backend in partitions.values():
            role = backend.get_assumed_role_from_access_key(access_key)
            if role is not None:
                return role.role_arn, role.session_name
    return None


def _arn_account(name: str) -> str | None:
    """The account field of an ARN (``arn:aws:sagemaker:region:ACCOUNT:...``); None for a name."""
    fields = name.split(":")
    return fields[4] if name.startswith("arn:") and len(fields) > 5 and fields[4] else None
