"""Shared output options for every command: `--output table|json|csv` over Arrow data.

JSON is one object a line (keys are column names, numbers stay numbers, null for '-'), so that it
streams and pipes into `jq`; CSV has a header; table is a rich table for people.
"""

from __future__ import annotations

import enum
import io
import json
import sys
from collections.abc import Iterable, Iterator
from typing import IO

import pyarrow as pa
import pyarrow.csv as pacsv
import typer
from rich.console import Console
from rich.table import Table


class OutputFormat(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


OutputOption = typer.Option(OutputFormat.table, "--output", "-o", help="table, json (one object a line) or csv.")

TABLE_ROW_LIMIT = 10_000  # a terminal table beyond this is unreadable; json/csv stream everything


def console(file: IO[str] | None = None) -> Console:
    # Tests and pipes get plain text at a fixed width; terminals get colour.
    return Console(file=file or sys.stdout, width=None if (file or sys.stdout).isatty() else 200)


def render_batches(
    batches: Iterable[pa.RecordBatch], fmt: OutputFormat, out: IO[str] | None = None, title: str | None = None
) -> int:
    """Write batches in `fmt`; returns the number of rows written."""
    out = out or sys.stdout
    if fmt is OutputFormat.json:
        return _json_lines(batches, out)
    if fmt is OutputFormat.csv:
        return _csv(batches, out)
    return _table(batches, out, title)


def _json_lines(batches: Iterable[pa.RecordBatch], out: IO[str]) -> int:
    rows = 0
    for batch in batches:
        for row in batch.to_pylist():
            out.write(json.dumps(row, default=str, separators=(", ", ": ")))
            out.write("\n")
        rows += batch.num_rows
    return rows


def _csv(batches: Iterable[pa.RecordBatch], out: IO[str]) -> int:
    rows = 0
    header = True
    for batch in batches:
        buf = io.BytesIO()
        pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=header))
        header = False
        out.write(buf.getvalue().decode())
        rows += batch.num_rows
    return rows


def _table(batches: Iterable[pa.RecordBatch], out: IO[str], title: str | None) -> int:
    table: Table | None = None
    rows = 0
    for batch in batches:
        if table is None:
            table = Table(title=title, show_lines=False, header_style="bold")
            widths = _widths(batch)
            for name in batch.schema.names:
                # short columns (ids, numbers) never wrap; long prose columns do
                table.add_column(name, no_wrap=widths[name] <= 40, min_width=min(widths[name], 40))
        for row in _rows(batch):
            if rows < TABLE_ROW_LIMIT:
                table.add_row(*row)
            rows += 1
    if table is None:
        out.write("(no rows)\n")
        return 0
    console(out).print(table)
    if rows > TABLE_ROW_LIMIT:
        out.write(f"... {rows - TABLE_ROW_LIMIT} more rows (use --output json or csv for all)\n")
    return rows


def _widths(batch: pa.RecordBatch) -> dict[str, int]:
    sample = batch.slice(0, 200).to_pylist()
    return {
        name: max([len(name)] + [len("-" if row[name] is None else str(row[name])) for row in sample])
        for name in batch.schema.names
    }


def _rows(batch: pa.RecordBatch) -> Iterator[list[str]]:
    for row in batch.to_pylist():
        yield ["-" if v is None else str(v) for v in row.values()]


def render_rows(rows: list[dict], fmt: OutputFormat, out: IO[str] | None = None, title: str | None = None) -> int:
    """Render plain dict rows (small results: catalogs, summaries) like Arrow data."""
    if not rows:
        (out or sys.stdout).write("(no rows)\n")
        return 0
    return render_batches([pa.RecordBatch.from_pylist(rows)], fmt, out, title)
