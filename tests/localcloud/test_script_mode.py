"""Script mode follows AWS's training toolkit: decoding, arguments, SM_* variables, requirements.

The toolkit's rules (github.com/aws/sagemaker-training-toolkit, ``environment.read_hyperparameters``,
``mapping.to_cmd_args`` and ``mapping.to_env_vars``) restated as properties over any hyperparameters
the SDK could have json-dumped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from localcloud.sagemaker.executor.steps.script_mode import ScriptJob, unmet_requirements

NAMES = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True).filter(
    lambda n: not n.startswith("sagemaker_")
)
VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)
SDK_FIELDS = {"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"s3://b/sourcedir.tar.gz"'}


@given(st.dictionaries(NAMES, VALUES, max_size=6))
def test_hyperparameters_reach_the_script_as_the_toolkit_passes_them(user):
    job = ScriptJob.of({**{name: json.dumps(value) for name, value in user.items()}, **SDK_FIELDS})

    assert job.program == "train.py" and job.submit_directory == "s3://b/sourcedir.tar.gz"
    assert job.user_hyperparameters == user  # the SDK's json.dumps undone; the toolkit's own kept apart
    expected: list[str] = []
    for name in sorted(user):
        expected += [f"--{name}" if len(name) > 1 else f"-{name}", str(user[name])]
    assert job.arguments() == expected
    env = job.environment("job-1", {"train": {}}, ["algo-1"], "algo-1")
    assert json.loads(env["SM_HPS"]) == json.loads(json.dumps(user, sort_keys=True))
    for name, value in user.items():
        assert env[f"SM_HP_{name.upper()}"] == (value if isinstance(value, str) else json.dumps(value))


def test_a_value_that_is_not_json_is_passed_as_written():
    job = ScriptJob.of({"sagemaker_program": "train.py", "mode": "fast", "ratio": "0.5"})
    assert job.program == "train.py" and job.submit_directory is None
    assert job.arguments() == ["--mode", "fast", "--ratio", "0.5"]


def test_a_script_the_executor_cannot_fetch_is_named():
    baked = ScriptJob.of({"sagemaker_program": '"train.py"'})
    assert baked.source_problem() == (
        "hyperparameter sagemaker_submit_directory is missing: the script train.py would have to be "
        "inside the image, which the local executor does not have"
    )
    local = ScriptJob.of({"sagemaker_program": '"train.py"', "sagemaker_submit_directory": '"file:///src"'})
    assert local.source_problem() == (
        "hyperparameter sagemaker_submit_directory 'file:///src': only an s3:// sourcedir.tar.gz can run locally"
    )


def test_the_command_depends_on_the_entry_point_as_in_the_toolkit(tmp_path: Path):
    script = ScriptJob.of({"sagemaker_program": '"train.py"', "epochs": "2"})
    assert script.command(tmp_path, sys.executable) == [sys.executable, "train.py", "--epochs", "2"]
    shell = ScriptJob.of({"sagemaker_program": '"train.sh"', "name": '"a b"'})
    assert shell.command(tmp_path, sys.executable) == ["/bin/sh", "-c", "./train.sh --name 'a b'"]
    (tmp_path / "setup.py").write_text("")
    assert script.command(tmp_path, sys.executable) == [sys.executable, "-m", "train", "--epochs", "2"]


def test_requirements_this_environment_does_not_satisfy_are_named(tmp_path: Path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# pinned for the image\n"
        "xgboost>=1.0\n"
        "numpy<1\n"
        "surely-not-installed-package==1.0\n"
        "-r more.txt\n"
        "pywin32; sys_platform == 'win32'\n"
        "not a requirement ===\n"
    )
    unmet = unmet_requirements(requirements)
    assert unmet[0].startswith("numpy<1 (installed: ")
    assert unmet[1:] == [
        "surely-not-installed-package==1.0",
        "'not a requirement ===' (not a requirement pip understands)",
    ]
    assert unmet_requirements(tmp_path / "absent.txt") == []
