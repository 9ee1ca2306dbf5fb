"""Comparing a job's outputs written in a container with what another run uploaded to S3.

The image installs the exact versions the venv's lock pins (processing_scripts/requirements.txt),
so a job's outputs are expected to be byte-identical, plots and HTML reports included: any
difference is a difference between the image and the Docker-free executor worth reading.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from localcloud import s3_objects


def files_under(directory: Path) -> dict[str, bytes]:
    """Every file below ``directory`` by its relative POSIX path."""
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def s3_files(s3: Any, prefix_uri: str) -> dict[str, bytes]:
    """Every object below ``prefix_uri`` by its key relative to the prefix."""
    return {
        s3_objects.local_name(prefix_uri, obj).as_posix(): s3.get_object(Bucket=obj.bucket, Key=obj.key)[
            "Body"
        ].read()
        for obj in s3_objects.list_objects(s3, prefix_uri)
    }


def differences(actual: dict[str, bytes], expected: dict[str, bytes]) -> list[str]:
    """One line per file that is missing, extra, or different (``[]`` when they agree)."""
    found = [f"missing {name}" for name in sorted(expected.keys() - actual.keys())]
    found += [f"unexpected {name}" for name in sorted(actual.keys() - expected.keys())]
    found += [
        f"{name}: {len(actual[name])} bytes differ from the expected {len(expected[name])}"
        for name in sorted(actual.keys() & expected.keys())
        if actual[name] != expected[name]
    ]
    return found


def without_section(page: bytes, heading: str) -> bytes:
    """A report with one ``<section>`` (found by its ``<h2>``) cut out, for a part that legitimately
    differs between two runs, so the rest is still compared byte for byte."""
    pattern = rb"<section><h2>" + re.escape(heading.encode()) + rb"</h2>.*?</section>"
    return re.sub(pattern, b"", page, count=1, flags=re.DOTALL)
