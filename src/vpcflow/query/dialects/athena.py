"""Athena SQL (Trino, engine version 3) translated to DuckDB with sqlglot, keeping Athena's answers.

sqlglot does most of the work (`read="athena"`, `write="duckdb"`). This module adds what it leaves to
the caller, so that a query gives the answer Athena gives or a `QueryError`, never another answer:

- Types: columns are typed from the lake's tables, so `bigint / bigint` is integer division as in
  Trino (truncated toward zero), not DuckDB's float division.
- Functions whose DuckDB namesake differs: `date_diff` counts whole units in Trino (DuckDB's
  `date_diff` counts boundaries; its `date_sub` counts whole units); `regexp_extract` gives NULL
  when nothing matches (DuckDB: ''); `split_part` gives NULL past the last field (DuckDB: '');
  `to_iso8601` is a macro of the engine (Trino writes `2021-04-01T00:00:00.000Z`).
- Functions sqlglot does not know are refused by name (DuckDB may have a function of that name with
  other semantics), as are statements that are not queries.
- Unaliased output columns are named `_col0`, `_col1`, ... as Athena names them; identifiers are
  case-insensitive and output names lower case, as in Athena.
"""

from __future__ import annotations

import functools
import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, SqlglotError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from vpcflow.errors import QueryError
from vpcflow.query.tables import sql_schemas

READ = "athena"
WRITE = "duckdb"

# Functions sqlglot parses as anonymous that the engine defines with Athena's semantics.
ENGINE_FUNCTIONS = frozenset({"to_iso8601"})

_QUERIES = (exp.Query,)  # Select, Union, Intersect, Except (with or without WITH)
_INTEGER_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
                  exp.DataType.Type.BIGINT}  # fmt: skip


def translate(sql: str) -> str:
    """DuckDB SQL for one Athena statement, or a `QueryError` that says where and why."""
    tree = prepare(sql)
    if _passes_through(tree):
        return tree.sql(dialect=WRITE)
    # the tree is this call's own (freshly parsed): no copies (a tenth of a translation each)
    tree = tree.transform(_athena_semantics, copy=False)
    return render(tree, WRITE)


def prepare(sql: str, *, qualified: bool = False) -> exp.Expression:
    """One Athena statement parsed, checked, and where Athena's semantics depend on types (integer
    division, date arithmetic) qualified against the lake's tables and typed: the engine-neutral
    part of every translation (`vpcflow.query.dialects.spark` renders the same tree for Spark).
    `qualified`: every column qualified by its table, typing needed or not (the cost estimate)."""
    tree = _parse(sql)
    if _passes_through(tree):
        return tree
    if not isinstance(tree, _QUERIES):
        kind = tree.key.upper() if tree.key else type(tree).__name__
        raise QueryError(
            f"{kind} statements are not run by `vpcflow query`: the lake is read-only here; "
            "write a SELECT (to change the lake, use `vpcflow ingest`)"
        )
    _refuse_unknown_functions(tree, sql)
    _name_like_athena(tree)
    typing = tree.find(exp.Div, exp.Add, exp.Sub, exp.DateAdd, exp.DateSub) is not None
    if not (typing or qualified):
        # Nothing here depends on types, and the engines resolve names as Athena does: qualifying
        # would cost ~45% of a translation (0.35 ms: a tenth of a 10 ms LIMIT query) for nothing.
        return tree
    try:
        tree = qualify(tree, schema=_schema(), dialect=READ, validate_qualify_columns=False,
                       expand_stars=False, quote_identifiers=True)  # fmt: skip
        if typing:  # typing costs ~5 ms: only when needed
            typed = annotate_types(tree.copy(), schema=_schema(), dialect=READ)
            _integer_division(tree, typed)
            _date_arithmetic(tree, typed)
    except (OptimizeError, SqlglotError) as exc:
        raise QueryError(f"Athena SQL: {exc}") from None
    return tree


