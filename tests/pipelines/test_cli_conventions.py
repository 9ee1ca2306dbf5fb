"""The CLI behaves like the tools SageMaker users know: -h, --version, global options anywhere, plain
flags in help, one line for a usage error, and one documented table of exit codes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from pipelines.cli import GLOBAL_VALUE_OPTIONS, app, global_options
from pipelines.cli.exit_codes import ExitCode, markdown_table
from tests.pipelines.cli_runner import one_line_error, run

REPO = Path(__file__).resolve().parents[2]


def _commands(group: typer.Typer, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [(*prefix, c.name or c.callback.__name__) for c in group.registered_commands]  # type: ignore[union-attr]
    for sub in group.registered_groups:
        found += _commands(sub.typer_instance, (*prefix, sub.name or ""))  # type: ignore[arg-type]
    return found


COMMANDS = _commands(app)


def test_h_and_help_at_the_top_and_on_every_command(capsys):
    code, out, _ = run(capsys, "-h")
    assert code == 0 and "Commands:" in out and "--version" in out
    for command in COMMANDS:
        code, out, err = run(capsys, *command, "-h")
        assert code == 0, (command, err)
        assert "Usage:" in out
        assert "<bool>" not in out, f"{command}: a flag takes no value, its help shows none"


def test_version_comes_from_pyproject(capsys):
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith(f"{project['name']} {project['version']} (sagemaker SDK ")


def test_the_console_script_is_the_cli_entry_point():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["pipelines"].split(":")
    from pipelines import cli

    assert module == "pipelines.cli" and getattr(cli, function) is cli.main


def test_global_options_after_the_command(capsys):
    code, _, err = run(capsys, "status", "training", "--region", "eu-west-9")
    message, hint = one_line_error(err)
    assert code == ExitCode.USAGE and "unknown AWS region 'eu-west-9' (from --region)" in message
    assert "us-east-1" in hint


def test_no_command_declares_a_global_option_name():
    """The hoisting would take the option from the command: keep the names apart."""
    import typer.main

    def params(command) -> set[str]:
        names = {o for p in command.params for o in p.opts}
        for sub in getattr(command, "commands", {}).values():
            names |= params(sub)
        return names

    click_app = typer.main.get_command(app)
    sub_options = set().union(*(params(c) for c in click_app.commands.values()))  # type: ignore[attr-defined]
    assert not (sub_options & GLOBAL_VALUE_OPTIONS)
    assert {"--env", "--example", "--profile", "--region", "--endpoint-url"} == GLOBAL_VALUE_OPTIONS


_OTHER = st.text(alphabet="abcXYZ-_=./0123456789", min_size=1, max_size=8).filter(
    lambda t: t.split("=", 1)[0] not in GLOBAL_VALUE_OPTIONS and t != "--"
)


@given(
    st.lists(
        st.one_of(
            _OTHER.map(lambda t: [t]),
            st.tuples(st.sampled_from(sorted(GLOBAL_VALUE_OPTIONS)), _OTHER).map(list),
            st.tuples(st.sampled_from(sorted(GLOBAL_VALUE_OPTIONS)), _OTHER).map(
                lambda p: [f"{p[0]}={p[1]}"]
            ),
        )
    )
)
def test_hoisting_moves_global_options_first_and_keeps_every_other_token_in_order(chunks):
    argv = [token for chunk in chunks for token in chunk]
    hoisted = global_options.hoist(argv, GLOBAL_VALUE_OPTIONS)
    globals_ = [c for c in chunks if c[0].split("=", 1)[0] in GLOBAL_VALUE_OPTIONS]
    others = [c[0] for c in chunks if c not in globals_]
    assert hoisted == [t for c in globals_ for t in c] + others


def test_hoisting_stops_at_a_double_dash():
    argv = ["run-local", "training", "--", "--region", "x"]
    assert global_options.hoist(argv, GLOBAL_VALUE_OPTIONS) == argv


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("start",), "Missing argument 'pipeline'"),
        (("start", "training", "--bogus"), "No such option: --bogus"),
        (("nosuch",), "No such command 'nosuch'"),
    ],
)
def test_a_usage_error_is_one_line_with_where_to_look(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    got, hint = one_line_error(err)
    assert code == ExitCode.USAGE and message in got
    assert hint.endswith("-h` lists the arguments")


def test_the_docs_exit_code_table_is_the_code():
    page = (REPO / "docs" / "cli.md").read_text()
    documented = page.split("<!-- exit-codes:start -->\n", 1)[1].split("\n<!-- exit-codes:end -->", 1)[0]
    assert documented == markdown_table(), "paste pipelines.cli.exit_codes.markdown_table() into docs/cli.md"
