"""A transform job's data capture (``DataCaptureConfig``), written as SageMaker writes it.

Batch transform capture does not copy the records: per job it writes one manifest file of the
input objects and one of the output objects, under ``<DestinationS3Uri>/input/yyyy/mm/dd/hh/`` and
``<DestinationS3Uri>/output/yyyy/mm/dd/hh/``, in the manifest format of ``TransformS3DataSource``
(``[{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]``,
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TransformS3DataSource.html;
capture on transform jobs:
https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-batch.html).
The drift engine reads the input manifests (``processing_scripts.drift.batch_capture``).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from localcloud.s3_objects import S3Object, local_name
from processing_scripts import s3_uri

CAPTURE_MODES = ("input", "output")


def manifest(prefix_uri: str, keys: list[str]) -> str:
    """A TransformS3DataSource manifest: the prefix, then each object relative to it."""
    return json.dumps([{"prefix": prefix_uri.rstrip("/") + "/"}, *keys])


def write_capture(
    s3: Any,
    destination: str,
    when: datetime,
    *,
    input_uri: str,
    inputs: list[S3Object],
    output_uri: str,
    outputs: list[str],
) -> list[str]:
    """Put the input and output manifests of one job; returns their URIs."""
    hour = when.strftime("%Y/%m/%d/%H")
    name = f"{uuid.uuid4()}.json"
    output_prefix = output_uri.rstrip("/") + "/"
    bodies = {
        "input": manifest(input_uri, [local_name(input_uri, obj).as_posix() for obj in inputs]),
        "output": manifest(output_prefix, [uri.removeprefix(output_prefix) for uri in outputs]),
    }
    bucket, prefix = s3_uri.split(destination)
    written: list[str] = []
    for mode in CAPTURE_MODES:
        key = "/".join(part for part in (prefix.rstrip("/"), mode, hour, name) if part)
        s3.put_object(Bucket=bucket, Key=key, Body=bodies[mode].encode(), ContentType="application/json")
        written.append(s3_uri.build(bucket, key))
    return written
