"""Athena SQL (and the reports' DuckDB SQL) translated to Spark SQL with sqlglot, keeping Athena's answers.

The Athena side is `vpcflow.query.dialects.athena.prepare`: the same parse, checks, qualification
and typing as for DuckDB (so `bigint / bigint` becomes Spark's integer `DIV`, and `date ± interval`
stays a DATE). Then sqlglot writes Spark SQL (`write="spark"`), and this module rewrites what
sqlglot would write with another answer on Spark (each checked against Athena's value in
tests/query/fixtures/athena_values.tsv, run on Spark by tests/query/test_engine_spark.py):

- `day_of_week`/`dow` (ISO, Monday 1): sqlglot writes `(DAYOFWEEK(d) % 7) + 1`, which is Monday 3
  (Spark's `dayofweek` is Sunday 1); written `WEEKDAY(d) + 1` (Spark's `weekday` is Monday 0), a
  BIGINT as in Trino.
- `split_part` past the last field is NULL in Trino, '' in Spark: guarded by a count of the fields;
  an index below 1 is an error in Trino (Spark counts from the end): `raise_error`.
- `regexp_extract` with no match is NULL in Trino, '' in Spark: guarded by `RLIKE`.
- `to_iso8601` (`2021-04-01T00:00:00.000Z`, or `2021-04-01` for a DATE): `date_format` in the
  session's zone, which the Spark engine sets to UTC.

The reports' aggregations are DuckDB SQL (`from_duckdb`): sqlglot rewrites QUALIFY, `//`, `::`;
`GROUP BY ALL` is spelled out (Trino has no `GROUP BY ALL`; Spark has one, but one rule for both
remote engines is easier to trust).
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types

from vpcflow.errors import QueryError
from vpcflow.query.dialects import athena

WRITE = "spark"
ISO_TIMESTAMP = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"


def translate(sql: str) -> str:
    """Spark SQL for one Athena statement, or a `QueryError` that says where and why."""
    tree = athena.prepare(sql)
    if athena._passes_through(tree):
        return tree.sql(dialect=WRITE)
    _to_iso8601(tree)
    tree = tree.transform(_spark_semantics, copy=False)
    return athena.render(tree, WRITE)


def _to_iso8601(tree: exp.Expression) -> None:
    calls = [f for f in tree.find_all(exp.Anonymous) if f.name.lower() == "to_iso8601"]
    if not calls:
        return
    typed = annotate_types(tree.copy(), schema=athena.schema(), dialect=athena.READ)
    typed_calls = [f for f in typed.find_all(exp.Anonymous) if f.name.lower() == "to_iso8601"]
    for call, typed_call in zip(calls, typed_calls, strict=True):
        (arg,) = call.expressions
        kind = typed_call.expressions[0].type
        is_date = kind is not None and kind.this == exp.DataType.Type.DATE
        fmt = exp.Literal.string("yyyy-MM-dd" if is_date else ISO_TIMESTAMP)
        call.replace(exp.Anonymous(this="DATE_FORMAT", expressions=[arg.copy(), fmt]))


def _spark_semantics(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.DayOfWeekIso):
        weekday = exp.Anonymous(this="WEEKDAY", expressions=[node.this.copy()])
        return exp.cast(exp.Paren(this=exp.Add(this=weekday, expression=exp.Literal.number(1))), "BIGINT")
    if isinstance(node, exp.RegexpExtract):
        matches = exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy())
        return exp.Case(ifs=[exp.If(this=matches, true=node.copy())])
    if isinstance(node, exp.SplitPart):
        return _split_part(node)
    return node


def _split_part(node: exp.SplitPart) -> exp.Expression:
    text, delimiter, index = node.this, node.args["delimiter"], node.args["part_index"]
    # Fields = 1 + occurrences of the delimiter (Trino splits on the literal text, as Spark's split_part).
    occurrences = exp.IntDiv(
        this=exp.paren(
            exp.Sub(
                this=exp.Length(this=text.copy()),
                expression=exp.Length(
                    this=exp.Anonymous(
                        this="REPLACE", expressions=[text.copy(), delimiter.copy(), exp.Literal.string("")]
                    )
                ),
            )
        ),
        expression=exp.Length(this=delimiter.copy()),
    )
    fields = exp.Add(this=exp.Paren(this=occurrences), expression=exp.Literal.number(1))
    within = exp.If(this=exp.LTE(this=index.copy(), expression=fields), true=node.copy())
    item = exp.Case(ifs=[within])
    if isinstance(index, exp.Literal) and index.is_int and int(index.name) > 0:
        return item
    error = exp.Anonymous(
        this="RAISE_ERROR", expressions=[exp.Literal.string("split_part: index must be greater than zero")]
    )
    return exp.Case(ifs=[exp.If(this=exp.GT(this=index.copy(), expression=exp.Literal.number(0)), true=item)],
                    default=error)  # fmt: skip


def from_duckdb(sql: str, write: str = WRITE) -> str:
    """`write` SQL (spark or athena) for one DuckDB statement of the reports (plain SQL: no DuckDB
    function of vpcflow's own, no ASOF join); a QueryError names what cannot be carried over."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError as exc:
        raise QueryError(f"DuckDB SQL: {exc}") from None
    for node in tree.find_all(exp.Anonymous):
        if node.name.lower().startswith("vpcflow_"):
            raise QueryError(
                f"{node.name}() is a function of vpcflow's DuckDB session: not available on {write}"
            )
    for select in list(tree.find_all(exp.Select)):
        _spell_out_group_by_all(select)
    try:
        return tree.sql(dialect=write, unsupported_level=ErrorLevel.RAISE)
    except (UnsupportedError, SqlglotError) as exc:
        raise QueryError(f"DuckDB SQL: not translatable to {write}: {exc}") from None


def _spell_out_group_by_all(select: exp.Select) -> None:
    group = select.args.get("group")
    if group is None or not group.args.get("all"):
        return
    keys = []
    for projection in select.expressions:
        value = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(value, exp.Star) or value.find(exp.AggFunc, exp.Window):
            if isinstance(value, exp.Star):
                raise QueryError("GROUP BY ALL with SELECT *: list the columns")
            continue
        if isinstance(value, exp.Literal):
            continue
        keys.append(value.copy())
    select.set("group", exp.Group(expressions=keys) if keys else None)
