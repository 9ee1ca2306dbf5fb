"""run-local (and every command that reads a definition file) on files no SDK writes: one line naming
the file and what is wrong, exit 3, never a traceback (issue 11, defect 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.definition.durations import parse_expire_after
from tests.pipelines.cli_runner import run

TINY = Path(__file__).parent / "fixtures" / "tiny-pipeline.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"Version": "2020-12-01",\n "Steps": [], "x": "\xff\xfe"}', ":2: byte 0xff is not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested too deeply to read"),
        (b'{"Metadata": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001, "JSON nested too deeply to read"),
    ],
    ids=["latin-1-byte", "deep-array", "deep-object"],
)
@pytest.mark.parametrize("command", ["run-local", "validate"])
def test_an_unreadable_definition_file_is_one_line(capsys, tmp_path, command, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    code, out, err = run(capsys, command, str(path))
    assert code == 3, out + err
    assert message in out + err and "Traceback" not in out + err


def test_a_definition_with_a_utf8_byte_order_mark_is_read(capsys, tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + TINY.read_bytes())
    code, out, err = run(capsys, "validate", str(path))
    assert code == 0, out + err


def test_an_expire_after_beyond_any_duration_is_a_finding_not_an_overflow(capsys, tmp_path):
    definition = json.loads(TINY.read_text())
    definition["Steps"][0]["CacheConfig"] = {"Enabled": True, "ExpireAfter": "P1000000000D"}
    path = tmp_path / "forever.json"
    path.write_text(json.dumps(definition))
    code, out, err = run(capsys, "run-local", str(path))
    assert code == 3 and "Traceback" not in out + err
    with pytest.raises(ValueError, match="longer than any duration"):
        parse_expire_after("P1000000000D")
