"""``schema.json``: what the columns of the headerless splits are.

Preprocessing writes it next to the splits; evaluation, the baseline and monitoring read it instead
of assuming the column order, so a split and its description always travel together.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from processing_scripts import contract, dataset
from processing_scripts.job import JobInputError

REGRESSION = "regression"
BINARY_CLASSIFICATION = "binary_classification"
PROBLEM_TYPES = (REGRESSION, BINARY_CLASSIFICATION)


@dataclass(frozen=True)
class SplitSchema:
    """The splits' columns, plus ``data_snapshot``: which version of the raw data they came from.

    The snapshot is lineage only (readers do not need it), so a schema.json without it still reads.
    """

    label: str
    features: tuple[str, ...]
    problem_type: str
    data_snapshot: str | None = None

    @classmethod
    def from_dataset(cls, data_snapshot: str | None = None) -> SplitSchema:
        """The schema of what preprocessing writes for :mod:`processing_scripts.dataset`."""
        spec = dataset.schema()
        return cls(spec.target, tuple(spec.feature_names()), spec.problem_type, data_snapshot)

    @property
    def columns(self) -> list[str]:
        """Column order in the split files: the label first, as the built-in XGBoost expects."""
        return [self.label, *self.features]

    def to_json(self) -> str:
        doc = asdict(self)
        doc["features"] = list(self.features)
        if self.data_snapshot is None:
            del doc["data_snapshot"]
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def read(cls, directory: Path) -> SplitSchema:
        """Load ``<directory>/schema.json``; a missing or malformed file names what is wrong."""
        path = directory / contract.Preprocess.SCHEMA_FILE
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise JobInputError(f"{path} does not exist; it is written by the preprocessing step") from err
        except (ValueError, UnicodeDecodeError) as err:
            raise JobInputError(f"{path}: not valid JSON ({err})") from err
        if not isinstance(doc, dict):
            raise JobInputError(f"{path}: expected a JSON object with label, features and problem_type")
        label, features, problem_type = doc.get("label"), doc.get("features"), doc.get("problem_type")
        if not isinstance(label, str) or not label:
            raise JobInputError(f"{path}: 'label' must be a column name")
        if not isinstance(features, list) or not features or not all(isinstance(f, str) for f in features):
            raise JobInputError(f"{path}: 'features' must be a non-empty list of column names")
        if problem_type not in PROBLEM_TYPES:
            raise JobInputError(f"{path}: 'problem_type' must be one of {', '.join(PROBLEM_TYPES)}")
        snapshot = doc.get("data_snapshot")
        if snapshot is not None and not isinstance(snapshot, str):
            raise JobInputError(f"{path}: 'data_snapshot' must be a string when present")
        return cls(label, tuple(features), problem_type, snapshot)
