"""Batch transform data capture: the records a transform job scored in a time window.

A transform job with ``DataCaptureConfig`` does not copy its records into capture files as an
endpoint does; it writes manifests. Under ``<DestinationS3Uri>/input/yyyy/mm/dd/hh/`` each job
puts one JSON file in the manifest format of ``TransformS3DataSource``::

    [{"prefix": "s3://bucket/batch/input/"}, "part-1.csv", "part-2.csv"]

(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_TransformS3DataSource.html;
capture on transform jobs: https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-batch.html),
and the same for its outputs under ``output/``. The records are the objects the input manifests
name: CSV without a header in the model's feature order, exactly what the transform job read, so
the check reads them as a headerless table with the baseline's features by position.
"""

from __future__ import annotations

from processing_scripts.drift.capture import TimeWindow, hour_folder
from processing_scripts.drift.errors import DriftInputError
from processing_scripts.drift.formats import parse_json
from processing_scripts.drift.storage import Storage, StoredFile, join

INPUT_FOLDER = "input"  # a transform job's input manifests, below the capture destination
MANIFEST_SUFFIX = ".json"


def list_batch_inputs(storage: Storage, uri: str, window: TimeWindow) -> list[StoredFile]:
    """The objects the input manifests written in the window's hours name, each once, in order."""
    found: dict[str, StoredFile] = {}
    for hour in window.hours():
        for manifest in storage.list_files(join(uri, INPUT_FOLDER, hour_folder(hour))):
            if not manifest.name.endswith(MANIFEST_SUFFIX):
                continue
            for object_uri in manifest_objects(storage.read_bytes(manifest), manifest.uri):
                stored = storage.list_files(object_uri)
                exact = [f for f in stored if f.uri == object_uri]
                if not exact:
                    raise DriftInputError(
                        f"{manifest.uri} names {object_uri}, which is gone: the scored input was "
                        "deleted before the check (keep batch input at least monitoring.window_hours)"
                    )
                found.setdefault(object_uri, exact[0])
    return list(found.values())


def manifest_objects(raw: bytes, label: str) -> list[str]:
    """The object URIs of a manifest (``[{"prefix": ...}, "key", ...]``)."""
    doc = parse_json(raw, label)
    shape = 'a list: [{"prefix": "s3://bucket/prefix/"}, "relative/key", ...]'
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
        raise DriftInputError(f"{label} is not a batch transform capture manifest ({shape})")
    prefix = doc[0].get("prefix")
    keys = doc[1:]
    if not isinstance(prefix, str) or not prefix or not all(isinstance(key, str) and key for key in keys):
        raise DriftInputError(f"{label} is not a batch transform capture manifest ({shape})")
    return [prefix.rstrip("/") + "/" + key.lstrip("/") for key in keys]
