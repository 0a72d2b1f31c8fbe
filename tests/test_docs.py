"""The docs stay honest: every command and option is documented, and README examples run."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.core

from vpcflow.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLI_DOC = (ROOT / "docs" / "cli.md").read_text()


def _commands(group, prefix: str = "vpcflow"):
    for name, command in sorted(group.commands.items()):
        full = f"{prefix} {name}"
        if isinstance(command, typer.core.TyperGroup):
            yield from _commands(command, full)
        else:
            yield full, command


COMMANDS = list(_commands(typer.main.get_command(app)))


def _section(name: str) -> str:
    match = re.search(rf"^## `{re.escape(name)}`.*?(?=^## |\Z)", CLI_DOC, re.S | re.M)
    assert match, f"docs/cli.md has no section '## `{name}`'"
    return match.group(0)


@pytest.mark.parametrize("name, command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_command_and_option_is_documented(name, command):
    section = _section(name)
    for param in command.params:
        if isinstance(param, typer.core.TyperOption):
            longest = max(param.opts, key=len)
            assert longest in section, f"{name}: option {longest} is not in docs/cli.md"
        elif isinstance(param, typer.core.TyperArgument):
            assert param.name.upper() in section, f"{name}: argument {param.name.upper()} is not in docs/cli.md"


def _readme_commands():
    readme = (ROOT / "README.md").read_text()
    for block in re.findall(r"```console\n(.*?)```", readme, re.S):
        for line in block.splitlines():
            if line.startswith("$ vpcflow "):
                yield line[2:]


@pytest.mark.parametrize("line", list(_readme_commands()))
def test_readme_examples_run(line, tmp_path):
    args = shlex.split(line)[1:]
    result = subprocess.run([sys.executable, "-m", "vpcflow.cli", *args], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