def render(tree: exp.Expression, write: str) -> str:
    """`tree` as SQL of the sqlglot dialect `write`; a construct it cannot express is a QueryError."""
    try:
        return tree.sql(dialect=write, copy=False, unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise QueryError(f"Athena SQL: not translatable to {write}: {exc}") from None


def _passes_through(tree: exp.Expression) -> bool:
    return isinstance(tree, (exp.Describe, exp.Show)) or _is_show(tree)


def schema() -> MappingSchema:
    """The lake's tables as a sqlglot schema (Athena type names)."""
    return _schema()


@functools.cache
def _schema() -> MappingSchema:
    return MappingSchema(sql_schemas(), dialect=READ)


def _parse(sql: str) -> exp.Expression:
    try:
        # sqlglot logs a warning when it falls back to a raw Command (SHOW ...); that is expected here
        logging.getLogger("sqlglot").setLevel(logging.ERROR)
        statements = [s for s in sqlglot.parse(sql, read=READ) if s is not None]
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        raise QueryError(
            _pointer(sql, err.get("line"), err.get("col"), err.get("description") or str(exc))
        ) from None
    if len(statements) != 1:
        raise QueryError(f"give one SQL statement at a time (got {len(statements)})")
    return statements[0]


def _is_show(tree: exp.Expression) -> bool:
    return isinstance(tree, exp.Command) and str(tree.this).upper() in {"SHOW", "DESCRIBE"}


def _pointer(sql: str, line: int | None, col: int | None, message: str) -> str:
    """`message` with the line of `sql` and a caret under column `col` (1-based)."""
    if not line:
        return f"Athena SQL: {message}"
    lines = sql.splitlines() or [""]
    text = lines[min(line, len(lines)) - 1]
    col = max(1, col or 1)
    return f"Athena SQL, line {line}, column {col}: {message}\n  {text}\n  {' ' * (col - 1)}^"


def _refuse_unknown_functions(tree: exp.Expression, sql: str) -> None:
    for func in tree.find_all(exp.Anonymous):
        name = func.name.lower()
        if name in ENGINE_FUNCTIONS:
            continue
        meta = func.meta or {}
        raise QueryError(
            _pointer(
                sql,
                meta.get("line"),
                (meta.get("col") or 0) - len(func.name) + 1 if meta.get("col") else None,
                f"function {func.name}() is not supported by vpcflow's Athena translation; "
                "run the query on Athena, or write it for DuckDB and pass --dialect duckdb",
            )
        )


def _name_like_athena(tree: exp.Expression) -> None:
    """Unaliased computed output columns are `_col<position>` in Athena."""
    select = tree
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    for i, projection in enumerate(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            continue
        projection.replace(exp.alias_(projection.copy(), f"_col{i}"))


def _integer_division(tree: exp.Expression, typed: exp.Expression) -> None:
    """Trino divides integers as integers; the typed copy says which divisions those are."""
    for div, typed_div in zip(list(tree.find_all(exp.Div)), list(typed.find_all(exp.Div)), strict=True):
        left, right = typed_div.this.type, typed_div.expression.type
        if _is(left, _INTEGER_TYPES) and _is(right, _INTEGER_TYPES):
            div.replace(exp.IntDiv(this=div.this.copy(), expression=div.expression.copy()))
        elif _is_unknown(left) or _is_unknown(right):
            raise QueryError(
                f"Athena SQL: cannot tell whether {div.sql(dialect=READ)} divides integers (Athena truncates "
                "integer division); CAST one side to DOUBLE or BIGINT"
            )
        else:
            div.set("typed", False)


_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def _date_arithmetic(tree: exp.Expression, typed: exp.Expression) -> None:
    """date +/- interval of days (or longer) is a DATE in Trino; DuckDB makes it a TIMESTAMP."""
    kinds = (exp.Add, exp.Sub, exp.DateAdd, exp.DateSub)
    pairs = list(zip(list(tree.find_all(*kinds)), list(typed.find_all(*kinds)), strict=True))
    for node, typed_node in reversed(pairs):  # innermost first, so replacements do not orphan later ones
        if isinstance(node, (exp.DateAdd, exp.DateSub)):
            unit = node.args.get("unit")
            is_date = _is(typed_node.this.type, {exp.DataType.Type.DATE}) and (
                unit is None or unit.name.upper() in _DATE_UNITS
            )
        else:
            interval = node.expression if isinstance(node.expression, exp.Interval) else None
            unit = interval.args.get("unit") if interval is not None else None
            is_date = (interval is not None and unit is not None and unit.name.upper() in _DATE_UNITS
                       and _is(typed_node.this.type, {exp.DataType.Type.DATE}))  # fmt: skip
        if is_date:
            node.replace(exp.cast(node.copy(), exp.DataType.build("DATE")))


def _is(dtype: exp.DataType | None, kinds: set) -> bool:
    return dtype is not None and dtype.this in kinds


def _is_unknown(dtype: exp.DataType | None) -> bool:
    return dtype is None or dtype.this in {exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL}


def _athena_semantics(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DateDiff):
        unit = node.args.get("unit")
        unit_name = exp.Literal.string((unit.name if unit is not None else "day").lower())
        # DateDiff(this=end, expression=start); DuckDB's date_sub(part, start, end) counts whole units.
        return exp.Anonymous(
            this="DATE_SUB", expressions=[unit_name, node.expression.copy(), node.this.copy()]
        )
    if isinstance(node, exp.RegexpExtract):
        matches = exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy())
        return exp.Case(ifs=[exp.If(this=matches, true=node.copy())])
    if isinstance(node, exp.SplitPart):
        parts = exp.Anonymous(
            this="STRING_SPLIT", expressions=[node.this.copy(), node.args["delimiter"].copy()]
        )
        index = node.args["part_index"]
        # DuckDB's list_extract is 1-based and NULL past the end, as Trino's split_part.
        item = exp.Anonymous(this="LIST_EXTRACT", expressions=[parts, index.copy()])
        if isinstance(index, exp.Literal) and index.is_int and int(index.name) > 0:
            return item
        error = exp.Anonymous(
            this="ERROR", expressions=[exp.Literal.string("split_part: index must be greater than zero")]
        )
        return exp.Case(ifs=[exp.If(this=exp.GT(this=index.copy(), expression=exp.Literal.number(0)), true=item)],
                        default=error)  # fmt: skip
    return node
