"""The ``.tar.gz`` archives SageMaker moves for a job: model data and code in, model and output out.

One home for both directions, so every runner reads and writes them the same way: extracted with
tarfile's ``data`` filter (no absolute paths, links out of the folder or device files, whatever the
archive holds) and packed with paths relative to the folder, as SageMaker packs ``/opt/ml/model``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

from localcloud.sagemaker.executor.steps.base import StepError, aws_failure
from processing_scripts import s3_uri


def download_and_extract(s3: Any, uri: str, destination: Path, what: str) -> None:
    """Extract the archive at ``uri`` into ``destination``; ``what`` names it in a failure
    (e.g. "the training code"). ``s3`` is the client of the role SageMaker reads it as."""
    try:
        bucket, key = s3_uri.split(uri, key_required=True)
    except s3_uri.S3UriError as err:
        raise StepError(f"{what}: {err}") from err
    archive = destination.parent / f"{destination.name}.tar.gz"
    destination.mkdir(parents=True, exist_ok=True)
    try:
        s3.download_file(bucket, key, str(archive))
    except Exception as err:
        raise aws_failure(f"reading {what} {uri}", err) from err
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError) as err:
        raise StepError(f"{what} {uri} is not a readable tar.gz archive ({err})") from err
    finally:
        archive.unlink(missing_ok=True)


def pack_and_upload(s3: Any, folder: Path, archive: Path, output_path: str, job_name: str) -> str:
    """``folder`` packed as ``<output_path>/<job_name>/output/<archive name>``, where SageMaker
    puts a training job's model.tar.gz and output.tar.gz; returns that URI."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    uri = s3_uri.join(output_path, job_name, "output", archive.name)
    bucket, key = s3_uri.split(uri, key_required=True)
    try:
        s3.upload_file(str(archive), bucket, key)
    except Exception as err:
        raise aws_failure(f"writing {uri}", err) from err
    return uri
