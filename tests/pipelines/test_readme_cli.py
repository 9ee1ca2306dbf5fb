"""The README's CLI block runs as written: every line is a command and options that exist, and the
offline monitoring recipe runs for real (a `--data captured/` that pointed at nothing was there)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from typer.core import TyperGroup

from pipelines import settings as settings_module
from pipelines.cli import app
from tests.pipelines.cli_runner import run

REPO = Path(__file__).resolve().parents[2]


def readme_commands() -> list[list[str]]:
    """Every `pipelines ...` line of the README's bash blocks, as the shell would split it."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
    commands = []
    for line in "\n".join(blocks).splitlines():
        for part in line.split("&&"):
            words = shlex.split(part, comments=True)
            if words and words[0] == "pipelines":
                commands.append(words[1:])
    return commands


COMMANDS = readme_commands()


def parse(argv: list[str]) -> str:
    """Parse ``argv`` down to the command it names, exactly as a run would (usage errors raise)."""
    command = typer.main.get_command(app)
    ctx = command.make_context("pipelines", list(argv))
    path = []
    while isinstance(command, TyperGroup):
        name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert command is not None, argv
        ctx = command.make_context(name, rest, parent=ctx)
        path.append(name or "")
    return " ".join(path)


def test_the_readme_shows_the_day_to_day_commands():
    shown = {parse(argv) for argv in COMMANDS}
    expected = {"synth", "validate", "upsert", "diff", "start", "status", "list", "logs", "approve"}
    assert expected | {"run-local", "monitor baseline", "monitor check", "simulate", "demo"} <= shown


@pytest.mark.parametrize("argv", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_each_readme_command_parses(argv):
    parse(argv)


@pytest.mark.slow  # renders the drift report (matplotlib)
def test_the_readme_monitoring_recipe_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(REPO / "data")
    recipe = [argv for argv in COMMANDS if argv[0] == "monitor"]
    assert [argv[1] for argv in recipe] == ["baseline", "check"]
    for argv in recipe:
        code, out, err = run(capsys, *argv)
        assert code == 0, err
    assert "NO DRIFT" in out and "drift report: file://" in out


def _block_with(marker: str) -> list[list[str]]:
    """The `pipelines ...` commands of the README bash block containing ``marker``, in order."""
    blocks = re.findall(r"```bash\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
    (block,) = [b for b in blocks if marker in b]
    return [
        words[1:]
        for line in block.splitlines()
        for part in line.split("&&")
        if (words := shlex.split(part, comments=True)) and words[0] == "pipelines"
    ]


@pytest.mark.slow  # synthesizes the pipelines (SageMaker SDK) twice
def test_the_readme_synth_validate_and_moto_recipes_run(tmp_path, monkeypatch, capsys):
    """`synth` then `validate build/pipelines/*.json` (the glob as the shell expands it), and the
    moto block's `upsert training && start training && status training`, each as written."""
    from moto import mock_aws

    monkeypatch.chdir(tmp_path)
    synth, validate = (argv for argv in COMMANDS if argv[0] in ("synth", "validate"))
    code, _, err = run(capsys, *synth)
    assert code == 0, err
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob(validate[1]))
    assert len(files) == len(settings_module.PIPELINES)
    code, _, err = run(capsys, "validate", *files)
    assert code == 0, err

    moto_block = _block_with("moto_server")
    assert [argv[0] for argv in moto_block] == ["upsert", "start", "status"]
    with mock_aws():
        for argv in moto_block:
            code, out, err = run(capsys, *argv)
            assert code == 0, (argv, err)
    assert "training" in out
