"""Insights functions as DuckDB SQL: scalar functions, aggregations, and the IP helpers they need.

Each entry takes the compiled SQL of the arguments and returns SQL. Names are matched without regard
to case (AWS's own docs write both `ispresent` and `isPresent`).
"""

from __future__ import annotations

import ipaddress

import duckdb

# Scalar functions: name -> (min args, max args, SQL builder).
SCALARS = {
    "ispresent": (1, 1, lambda a: f"({a[0]} IS NOT NULL)"),
    "isempty": (1, 1, lambda a: f"({a[0]} IS NULL OR CAST({a[0]} AS VARCHAR) = '')"),
    "isblank": (1, 1, lambda a: f"({a[0]} IS NULL OR trim(CAST({a[0]} AS VARCHAR)) = '')"),
    "coalesce": (1, 99, lambda a: f"coalesce({', '.join(a)})"),
    "concat": (1, 99, lambda a: f"concat({', '.join(f'CAST({x} AS VARCHAR)' for x in a)})"),
    "ltrim": (1, 2, lambda a: f"ltrim({', '.join(a)})"),
    "rtrim": (1, 2, lambda a: f"rtrim({', '.join(a)})"),
    "trim": (1, 2, lambda a: f"trim({', '.join(a)})"),
    "strlen": (1, 1, lambda a: f"length(CAST({a[0]} AS VARCHAR))"),
    "toupper": (1, 1, lambda a: f"upper(CAST({a[0]} AS VARCHAR))"),
    "tolower": (1, 1, lambda a: f"lower(CAST({a[0]} AS VARCHAR))"),
    # Our choice (AWS does not say): substr's start index is 0-based, as in JavaScript.
    "substr": (
        2,
        3,
        lambda a: f"substr(CAST({a[0]} AS VARCHAR), ({a[1]}) + 1{', ' + a[2] if len(a) > 2 else ''})",
    ),
    "replace": (3, 3, lambda a: f"replace(CAST({a[0]} AS VARCHAR), {a[1]}, {a[2]})"),
    "strcontains": (2, 2, lambda a: f"CAST(contains(CAST({a[0]} AS VARCHAR), {a[1]}) AS INTEGER)"),
    "abs": (1, 1, lambda a: f"abs({a[0]})"),
    "ceil": (1, 1, lambda a: f"ceil({a[0]})"),
    "floor": (1, 1, lambda a: f"floor({a[0]})"),
    "greatest": (1, 99, lambda a: f"greatest({', '.join(a)})"),
    "least": (1, 99, lambda a: f"least({', '.join(a)})"),
    "log": (1, 1, lambda a: f"ln({a[0]})"),
    "sqrt": (1, 1, lambda a: f"sqrt({a[0]})"),
    "frommillis": (1, 1, lambda a: f"make_timestamp(CAST({a[0]} AS BIGINT) * 1000)"),
    "tomillis": (1, 1, lambda a: f"epoch_ms({a[0]})"),
    "now": (0, 0, lambda a: "CAST(current_timestamp AS TIMESTAMP)"),
    "isvalidip": (
        1,
        1,
        lambda a: f"(vf_ipv4_int({a[0]}) IS NOT NULL OR coalesce(vf_is_ipv6({a[0]}), false))",
    ),
    "isvalidipv4": (1, 1, lambda a: f"(vf_ipv4_int({a[0]}) IS NOT NULL)"),
    "isvalidipv6": (1, 1, lambda a: f"coalesce(vf_is_ipv6({a[0]}), false)"),
}

# Aggregations: name -> (min args, max args, SQL builder). `count(*)` is handled by the compiler.
AGGREGATES = {
    "count": (0, 1, lambda a: f"count({a[0]})" if a else "count(*)"),
    # Exact here; AWS says count_distinct is approximate for high-cardinality fields.
    "count_distinct": (1, 1, lambda a: f"count(DISTINCT {a[0]})"),
    "sum": (1, 1, lambda a: f"sum({a[0]})"),
    "avg": (1, 1, lambda a: f"avg({a[0]})"),
    "min": (1, 1, lambda a: f"min({a[0]})"),
    "max": (1, 1, lambda a: f"max({a[0]})"),
    # A value of the data at that percentile (nearest rank); AWS's pct is approximate.
    "pct": (2, 2, lambda a: f"quantile_disc({a[0]}, ({a[1]}) / 100.0)"),
    "stddev": (1, 1, lambda a: f"stddev_samp({a[0]})"),
    "earliest": (1, 1, lambda a: f'arg_min({a[0]}, "@ts")'),
    "latest": (1, 1, lambda a: f'arg_max({a[0]}, "@ts")'),
    "sortsfirst": (1, 1, lambda a: f"min({a[0]})"),
    "sortslast": (1, 1, lambda a: f"max({a[0]})"),
}

TIME_FUNCTIONS = ("bin", "datefloor", "dateceil")
SUBNET_FUNCTIONS = ("isipinsubnet", "isipv4insubnet", "isipv6insubnet")

# IPv4 as a number in SQL (fast on every row); IPv6 through Python's ipaddress (rare in flow logs).
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IP_MACROS = (
    f"""CREATE OR REPLACE MACRO vf_ipv4_int(ip) AS CASE
          WHEN regexp_full_match(CAST(ip AS VARCHAR), '{_OCTET}\\.{_OCTET}\\.{_OCTET}\\.{_OCTET}')
          THEN (CAST(split_part(ip, '.', 1) AS BIGINT) << 24) + (CAST(split_part(ip, '.', 2) AS BIGINT) << 16)
             + (CAST(split_part(ip, '.', 3) AS BIGINT) << 8) + CAST(split_part(ip, '.', 4) AS BIGINT) END""",
)


def _is_ipv6(text: str | None) -> bool | None:
    if text is None:
        return None
    try:
        ipaddress.IPv6Address(text)
        return True
    except ValueError:
        return False


def _ipv6_in_subnet(text: str | None, cidr: str | None) -> bool | None:
    if text is None or cidr is None:
        return None
    try:
        return ipaddress.IPv6Address(text) in ipaddress.IPv6Network(cidr, strict=False)
    except ValueError:
        return False


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the helpers compiled Insights SQL calls (`vf_*`) on a DuckDB connection."""
    for macro in IP_MACROS:
        con.execute(macro).fetchall()
    con.create_function("vf_is_ipv6", _is_ipv6, ["VARCHAR"], "BOOLEAN", null_handling="special")
    con.create_function(
        "vf_ipv6_in_subnet", _ipv6_in_subnet, ["VARCHAR", "VARCHAR"], "BOOLEAN", null_handling="special"
    )


def subnet_condition(function: str, address_sql: str, cidr: str) -> str:
    """SQL true when the address is in `cidr` (a literal, validated by the caller)."""
    network = ipaddress.ip_network(cidr, strict=False)
    if network.version == 4:
        if function == "isipv6insubnet":
            return "false"
        low, high = int(network.network_address), int(network.broadcast_address)
        return f"coalesce(vf_ipv4_int({address_sql}) BETWEEN {low} AND {high}, false)"
    if function == "isipv4insubnet":
        return "false"
    return f"coalesce(vf_ipv6_in_subnet(CAST({address_sql} AS VARCHAR), '{network}'), false)"
