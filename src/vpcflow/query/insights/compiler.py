"""Insights queries compiled to one DuckDB SELECT over the lake's `vpc_flow_logs`.

Each command becomes a CTE over the previous one. Field names are case-sensitive in Insights and
not in DuckDB, so every field lives in an internal column (`c0`, `c1`, ...) and gets its Insights
name back only in the final SELECT.

Choices where AWS is silent (also in docs/query.md):
- Discovered fields are those AWS lists for the default format (spec §8.1); every lake column is
  also a field under its Athena name (`vpc_id`, `tcp_flags`, ...). A field no record has is absent
  (NULL), as in Insights, not an error. A '-' in a record is an absent field.
- `@message` is the record in the default format ('-' for absent fields) unless the caller gives
  another format; `@logStream` is `<interface-id>-all`; `@log` is `<account>:vpc_flow_logs`.
- A comparison on an absent field is false (so `not` of it is true).
- `sort` without a direction is ascending; values sort by type (numbers numerically, strings by
  code point), not by Insights' natural sort.
- `limit` defaults to 1000 rows (the 2022 docs; newer docs say 10,000: pass `default_limit`).
- A glob `parse` is not anchored; each `*` matches as little as it can, the last one the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from vpcflow.errors import QueryError
from vpcflow.query.insights import functions as fn
from vpcflow.query.insights.syntax import (
    Binary,
    Call,
    Command,
    Duration,
    In,
    Like,
    Literal,
    Name,
    Negate,
    Node,
    Not,
    Regex,
    Source,
    parse_query,
)  # fmt: skip
from vpcflow.records.catalog import vpc_schema
from vpcflow.records.formats import DEFAULT_FORMAT, LogFormat

MAX_LIMIT = 10_000
DISCOVERED = {
    "@timestamp": 'make_timestamp(CAST("start" AS BIGINT) * 1000000)',
    "@logStream": "\"interface_id\" || '-all'",
    "@log": "\"aws_account_id\" || ':vpc_flow_logs'",
    "version": '"version"', "accountId": '"account_id"', "interfaceId": '"interface_id"',
    "srcAddr": '"srcaddr"', "dstAddr": '"dstaddr"', "srcPort": '"srcport"', "dstPort": '"dstport"',
    "protocol": '"protocol"', "packets": '"packets"', "bytes": '"bytes"', "startTime": '"start"',
    "endTime": '"end"', "action": '"action"', "logStatus": '"log_status"',
}  # fmt: skip
LAKE_FIELDS = tuple(vpc_schema().names) + (
    "date",
    "year",
    "month",
    "day",
    "hour",
    "aws_account_id",
    "aws_region",
)
_COMPARISONS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class _State:
    base: dict[str, str] = field(default_factory=dict)  # internal column -> SQL over the table
    base_names: dict[str, str] = field(default_factory=dict)  # field -> internal column in base
    scope: dict[str, str] | None = None  # after stats: the only fields there are
    ctes: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # fields/parse fields, in order
    display: list[str] | None = None
    stats_columns: list[str] | None = None
    limited: bool = False
    counter: int = 0


class Compiler:
    def __init__(self, source: Source, *, default_limit: int, message_format: LogFormat, table: str,
                 since: datetime | None, until: datetime | None):  # fmt: skip
        self.src = source
        self.default_limit = default_limit
        self.message_format = message_format
        self.table = table
        self.since, self.until = since, until
        self.st = _State()
        self.added: dict[str, str] = {}  # fields created by commands -> internal column

    # fields and names
    def new_column(self) -> str:
        self.st.counter += 1
        return f"c{self.st.counter}"

    def resolve(self, name: str) -> str:
        st = self.st
        if st.scope is not None:
            return _q(st.scope[name]) if name in st.scope else "NULL"
        if name in self.added:
            return _q(self.added[name])
        return _q(self.base_column(name)) if self.base_sql(name) is not None else "NULL"

    def base_sql(self, name: str) -> str | None:
        if name == "@message":
            parts = [f"coalesce(CAST({_q(f.column)} AS VARCHAR), '-')" for f in self.message_format.fields]
            return f"concat_ws(' ', {', '.join(parts)})"
        if name in DISCOVERED:
            return DISCOVERED[name]
        return _q(name) if name in LAKE_FIELDS else None

    def base_column(self, name: str) -> str:
        if name not in self.st.base_names:
            column = self.new_column()
            self.st.base_names[name] = column
            self.st.base[column] = self.base_sql(name)
        return self.st.base_names[name]

    def exists(self, name: str) -> bool:
        if self.st.scope is not None:
            return name in self.st.scope
        return name in self.added or self.base_sql(name) is not None

    def add_stage(self, select: str) -> None:
        self.st.ctes.append(select.replace("{prev}", self.prev))

    @property
    def prev(self) -> str:
        return f"s{len(self.st.ctes)}"

    def error(self, node: Node | Command, message: str) -> QueryError:
        return self.src.error(node.token, message)

    # commands
    def compile(self, commands: list[Command]) -> str:
        for i, cmd in enumerate(commands):
            if i and commands[i - 1].name == "dedup" and cmd.name != "limit":
                raise self.error(cmd, "only limit can follow dedup (AWS's rule)")
            getattr(self, f"cmd_{cmd.name}")(cmd)
        return self.finish()

    def cmd_filter(self, cmd: Command) -> None:
        self.add_stage(f"SELECT * FROM {{prev}} WHERE {self.cond(cmd.condition)}")

    def cmd_fields(self, cmd: Command) -> None:
        exprs, names = [], []
        for item in cmd.items:
            if isinstance(item.expr, Name) and item.alias is None:
                names.append(item.expr.name)
                continue
            name = item.alias or item.expr.text
            exprs.append((name, self.expr(item.expr)))
            names.append(name)
        self.define(exprs)
        for name in names:
            self.show(name)

    def define(self, exprs: list[tuple[str, str]]) -> None:
        """New fields computed from the current relation (later ones shadow earlier ones)."""
        if not exprs:
            return
        columns = []
        for name, sql in exprs:
            column = self.new_column()
            columns.append(f"{sql} AS {column}")
            if self.st.scope is not None:
                self.st.scope[name] = column
            else:
                self.added[name] = column
        self.add_stage(f"SELECT *, {', '.join(columns)} FROM {{prev}}")

    def show(self, name: str) -> None:
        if name not in self.st.shown:
            self.st.shown.append(name)

    def cmd_display(self, cmd: Command) -> None:
        names = []
        for item in cmd.items:
            if not isinstance(item.expr, Name):
                raise self.error(
                    item.expr, "display takes field names; compute fields with `fields expr as name`"
                )
            names.append(item.expr.name)
        self.st.display = names

    def cmd_stats(self, cmd: Command) -> None:
        by = [(item.alias or item.expr.text, self.expr(item.expr)) for item in cmd.by]
        aggs = []
        for item in cmd.items:
            if not isinstance(item.expr, Call) or item.expr.name.lower() not in fn.AGGREGATES:
                raise self.error(item.expr, f"stats takes aggregation functions ({', '.join(fn.AGGREGATES)})")
            aggs.append((item.alias or item.expr.text, self.aggregate(item.expr)))
        scope: dict[str, str] = {}
        select = []
        for name, sql in by + aggs:
            column = self.new_column()
            select.append(f"{sql} AS {column}")
            scope[name] = column
        group = f" GROUP BY {', '.join(str(i + 1) for i in range(len(by)))}" if by else ""
        self.add_stage(f"SELECT {', '.join(select)} FROM {{prev}}{group}")
        self.st.scope = scope
        self.st.stats_columns = [name for name, _ in by + aggs]
        self.st.order, self.st.shown, self.st.display = [], [], None

    def cmd_sort(self, cmd: Command) -> None:
        keys = []
        for item in cmd.items:
            direction = "DESC" if item.descending else "ASC"
            keys.append(f"{self.expr(item.expr)} {direction} NULLS LAST")
        self.st.order = keys
        self.add_stage(f"SELECT * FROM {{prev}} ORDER BY {', '.join(keys)}")

    def cmd_limit(self, cmd: Command) -> None:
        if not 0 < cmd.count <= MAX_LIMIT:
            raise self.error(cmd, f"limit must be between 1 and {MAX_LIMIT} (AWS's maximum)")
        order = f" ORDER BY {', '.join(self.st.order)}" if self.st.order else ""
        self.add_stage(f"SELECT * FROM {{prev}}{order} LIMIT {cmd.count}")
        self.st.limited = True

    def cmd_dedup(self, cmd: Command) -> None:
        keys = [self.expr(item.expr) for item in cmd.items]
        # AWS: without a sort, dedup keeps the most recent event; events with a null key are all kept.
        order = self.st.order or ([f"{self.resolve('@timestamp')} DESC"] if self.st.scope is None else [])
        over = f"PARTITION BY {', '.join(keys)}" + (f" ORDER BY {', '.join(order)}" if order else "")
        nulls = " OR ".join(f"{k} IS NULL" for k in keys)
        self.add_stage(f"SELECT * FROM {{prev}} QUALIFY ({nulls}) OR row_number() OVER ({over}) = 1")

    def cmd_parse(self, cmd: Command) -> None:
        subject = f"CAST({self.expr(cmd.items[0].expr)} AS VARCHAR)"
        if isinstance(cmd.pattern, Regex):
            if cmd.names:
                raise self.error(
                    cmd.names[0], "a regular expression names its fields with (?<name>...), not `as`"
                )
            pattern, groups = _named_groups(cmd.pattern, self)
        else:
            stars = cmd.pattern.value.count("*")
            if stars == 0 or stars != len(cmd.names):
                raise self.error(
                    cmd.pattern, f"the glob has {stars} '*' but `as` names {len(cmd.names)} fields"
                )
            pattern = _glob_regex(cmd.pattern.value)
            groups = [(t.value, i + 1) for i, t in enumerate(cmd.names)]
        # One struct of every group (DuckDB numbers groups only up to 9), then a field per named group.
        total = re.compile(pattern).groups
        slots = {i: f"g{i}" for i in range(1, total + 1)}
        lit = _str(pattern)
        names = "[" + ", ".join(_str(slots[i]) for i in range(1, total + 1)) + "]"
        struct = (
            f"CASE WHEN regexp_matches({subject}, {lit}) THEN regexp_extract({subject}, {lit}, {names}) END"
        )
        holder = self.new_column()
        self.add_stage(f"SELECT *, {struct} AS {holder} FROM {{prev}}")
        self.define([(name, f"{holder}[{_str(slots[i])}]") for name, i in groups])
        for name, _ in groups:
            self.show(name)

    # expressions
    def cond(self, node: Node) -> str:
        return f"coalesce({self.expr(node)}, false)"

    def expr(self, node: Node) -> str:
        if isinstance(node, Name):
            return self.resolve(node.name)
        if isinstance(node, Literal):
            return _str(node.value) if isinstance(node.value, str) else repr(node.value)
        if isinstance(node, Binary):
            if node.op in ("and", "or"):
                return f"({self.cond(node.left)} {node.op.upper()} {self.cond(node.right)})"
            left, right = self.expr(node.left), self.expr(node.right)
            if node.op in _COMPARISONS:
                return f"coalesce(({left} {_COMPARISONS[node.op]} {right}), false)"
            if node.op == "^":
                return f"power({left}, {right})"
            return f"({left} {node.op} {right})"
        if isinstance(node, Not):
            return f"(NOT {self.cond(node.operand)})"
        if isinstance(node, Negate):
            return f"(-{self.expr(node.operand)})"
        if isinstance(node, Like):
            subject = f"CAST({self.expr(node.subject)} AS VARCHAR)"
            if isinstance(node.pattern, Regex):
                test = f"regexp_matches({subject}, {_str(_re2(node.pattern, self))})"
            else:
                test = f"contains({subject}, {_str(str(node.pattern.value))})"  # like "text": a substring
            test = f"coalesce({test}, false)"
            return f"(NOT {test})" if node.negated else test
        if isinstance(node, In):
            items = ", ".join(self.expr(i) for i in node.items) or "NULL"
            test = f"coalesce({self.expr(node.subject)} IN ({items}), false)"
            return f"(NOT {test})" if node.negated else test
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Regex):
            raise self.error(node, "a /regular expression/ goes after like, =~ or parse")
        if isinstance(node, Duration):
            raise self.error(node, "a time period goes in bin(), datefloor() or dateceil()")
        raise self.error(node, "cannot translate this expression")

    def call(self, node: Call) -> str:
        name = node.name.lower()
        if name in fn.AGGREGATES:
            raise self.error(node, f"{node.name}() aggregates: use it in stats")
        if name in fn.TIME_FUNCTIONS:
            return self.time_function(node, name)
        if name in fn.SUBNET_FUNCTIONS:
            self.arity(node, 2, 2)
            cidr = node.args[1]
            if not isinstance(cidr, Literal) or not isinstance(cidr.value, str):
                raise self.error(cidr, f'{node.name}() takes a literal subnet such as "192.0.2.0/24"')
            try:
                return fn.subnet_condition(name, self.expr(node.args[0]), cidr.value)
            except ValueError as exc:
                raise self.error(cidr, f"not a subnet: {exc}") from None
        if name not in fn.SCALARS:
            raise self.error(
                node, f"function {node.name}() is not supported by vpcflow's Insights translation"
            )
        low, high, build = fn.SCALARS[name]
        self.arity(node, low, high)
        return build([self.expr(a) for a in node.args])

    def arity(self, node: Call, low: int, high: int) -> None:
        if node.star or not low <= len(node.args) <= high:
            want = str(low) if low == high else f"{low} to {high}"
            raise self.error(node, f"{node.name}() takes {want} argument{'s' if high != 1 else ''}")

    def time_function(self, node: Call, name: str) -> str:
        if name == "bin":
            self.arity(node, 1, 1)
            period, ts = node.args[0], self.resolve("@timestamp")
        else:
            self.arity(node, 2, 2)
            period, ts = node.args[1], self.expr(node.args[0])
        if not isinstance(period, Duration):
            raise self.error(period, f"{node.name}() takes a time period such as 5m, 1h or 1d")
        interval = _interval(period)
        floor = f"time_bucket({interval}, {ts})"
        if name == "dateceil":
            return f"CASE WHEN {floor} = {ts} THEN {ts} ELSE {floor} + {interval} END"
        return floor

    def aggregate(self, node: Call) -> str:
        name = node.name.lower()
        low, high, build = fn.AGGREGATES[name]
        if name == "count" and node.star:
            return "count(*)"
        self.arity(node, low, high)
        sql = build([self.expr(a) for a in node.args])
        return sql.replace('"@ts"', self.resolve("@timestamp"))

    # the final SELECT
    def finish(self) -> str:
        st = self.st
        if st.display is not None:
            names = st.display
        elif st.stats_columns is not None:
            names = st.stats_columns + [n for n in st.shown if n not in st.stats_columns]
        elif st.shown:
            names = st.shown
        else:
            names = ["@timestamp", "@message"]  # what the Insights console shows by default
        columns = [f"{self.resolve(n)} AS {_q(n)}" for n in names]
        where = self.time_range()
        base_cols = ", ".join(f"{sql} AS {col}" for col, sql in st.base.items()) or "1 AS c0"
        ctes = [f"s0 AS (SELECT {base_cols} FROM {_q(self.table)}{where})"]
        ctes += [f"s{i + 1} AS ({body})" for i, body in enumerate(st.ctes)]
        order = f" ORDER BY {', '.join(st.order)}" if st.order else ""
        limit = "" if st.limited else f" LIMIT {self.default_limit}"
        return f"WITH {', '.join(ctes)} SELECT {', '.join(columns)} FROM {self.prev}{order}{limit}"

    def time_range(self) -> str:
        """The query's time range on `start` (Insights' @timestamp), and on `date` so partitions prune."""
        terms = []
        if self.since is not None:
            terms += [f'"start" >= {int(self.since.timestamp())}', f"\"date\" >= DATE '{self.since.date()}'"]
        if self.until is not None:
            terms += [f'"start" < {int(self.until.timestamp())}', f"\"date\" <= DATE '{self.until.date()}'"]
        return f" WHERE {' AND '.join(terms)}" if terms else ""


def _interval(period: Duration) -> str:
    if period.calendar:
        months = period.count * {"month": 1, "quarter": 3, "year": 12}[period.calendar]
        return f"INTERVAL '{months} months'"
    return f"INTERVAL '{int(round(period.seconds * 1_000_000))} microseconds'"


def _re2(regex: Regex, compiler: Compiler) -> str:
    """An Insights regular expression for DuckDB's RE2: named groups written (?P<name>...)."""
    pattern = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", regex.pattern)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise compiler.error(regex, f"not a valid regular expression: {exc}") from None
    return pattern


