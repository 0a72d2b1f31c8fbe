"""IP addresses as numbers inside DuckDB, so that range lookups are joins, not Python loops.

`vpcflow_ip_family(text)` is 4, 6 or NULL; `vpcflow_ip_number(text)` is the address as a UHUGEINT
(IPv4 in 0..2**32-1, IPv6 in 0..2**128-1; the family keeps the two apart). IPv4 is parsed by SQL
string functions, vectorised by DuckDB. IPv6 ('::' compression) goes through one Arrow UDF that
only ever sees the IPv6 rows (DuckDB evaluates a CASE branch on the rows that take it), and DuckDB
has no INET type without its downloadable `inet` extension.
"""

from __future__ import annotations

import contextlib
import ipaddress

import duckdb
import pyarrow as pa

_MACROS = """
CREATE OR REPLACE MACRO vpcflow_ip_family(a) AS
    CASE WHEN a IS NULL THEN NULL WHEN contains(a, ':') THEN 6 WHEN contains(a, '.') THEN 4 END;
CREATE OR REPLACE MACRO vpcflow_ipv4_number(a) AS
    CASE WHEN len(string_split(a, '.')) = 4
          AND list_max(list_transform(string_split(a, '.'), lambda x: TRY_CAST(x AS INTEGER))) <= 255 THEN
        (TRY_CAST(split_part(a, '.', 1) AS UBIGINT) << 24)
        | (TRY_CAST(split_part(a, '.', 2) AS UBIGINT) << 16)
        | (TRY_CAST(split_part(a, '.', 3) AS UBIGINT) << 8)
        | TRY_CAST(split_part(a, '.', 4) AS UBIGINT)
    END;
CREATE OR REPLACE MACRO vpcflow_hex_number(h) AS
    (TRY_CAST('0x' || substr(h, 1, 16) AS UBIGINT)::UHUGEINT << 64)
    | TRY_CAST('0x' || substr(h, 17, 16) AS UBIGINT)::UHUGEINT;
CREATE OR REPLACE MACRO vpcflow_ip_number(a) AS
    CASE vpcflow_ip_family(a)
        WHEN 4 THEN vpcflow_ipv4_number(a)::UHUGEINT
        WHEN 6 THEN vpcflow_hex_number(vpcflow_ipv6_hex(a))
    END;
"""


def _ipv6_hex(values: pa.Array) -> pa.Array:
    out = []
    for value in values.to_pylist():
        try:
            out.append(f"{int(ipaddress.IPv6Address(value)):032x}")
        except (ipaddress.AddressValueError, ValueError, TypeError):
            out.append(None)
    return pa.array(out, pa.string())


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Define the address functions on a connection (idempotent)."""
    # Already defined on this connection is fine: install() is idempotent.
    with contextlib.suppress(duckdb.CatalogException, duckdb.NotImplementedException):
        con.create_function(
            "vpcflow_ipv6_hex",
            _ipv6_hex,
            [duckdb.sqltype("VARCHAR")],
            duckdb.sqltype("VARCHAR"),
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
    con.execute(_MACROS)


def split_number(number: int) -> tuple[int, int]:
    """A 128-bit number as (high, low) uint64 halves, the form Arrow tables carry."""
    return number >> 64, number & ((1 << 64) - 1)
