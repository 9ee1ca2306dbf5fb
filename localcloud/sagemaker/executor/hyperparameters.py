"""How a training container reads ``/opt/ml/input/config/hyperparameters.json``.

SageMaker passes every hyperparameter as a string; the SDK's framework estimators json-dump each
value first (``"\\"train.py\\""``, ``"20"``). AWS's training toolkit, which both the framework images
and the built-in XGBoost image run, JSON-decodes each value and keeps the string as written when it
is not JSON (github.com/aws/sagemaker-training-toolkit, ``environment.read_hyperparameters``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def decoded(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """Each value JSON-decoded where it is JSON, else kept as the string it is."""
    values: dict[str, Any] = {}
    for name, raw in hyperparameters.items():
        try:
            values[name] = json.loads(raw)
        except (ValueError, TypeError):
            values[name] = raw
    return values
