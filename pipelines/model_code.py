"""The user's model code (``training.script.source_dir``) as the ``sourcedir.tar.gz`` SageMaker runs.

A framework estimator uploads its source folder when a definition is built, under a timestamped
key; here synthesis makes no AWS call and must give the same bytes for the same code. So the folder
is packed deterministically (sorted paths, no timestamps, owners or caches) and its S3 key is the
archive's content digest: the definition names ``.../code/sourcedir-<digest>.tar.gz``, it changes
exactly when the code does (a step-cache miss, as it should be), and whoever puts the archive in S3
(``upload_model_code``: ``pipelines upsert`` and the local cloud) writes a key nobody else writes.

The training job gets it as ``sagemaker_submit_directory`` (the training toolkit extracts it into
``/opt/ml/code``), the model as ``SAGEMAKER_SUBMIT_DIRECTORY`` (the inference toolkit does the same),
and the evaluate job as an input, so all three run the same files.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

from pipelines.settings import ScriptModel, Settings
from processing_scripts import s3_uri

_SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ipynb_checkpoints"}


def _files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not _SKIPPED_DIRS.intersection(path.relative_to(folder).parts)
        and path.suffix != ".pyc"
    )


def pack(folder: Path) -> bytes:
    """The folder as a gzipped tar whose bytes depend only on the files' paths, bytes and modes."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in _files(folder):
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size = len(data)
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=9, mtime=0)


def script_model(settings: Settings) -> ScriptModel:
    script = settings.training.script
    if script is None:
        raise ValueError("training.script is not set: the model is the built-in XGBoost, with no code")
    return script


def _code_prefix(settings: Settings) -> str:
    return f"{settings.pipeline_artifacts_uri}/{settings.training_pipeline_name}/code"


def model_code_key_pattern(settings: Settings) -> str:
    """``<bucket>/<key prefix>/sourcedir-*.tar.gz``: every archive :func:`source_archive` can name
    (what the CI role may write)."""
    bucket, prefix = s3_uri.split(_code_prefix(settings))
    return f"{bucket}/{prefix}/sourcedir-*.tar.gz"


def source_archive(settings: Settings) -> tuple[str, bytes]:
    """(S3 URI, bytes) of the packed model code: ``<artifacts>/<training pipeline>/code/sourcedir-<digest>.tar.gz``."""
    data = pack(script_model(settings).path)
    digest = hashlib.sha256(data).hexdigest()[:16]
    return f"{_code_prefix(settings)}/sourcedir-{digest}.tar.gz", data


def upload_model_code(settings: Settings, s3: Any) -> str | None:
    """Put the model code where the definition says it is (a no-op when it is there already or the
    model is the built-in XGBoost); returns the URI written, else None."""
    if settings.training.script is None:
        return None
    uri, data = source_archive(settings)
    bucket, key = s3_uri.split(uri, key_required=True)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return None
    except s3.exceptions.ClientError as err:
        # Without s3:ListBucket (the CI role has none on the artifacts bucket) S3 answers a missing
        # object with 403, not 404 (S3 API reference, HeadObject "Permissions"); writing the same
        # bytes again is harmless, and a real refusal shows on the PutObject.
        if err.response.get("Error", {}).get("Code") not in (
            "404",
            "NoSuchKey",
            "NotFound",
            "403",
            "AccessDenied",
        ):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return uri
