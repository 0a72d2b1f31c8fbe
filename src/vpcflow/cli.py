"""The `vpcflow` command: a thin shell over the library.

Each command group lives in `vpcflow.commands.<area>` and registers itself here, so that areas grow
without touching each other. Commands parse options, call the library, and render.
"""

from __future__ import annotations

import sys

import typer

from vpcflow.errors import VpcflowError

app = typer.Typer(
    name="vpcflow",
    help="Amazon VPC networking and VPC Flow Logs on a laptop.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Areas register their commands; an area whose optional dependencies are missing says so when used.
COMMAND_MODULES = ("records", "demo", "network", "lake", "query", "capture", "reports", "aws")


def _register_all() -> None:
    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"vpcflow.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"vpcflow.commands.{name}":
                continue  # that area is not built yet
            raise
        module.register(app)


_register_all()


def main() -> None:
    try:
        app()
    except VpcflowError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
