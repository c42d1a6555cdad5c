"""Every CLI command documents itself and refuses malformed arguments with a message naming the
argument (never a traceback), before touching the database."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from lims.cli import app

ROOT = typer.main.get_command(app)


def _commands(group, prefix=()):
    for name, cmd in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)
        else:
            yield path, cmd


COMMANDS = list(_commands(ROOT))
def _is_int(p) -> bool:
    td = getattr(p, "type_descriptor", None)
    return td is not None and td.annotation in (int, int | None)


INT_PARAMS = [(path, p) for path, cmd in COMMANDS for p in cmd.params if _is_int(p)]


@pytest.mark.parametrize("path, cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help(path, cmd):
    assert (cmd.help or "").strip(), f"lims {' '.join(path)} has no help text"
    res = CliRunner().invoke(app, [*path, "--help"])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("path, param", INT_PARAMS,
                         ids=[f"{' '.join(p)} {q.name}" for p, q in INT_PARAMS])
def test_integer_arguments_refuse_text(env_db, path, param):
    args = [*path]
    if param.param_type_name == "option":
        args += [param.opts[0], "12abc"]
    else:
        args += ["12abc"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    assert "12abc" in res.output or "Invalid value" in res.output or "Missing" in res.output
