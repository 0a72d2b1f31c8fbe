"""An interactive prompt over a lake, like the Athena query editor but local.

Statements end with `;` (they may span lines); lines starting with `.` are commands:
`.tables`, `.dialect athena|duckdb`, `.output table|csv|json`, `.insights QUERY`, `.help`, `.quit`.
History (readline) is kept in LAKE/_vpcflow/query_history, or ~/.vpcflow/query_history when the
lake is read-only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pyarrow as pa

from vpcflow.errors import VpcflowError
from vpcflow.query import run_insights, run_sql
from vpcflow.query.engine import Engine

try:  # readline is missing on some platforms (Windows): the prompt still works, without history
    import readline
except ImportError:  # pragma: no cover
    readline = None

HELP = """Statements end with ';'. Commands:
  .tables                 the lake's tables
  .dialect athena|duckdb  the SQL dialect (athena: translated from Trino SQL)
  .output table|csv|json  how results are printed
  .insights QUERY         run a CloudWatch Logs Insights query
  .quit                   leave (or Ctrl-D)"""


def history_path(lake: Path) -> Path:
    folder = lake / "_vpcflow"
    if folder.is_dir() and os.access(folder, os.W_OK):
        return folder / "query_history"
    home = Path.home() / ".vpcflow"
    home.mkdir(parents=True, exist_ok=True)
    return home / "query_history"


class Repl:
    def __init__(self, engine: Engine, lake: Path, render: Callable[[pa.Table, str, IO[str]], None],
                 *, dialect: str = "athena", output: str = "table", out: IO[str] | None = None):  # fmt: skip
        self.engine, self.render = engine, render
        self.dialect, self.output = dialect, output
        self.out = out or sys.stdout
        self.history = history_path(lake)
        self.interactive = sys.stdin.isatty()

    def run(self) -> int:
        self._load_history()
        if self.interactive:
            self.out.write(
                f"vpcflow query: {', '.join(self.engine.tables())}. End statements with ';', .help for help.\n"
            )
        buffer: list[str] = []
        try:
            while True:
                try:
                    line = input(self._prompt(buffer))
                except EOFError:
                    break
                except KeyboardInterrupt:
                    buffer = []
                    self.out.write("\n")
                    continue
                if not buffer and line.strip().startswith("."):
                    if not self.command(line.strip()):
                        break
                    continue
                buffer.append(line)
                text = "\n".join(buffer).strip()
                if text.endswith(";"):
                    buffer = []
                    self.execute(text.rstrip(";").strip())
            if "\n".join(buffer).strip():
                self.execute("\n".join(buffer).strip().rstrip(";"))
        finally:
            self._save_history()
        return 0

    def _prompt(self, buffer: list[str]) -> str:
        if not self.interactive:
            return ""
        return "     ...> " if buffer else f"{self.dialect}> "

    def execute(self, sql: str, insights: bool = False) -> None:
        if not sql:
            return
        if readline is not None and not self.interactive:
            readline.add_history(sql.replace("\n", " "))  # a terminal's readline has added the lines itself
        try:
            if hasattr(self.engine, "refresh"):
                self.engine.refresh()  # partitions ingested since the prompt opened
            table = run_insights(self.engine, sql) if insights else run_sql(self.engine, sql, self.dialect)
            self.render(table, self.output, self.out)
        except VpcflowError as exc:
            self.out.write(f"error: {exc}\n")
        self.out.flush()

    def command(self, line: str) -> bool:
        word, _, rest = line.partition(" ")
        rest = rest.strip()
        if word in (".quit", ".exit", ".q"):
            return False
        if word == ".tables":
            self.out.write("\n".join(self.engine.tables()) + "\n")
        elif word == ".dialect" and rest in ("athena", "duckdb"):
            self.dialect = rest
        elif word == ".output" and rest in ("table", "csv", "json"):
            self.output = rest
        elif word == ".insights" and rest:
            self.execute(rest, insights=True)
        else:
            self.out.write(HELP + "\n")
        return True

    def _load_history(self) -> None:
        if readline is None:
            return
        readline.set_history_length(1000)
        with contextlib.suppress(OSError):
            readline.read_history_file(self.history)

    def _save_history(self) -> None:
        if readline is None:
            return
        with contextlib.suppress(OSError):
            readline.write_history_file(self.history)
