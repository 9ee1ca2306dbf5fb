"""What every benchmark driver shares: arguments and the one-line JSON result it prints."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--current", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True, help="scratch folder for this tool")
    return parser.parse_args()


def report(drifted: list[str] | None) -> None:
    """The last stdout line: which features the tool flagged (None: the tool gives no verdict)."""
    print(json.dumps({"drifted": None if drifted is None else sorted(drifted)}))