def _named_groups(regex: Regex, compiler: Compiler) -> tuple[str, list[tuple[str, int]]]:
    pattern = _re2(regex, compiler)
    groups = sorted(re.compile(pattern).groupindex.items(), key=lambda kv: kv[1])
    if not groups:
        raise compiler.error(regex, "parse with a regular expression needs named groups: (?<name>...)")
    return pattern, groups


def _glob_regex(glob: str) -> str:
    parts = [re.sub(r"([\\.^$|?+()\[\]{}])", r"\\\1", p) for p in glob.split("*")]
    stars = len(parts) - 1
    out = parts[0]
    for i, literal in enumerate(parts[1:], start=1):
        out += ("(.*)" if i == stars else "(.*?)") + literal
    return out


def compile_insights(
    query: str,
    *,
    default_limit: int = 1000,
    message_format: str | LogFormat | None = None,
    table: str = "vpc_flow_logs",
    since: datetime | None = None,
    until: datetime | None = None,
) -> str:
    """DuckDB SQL that answers a CloudWatch Logs Insights query over the lake table `table`."""
    if not query.strip():
        raise QueryError("empty Insights query; start with a command such as `fields @timestamp, @message`")
    fmt = (
        message_format
        if isinstance(message_format, LogFormat)
        else LogFormat.parse(message_format or DEFAULT_FORMAT)
    )
    source, commands = parse_query(query)
    compiler = Compiler(
        source, default_limit=default_limit, message_format=fmt, table=table, since=since, until=until
    )
    return compiler.compile(commands)
