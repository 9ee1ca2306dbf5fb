"""A private AWS on 127.0.0.1: moto's server, seeded with what the project's stacks would create.

The local executor, the Lambda handlers it calls and the container scripts it starts all reach this
emulator through :mod:`processing_scripts.aws_clients`, the same factory they use against real AWS;
only the endpoint URL (and fixed fake credentials) differ. It binds to the loopback interface on a
free port, so nothing outside this machine can reach it and two runs never collide on a port.

moto keeps its state in process-wide memory: run one emulator per process at a time. The state is
reset when the emulator starts and when it stops, so every run begins empty. Within it, each account
has its own state: a request acts in the account its access key belongs to (the build account's
administrator, a stage account's administrator, or a role's credentials registered with
:meth:`LocalAws.register_key`), see :mod:`localcloud.moto_extensions.accounts`.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request
from pathlib import Path

from localcloud.lifecycle import Service
from pipelines.model_code import upload_model_code
from pipelines.settings import BUCKET_PURPOSES, Settings
from processing_scripts import s3_uri
from processing_scripts.aws_clients import ENDPOINT_ENV, AwsClients, AwsTarget

log = logging.getLogger(__name__)

FAKE_CREDENTIALS = ("testing", "testing")  # moto accepts any; real ones are never needed or sent
MOTO_DEFAULT_ACCOUNT = "123456789012"
_MOTO_ACCOUNT_ENV = "MOTO_ACCOUNT_ID"
STANDARD_ENDPOINT_ENV = "AWS_ENDPOINT_URL"  # the AWS SDKs' own "send every service here" variable
# How often the server's loop checks for a stop request, so how long stop() can wait for it.
# socketserver's default (0.5 s), which moto's ThreadedMotoServer keeps, made every stop take 0.5 s:
# stop() resets the state with a request, which restarts the loop's wait just before shutdown.
_STOP_POLL_SECONDS = 0.05


class EmulatorError(RuntimeError):
    """The emulator could not start or be seeded; the message says what and why."""


class LocalAws(Service):
    """moto's server on 127.0.0.1 seeded with the settings' buckets and model package group.

    Use it as a context manager: the server stops on exit, also on Ctrl-C or an exception::

        with LocalAws(settings) as aws:
            aws.clients.s3.list_buckets()
    """

    def __init__(
        self,
        settings: Settings,
        *,
        upload_sample_data: bool = True,
        sample_data: Path | None = None,
    ) -> None:
        self.settings = settings
        self.upload_sample_data = upload_sample_data
        self.sample_data = sample_data  # None: the settings' example's data (its file or generator)
        self._server: _MotoServer | None = None
        self._endpoint_url: str | None = None
        self._clients: AwsClients | None = None
        self._previous_account_env: str | None = None
        self._key_accounts: dict[str, str] = {}  # access key -> the account it acts in
        self._administrators: dict[tuple[str, str], AwsClients] = {}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the server, reset its state and create the project's resources."""
        if self._server is not None:
            raise EmulatorError("the emulator is already running")
        from localcloud.moto_extensions import (
            accounts,
            cloudwatch_metrics,
            sagemaker_hosting,
            sagemaker_rules,
        )

        accounts.install(self.account_of)  # each request in its credentials' account
        sagemaker_hosting.install()  # UpdateEndpoint, which every redeploy by the deploy function calls
        sagemaker_rules.install()  # what SageMaker refuses and moto accepts (existing names, ...)
        cloudwatch_metrics.install()  # GetMetricData as AWS answers it (percentiles, namespaces apart)
        # werkzeug logs every request to stderr at INFO; a run makes thousands of them.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._use_settings_account()
        server = _MotoServer()
        self._server = server
        host, port = server.address
        self._endpoint_url = f"http://{host}:{port}"
        try:
            self._reset()
            self._clients = AwsClients(
                AwsTarget(
                    region=self.settings.region,
                    endpoint_url=self._endpoint_url,
                    static_credentials=FAKE_CREDENTIALS,
                )
            )
            self._seed()
        except BaseException:
            self.stop()
            raise
        log.info("AWS emulator listening on %s", self._endpoint_url)

    def stop(self) -> None:
        """Stop the server and forget its state; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            self._restore_account_env()
            return
        try:
            self._reset()
        except OSError:
            log.debug("could not reset the emulator before stopping it", exc_info=True)
        server.stop()
        self._clients = None
        self._administrators.clear()
        self._endpoint_url = None
        self._restore_account_env()
        from localcloud.moto_extensions import accounts

        accounts.install(None)

    # -- what users of a running emulator need ---------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint_url is None:
            raise EmulatorError("the emulator is not running; use `with LocalAws(settings) as aws:`")
        return self._endpoint_url

    @property
    def clients(self) -> AwsClients:
        if self._clients is None:
            raise EmulatorError("the emulator is not running; use `with LocalAws(settings) as aws:`")
        return self._clients

    # -- accounts ---------------------------------------------------------------------------------------
    def register_key(self, access_key: str, account: str) -> None:
        """Requests signed with ``access_key`` act in ``account`` (a role's credentials, in the role's)."""
        self._key_accounts[access_key] = account

    def account_of(self, access_key: str) -> str | None:
        """The account a request signed with ``access_key`` acts in; None for a key the local cloud
        did not hand out (the harness's own, or one moto's STS issued: moto knows its account)."""
        return self._key_accounts.get(access_key)

    def is_administrator(self, access_key: str) -> bool:
        """Is ``access_key`` the local cloud's own harness (an account's administrator, never checked)?"""
        return access_key == FAKE_CREDENTIALS[0] or access_key in self._administrator_keys()

    def administrator(self, account: str, region: str | None = None) -> AwsClients:
        """Clients acting as ``account``'s administrator (the harness that sets a stage account up and
        reads what a stage deploy created there); the build account's are :attr:`clients`."""
        if account == self.settings.account and region in (None, self.settings.region):
            return self.clients
        key = (account, region or self.settings.region)
        if key not in self._administrators:
            access_key = _administrator_key(account)
            self.register_key(access_key, account)
            self._administrators[key] = AwsClients(
                AwsTarget(
                    region=key[1],
                    endpoint_url=self.endpoint_url,
                    static_credentials=(access_key, FAKE_CREDENTIALS[1]),
                )
            )
        return self._administrators[key]

    def _administrator_keys(self) -> set[str]:
        return {_administrator_key(account) for account, _ in self._administrators}

    def process_environment(self) -> dict[str, str]:
        """Variables that point a child process's AWS clients at this emulator (never real AWS).

        Both our factory's variable and the SDKs' standard ``AWS_ENDPOINT_URL`` (boto3 >= 1.28 and
        every other AWS SDK read it, https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html):
        a user's script that makes its own ``boto3.client("s3")`` reaches the emulator too, and the
        fake credentials mean that even a client that ignores the endpoint cannot act on a real account.
        """
        key_id, secret = FAKE_CREDENTIALS
        return {
            ENDPOINT_ENV: self.endpoint_url,
            STANDARD_ENDPOINT_ENV: self.endpoint_url,
            "AWS_REGION": self.settings.region,
            "AWS_DEFAULT_REGION": self.settings.region,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
        }

    def create_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` in the settings' region unless it exists; True if it was created."""
        s3 = self.clients.s3
        try:
            s3.head_bucket(Bucket=bucket)
            return False
        except s3.exceptions.ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
        if self.settings.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": self.settings.region}
            )
        return True

    # -- internals -------------------------------------------------------------------------------
    def _seed(self) -> None:
        for purpose in BUCKET_PURPOSES:
            bucket = self.settings.bucket_name(purpose)
            self.create_bucket(bucket)
            # Versioned, as infra/storage.py makes every project bucket: lineage records the version
            # id of each object Preprocess read, which an unversioned bucket would answer "null".
            self.clients.s3.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        self.clients.sagemaker.create_model_package_group(
            ModelPackageGroupName=self.settings.model_package_group,
            ModelPackageGroupDescription=f"{self.settings.project} models ({self.settings.env})",
        )
        if self.upload_sample_data:
            self._upload_sample_data()
        # A script-mode model's code, where the training definition names it (as `upsert` puts it).
        upload_model_code(self.settings, self.clients.s3)

    def _upload_sample_data(self) -> None:
        sample = self.sample_data or self.settings.example_spec.data_file()
        if not sample.is_file():
            raise EmulatorError(f"sample data {sample} not found; restore it with `git checkout -- {sample}`")
        bucket, key = s3_uri.split(self.settings.raw_data_uri, key_required=True)
        self.clients.s3.upload_file(str(sample), bucket, key)

    def _reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):  # loopback only; nothing leaves the host
            pass

    def _use_settings_account(self) -> None:
        """Make moto's ARNs carry the settings' account when it is not moto's default."""
        if self.settings.account == MOTO_DEFAULT_ACCOUNT:
            return
        self._previous_account_env = os.environ.get(_MOTO_ACCOUNT_ENV)
        os.environ[_MOTO_ACCOUNT_ENV] = self.settings.account

    def _restore_account_env(self) -> None:
        if self.settings.account == MOTO_DEFAULT_ACCOUNT:
            return
        if self._previous_account_env is None:
            os.environ.pop(_MOTO_ACCOUNT_ENV, None)
        else:
            os.environ[_MOTO_ACCOUNT_ENV] = self._previous_account_env


def _administrator_key(account: str) -> str:
    """An access key in AWS's shape (20 upper-case letters and digits; moto reads no other) that
    names the account it administers."""
    return f"AKIA{account}ADMN"


class _MotoServer:
    """moto's server application on 127.0.0.1 (a free port), served on a thread as moto's
    ``ThreadedMotoServer`` serves it, except that it stops within ``_STOP_POLL_SECONDS``."""

    def __init__(self) -> None:
        # moto is heavy; only a local run needs it.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _STOP_POLL_SECONDS},
            name="moto-server",
            daemon=True,
        )
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop serving and close the socket (werkzeug closes it when the loop ends)."""
        self._server.shutdown()
        self._thread.join()
