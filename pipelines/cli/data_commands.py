"""`seed-data`: put the raw training data where the training pipeline reads it, once.

A fresh account has the buckets (the Storage stack) but nothing at ``settings.raw_data_uri``, the
``InputDataUrl`` default, so the first training run would fail on a missing object. This uploads
the project's sample (``data/abalone.csv``) or a file you name. It never replaces data that is
already there (a newer landing, a retraining set) unless ``--force`` says so, so CI can run it on
every deploy. The object is written under the bucket's default encryption (the project key).

With a script-mode model (``settings.training.script``) it also publishes the model's code where the
training definition names it (:mod:`pipelines.model_code`; skipped when that archive is there).
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.cli.context import CliContext, CliError, console
from pipelines.model_code import upload_model_code
from pipelines.settings import REPO_ROOT
from processing_scripts import s3_uri

SAMPLE_DATA = REPO_ROOT / "data" / "abalone.csv"


def seed_data(
    ctx: typer.Context,
    data: Path = typer.Option(SAMPLE_DATA, "--data", help="CSV to upload (default: the sample)."),
    force: bool = typer.Option(False, "--force", help="Replace the object if it already exists."),
) -> None:
    """Upload the raw data to the training pipeline's default InputDataUrl (skips if present)."""
    obj: CliContext = ctx.obj
    if not data.is_file() or data.stat().st_size == 0:
        raise CliError(
            f"{data} is not a non-empty file",
            "pass --data with the raw CSV (the sample is data/abalone.csv; `git checkout -- data/`)",
        )
    target = obj.settings.raw_data_uri
    bucket, key = s3_uri.split(target, key_required=True)
    s3 = obj.clients.s3
    existing = _size(s3, bucket, key)
    if existing is not None and not force:
        console.print(f"[yellow]present[/] {target} ({existing} bytes): not replaced (use --force)")
    else:
        s3.upload_file(str(data), bucket, key)
        console.print(f"[green]seeded[/] {target} from {data} ({data.stat().st_size} bytes)")
    code = upload_model_code(obj.settings, s3)
    if code:
        console.print(f"[green]published[/] the model code to {code}")


def _size(s3: object, bucket: str, key: str) -> int | None:
    """The object's size, or None when there is none (any other error is the caller's to see)."""
    from botocore.exceptions import ClientError

    try:
        return int(s3.head_object(Bucket=bucket, Key=key)["ContentLength"])  # type: ignore[attr-defined]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def register(app: typer.Typer) -> None:
    app.command("seed-data")(seed_data)
